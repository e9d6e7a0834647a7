package dev.vidtag.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.vidtag.kernels.AttentionKernels;
import dev.vidtag.kernels.CpuFeatures;
import dev.vidtag.kernels.FusedKernels;
import dev.vidtag.model.AttentionBackend;
import dev.vidtag.model.Int8WeightRange;
import dev.vidtag.runtime.TorchRuntime;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Prints what VidTag found on this machine: the first thing to run when something is off. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
    description = "Checks the LibTorch runtime, threads, native kernels and devices.")
final class DoctorCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--json", description = "Print the report as one JSON object.")
  boolean json;

  @Option(names = "--verbose", description = "Add LibTorch's build configuration and parallel settings.")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    TorchRuntime.RuntimeInfo info = runtime.start();
    FusedKernels.LibraryInfo kernels = FusedKernels.libraryInfo();

    Map<String, Object> report = new LinkedHashMap<>();
    report.put("vidtag", Versions.vidtag());
    report.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")");
    report.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    report.put("cores", Runtime.getRuntime().availableProcessors());
    report.put("libtorch", Versions.libTorch());
    report.put("javacpp", Versions.javacpp());
    report.put("cpu_capability", torch.get_cpu_capability().getString());
    report.put("cpu_features", CpuFeatures.detect().toString());
    report.put("int8_weight_range", Int8WeightRange.forThisProcess().toString().toLowerCase(Locale.ROOT));
    report.put("attention", AttentionBackend.forNewModels().cliName() + " (CPU path "
        + AttentionKernels.Isa.widestSupported().name().toLowerCase(Locale.ROOT) + ")");
    report.put("intra_op_threads", torch.get_num_threads());
    report.put("inter_op_threads", torch.get_num_interop_threads());
    report.put("blas", TorchRuntime.blas());
    report.put("openblas_threads", openblas_nolapack.blas_get_num_threads());
    report.put("openblas_coretype", info.openBlasCoreType());
    report.put("native_allocation", info.nativeAllocation());
    report.put("omp_wait_policy", info.ompWaitPolicy());
    report.put("openmp_loaded_before_start", info.openMpLoadedBeforeStart());
    report.put("openmp_runtimes", TorchRuntime.loadedOpenMpRuntimes());
    report.put("native_kernels", kernels.version());
    report.put("native_kernels_cuda_compiled", kernels.cudaCompiled());
    report.put("native_kernels_cuda_devices", kernels.cudaDevices());
    report.put("libtorch_cuda_available", torch.cuda_is_available());
    report.put("libtorch_cuda_devices", torch.cuda_is_available() ? torch.cuda_device_count() : 0);
    report.put("device", runtime.deviceSpec().toString());
    report.put("cache_directory", info.cacheDirectory().toString());
    if (verbose) {
      report.put("libtorch_config", torch.show_config().getString());
      report.put("parallel_info", torch.get_parallel_info().getString());
    }

    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
          .writeValueAsString(report));
    } else {
      int width = report.keySet().stream().mapToInt(String::length).max().orElse(0);
      report.forEach((key, value) -> {
        String text = String.valueOf(value).strip();
        if (text.contains("\n")) {
          out.println(key + ":");
          text.lines().forEach(line -> out.println("    " + line));
        } else {
          out.printf("%-" + width + "s  %s%n", key, text);
        }
      });
    }
    out.flush();
    return 0;
  }
}

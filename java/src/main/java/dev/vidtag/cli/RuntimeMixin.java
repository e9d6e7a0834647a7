package dev.vidtag.cli;

import dev.vidtag.model.AttentionBackend;
import dev.vidtag.runtime.DeviceSpec;
import dev.vidtag.runtime.RuntimeOptions;
import dev.vidtag.runtime.TorchRuntime;
import picocli.CommandLine.Option;

/** Options every command that runs LibTorch shares. */
final class RuntimeMixin {
  @Option(names = "--threads", paramLabel = "N",
      description = "Intra-op threads for LibTorch, OpenBLAS and VidTag's kernels "
          + "(default: VIDTAG_THREADS, else one per core).")
  Integer threads;

  @Option(names = "--blas-threads", paramLabel = "N",
      description = "OpenBLAS's own threads for one matrix product (default: as --threads; 1 "
          + "can help small models on busy cores).")
  Integer blasThreads;

  @Option(names = "--attention", paramLabel = "BACKEND",
      description = "Attention code: vidtag (VidTag's kernels, the default) or sdpa "
          + "(LibTorch's scaled_dot_product_attention).")
  String attention;

  @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cpu",
      description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
  String device;

  /** Starts LibTorch with these options and checks that the device exists. */
  TorchRuntime.RuntimeInfo start() {
    RuntimeOptions options = RuntimeOptions.defaults();
    if (threads != null) {
      options = options.withThreads(threads);
    }
    TorchRuntime.RuntimeInfo info = TorchRuntime.initialize(options);
    if (blasThreads != null) {
      TorchRuntime.setBlasThreads(blasThreads);
    }
    TorchRuntime.device(deviceSpec());
    if (attention != null) {
      // models read it as they are built: every model of this command
      System.setProperty(AttentionBackend.PROPERTY, AttentionBackend.parse(attention).cliName());
    }
    return info;
  }

  DeviceSpec deviceSpec() {
    return DeviceSpec.parse(device);
  }
}

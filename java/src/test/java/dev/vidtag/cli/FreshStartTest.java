package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Start-up as a new user meets it: a child JVM with an empty native cache, no OMP_WAIT_POLICY in
 * its environment, and decoy libraries named like LibTorch's on its library path (standing in for
 * a system libtorch). It must start, load one OpenMP runtime, and report passive waiting.
 */
class FreshStartTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  record Result(int exitCode, String stdout, String stderr) {}

  static Result runVidTag(Path cache, Map<String, String> environment, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("-Dvidtag.cache.dir=" + cache);
    command.add(VidTag.class.getName());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().remove("OMP_WAIT_POLICY");
    builder.environment().remove("VIDTAG_THREADS");
    builder.environment().remove("OPENBLAS_CORETYPE");
    builder.environment().putAll(environment);
    Path out = Files.createTempFile(cache.getParent(), "stdout", ".txt");
    Path err = Files.createTempFile(cache.getParent(), "stderr", ".txt");
    Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("vidtag did not finish in 120 s");
    }
    return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  /** Empty shared libraries under LibTorch's names: loading one instead of the real one fails. */
  static Path decoyLibTorch(Path dir) throws IOException, InterruptedException {
    Path lib = Files.createDirectories(dir.resolve("decoy-lib"));
    Path source = Files.writeString(dir.resolve("decoy.c"), "int vidtag_decoy = 1;\n");
    for (String name : List.of("libc10.so", "libtorch_cpu.so", "libtorch.so")) {
      Process cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-o", lib.resolve(name).toString(),
          source.toString()).inheritIO().start();
      assertEquals(0, cc.waitFor(), "compiling decoy " + name);
    }
    return lib;
  }

  @Test
  void freshCacheWithDecoyLibTorchStartsCleanly(@TempDir Path dir) throws Exception {
    Path cache = dir.resolve("cache");
    Path decoys = decoyLibTorch(dir);
    Result result = runVidTag(cache, Map.of("LD_LIBRARY_PATH", decoys.toString()),
        "doctor", "--json");
    assertEquals(0, result.exitCode(), result.stderr());

    JsonNode report = JSON.readTree(result.stdout());
    assertEquals(cache.resolve("javacpp").toString(), report.get("cache_directory").asText());
    assertEquals("PASSIVE", report.get("omp_wait_policy").asText(),
        "VidTag sets passive waiting itself when the environment does not");
    assertEquals(false, report.get("openmp_loaded_before_start").asBoolean());
    JsonNode runtimes = report.get("openmp_runtimes");
    assertEquals(1, runtimes.size(), "one OpenMP runtime shared by LibTorch and the kernels: " + runtimes);
    assertTrue(runtimes.get(0).asText().startsWith(cache.toString()), runtimes.toString());
    assertEquals(Runtime.getRuntime().availableProcessors(), report.get("intra_op_threads").asInt());
    assertTrue(Files.isDirectory(cache.resolve("javacpp")));
    assertEquals("reuse", report.get("native_allocation").asText());
    assertEquals("detected", report.get("openblas_coretype").asText(),
        "OpenBLAS chooses its kernels from the CPU when the environment does not");
    assertEquals("OpenBLAS", report.get("blas").asText());
  }

  @Test
  void threadsOptionAndUserWaitPolicyAreHonoured(@TempDir Path dir) throws Exception {
    Result result = runVidTag(dir.resolve("cache"), Map.of("OMP_WAIT_POLICY", "ACTIVE",
        "OPENBLAS_CORETYPE", "HASWELL", "FBGEMM_ENABLE_INSTRUCTIONS", "AVX2"),
        "doctor", "--json", "--threads", "1");
    assertEquals(0, result.exitCode(), result.stderr());
    JsonNode report = JSON.readTree(result.stdout());
    assertEquals(1, report.get("intra_op_threads").asInt());
    assertEquals(1, report.get("openblas_threads").asInt());
    assertEquals("ACTIVE", report.get("omp_wait_policy").asText());
    assertEquals("HASWELL", report.get("openblas_coretype").asText(),
        "doctor shows kernels forced by the environment");
    assertEquals("reduced", report.get("int8_weight_range").asText(),
        "FBGEMM told to use AVX2 gets weights its int16 pair sums hold, whatever the CPU");
  }
}

package dev.vidtag.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class TorchRuntimeTest {
  @Test
  void cacheDirectoryFollowsXdgThenHome() {
    String home = System.getProperty("user.home");
    assertEquals(Path.of("/tmp/xdg/vidtag"),
        TorchRuntime.defaultCacheDirectory(Map.of("XDG_CACHE_HOME", "/tmp/xdg")));
    assertEquals(Path.of("/data/cache"), TorchRuntime.defaultCacheDirectory(
        Map.of("XDG_CACHE_HOME", "/tmp/xdg", "VIDTAG_CACHE_DIR", "/data/cache")));
    assertEquals(Path.of(home, ".cache", "vidtag"), TorchRuntime.defaultCacheDirectory(Map.of()));
  }

  @Test
  void threadsAreValidatedAndParsed() {
    assertThrows(IllegalArgumentException.class, () -> new RuntimeOptions(0, java.util.Optional.empty()));
    assertEquals(3, RuntimeOptions.defaultThreads(Map.of("VIDTAG_THREADS", "3")));
    assertEquals(Runtime.getRuntime().availableProcessors(), RuntimeOptions.defaultThreads(Map.of()));
    assertThrows(IllegalArgumentException.class,
        () -> RuntimeOptions.defaultThreads(Map.of("VIDTAG_THREADS", "two")));
  }

  @Test
  void setThreadsMovesLibTorchAndOpenBlasTogether() {
    TorchRuntime.initialize();
    int before = torch.get_num_threads();
    try {
      TorchRuntime.setThreads(1);
      assertEquals(1, torch.get_num_threads());
      assertEquals(1, openblas_nolapack.blas_get_num_threads());
    } finally {
      TorchRuntime.setThreads(before);
    }
    assertEquals(before, openblas_nolapack.blas_get_num_threads());
  }

  @Test
  void openBlasGetsItsAvx512KernelsOnAmdOnly() {
    String avx512 = "fpu sse2 avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16";
    assertEquals("SKYLAKEX", OpenBlasCore.forCpu(cpu("AuthenticAMD", avx512)));
    assertNull(OpenBlasCore.forCpu(cpu("AuthenticAMD", "fpu sse2 avx2 fma")),
        "a Zen 2/3 without AVX-512 keeps OpenBLAS's own choice");
    assertNull(OpenBlasCore.forCpu(cpu("AuthenticAMD", "avx2 avx512f avx512cd")),
        "AVX-512 without BW/DQ/VL does not run SkylakeX kernels");
    assertNull(OpenBlasCore.forCpu(cpu("GenuineIntel", avx512)),
        "OpenBLAS detects Intel CPUs itself");
    assertNull(OpenBlasCore.forCpu(""));
  }

  private static String cpu(String vendor, String flags) {
    String one = "processor\t: %d\nvendor_id\t: " + vendor + "\ncpu family\t: 26\nflags\t\t: "
        + flags + "\n\n";
    return String.format(one, 0) + String.format(one, 1);
  }
}

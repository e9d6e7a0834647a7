package dev.vidtag.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
  void setBlasThreadsMovesOpenBlasAlone() {
    TorchRuntime.initialize();
    int before = torch.get_num_threads();
    try {
      TorchRuntime.setThreads(2);
      TorchRuntime.setBlasThreads(1);
      assertEquals(2, torch.get_num_threads());
      assertEquals(1, openblas_nolapack.blas_get_num_threads());
      assertThrows(IllegalArgumentException.class, () -> TorchRuntime.setBlasThreads(0));
      assertEquals(1, openblas_nolapack.blas_get_num_threads());
    } finally {
      TorchRuntime.setThreads(before);
    }
  }
}

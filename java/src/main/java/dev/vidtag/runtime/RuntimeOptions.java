package dev.vidtag.runtime;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * How VidTag starts LibTorch.
 *
 * @param threads intra-op threads for LibTorch, OpenBLAS and VidTag's kernels (at least 1)
 * @param cacheDirectory where JavaCPP extracts the native libraries; empty for the default
 *     (the {@code vidtag.cache.dir} property, then {@code VIDTAG_CACHE_DIR}, then
 *     {@code $XDG_CACHE_HOME/vidtag}, then {@code ~/.cache/vidtag})
 */
public record RuntimeOptions(int threads, Optional<Path> cacheDirectory) {

  public RuntimeOptions {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
  }

  /** One thread per available core; the {@code vidtag.threads} property or
   *  {@code VIDTAG_THREADS} overrides it. */
  public static RuntimeOptions defaults() {
    return new RuntimeOptions(defaultThreads(System.getenv()), Optional.empty());
  }

  public RuntimeOptions withThreads(int threads) {
    return new RuntimeOptions(threads, cacheDirectory);
  }

  public RuntimeOptions withCacheDirectory(Path directory) {
    return new RuntimeOptions(threads, Optional.of(directory));
  }

  static int defaultThreads(Map<String, String> environment) {
    String configured = System.getProperty("vidtag.threads", environment.get("VIDTAG_THREADS"));
    if (configured == null || configured.isBlank()) {
      return Runtime.getRuntime().availableProcessors();
    }
    try {
      return Integer.parseInt(configured.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "vidtag.threads / VIDTAG_THREADS must be a whole number, got '" + configured + "'", e);
    }
  }
}

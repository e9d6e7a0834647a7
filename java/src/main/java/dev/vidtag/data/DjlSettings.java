package dev.vidtag.data;

import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Keeps DJL (the Hugging Face tokenizers binding) offline and out of the home directory. Left to
 * its defaults, DJL reports usage over the network, may download its native library, and extracts
 * it under {@code ~/.djl.ai}; VidTag never touches the network and keeps its files in its own
 * cache. DJL reads these settings when its classes first load, so {@link #apply()} runs before any
 * DJL class is touched. A value the user already set (system property or environment variable)
 * is left alone.
 */
final class DjlSettings {
  private static boolean applied;

  private DjlSettings() {}

  /** Sets DJL's offline, tracking and cache settings once per process. */
  static synchronized void apply() {
    if (applied) {
      return;
    }
    Path cache = TorchRuntime.cacheRoot().resolve("djl");
    setUnlessConfigured("ai.djl.offline", "DJL_OFFLINE", "true");
    setUnlessConfigured("OPT_OUT_TRACKING", "OPT_OUT_TRACKING", "true");
    setUnlessConfigured("DJL_CACHE_DIR", "DJL_CACHE_DIR", cache.toString());
    setUnlessConfigured("ENGINE_CACHE_DIR", "ENGINE_CACHE_DIR", cache.resolve("engines").toString());
    setUnlessConfigured("jna.tmpdir", null, cache.resolve("jna").toString());
    try {
      Files.createDirectories(cache);
    } catch (IOException e) {
      throw new IllegalStateException("cannot create the tokenizer library cache " + cache
          + " (set vidtag.cache.dir or VIDTAG_CACHE_DIR to a writable directory)", e);
    }
    applied = true;
  }

  private static void setUnlessConfigured(String property, String variable, String value) {
    boolean configured = System.getProperty(property) != null
        || (variable != null && System.getenv(variable) != null);
    if (!configured) {
      System.setProperty(property, value);
    }
  }
}

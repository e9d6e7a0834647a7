package dev.vidtag.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** Versions fixed at build time, readable without loading any native library. */
final class Versions {
  private static final Properties BUILD = load();

  private Versions() {}

  static String vidtag() {
    return BUILD.getProperty("version", "unknown");
  }

  /** The org.bytedeco:pytorch artifact, e.g. 2.10.0-1.5.13: LibTorch 2.10.0 through JavaCPP 1.5.13. */
  static String pytorchArtifact() {
    return BUILD.getProperty("pytorch", "unknown");
  }

  static String libTorch() {
    String artifact = pytorchArtifact();
    int dash = artifact.indexOf('-');
    return dash < 0 ? artifact : artifact.substring(0, dash);
  }

  static String javacpp() {
    return BUILD.getProperty("javacpp", "unknown");
  }

  private static Properties load() {
    Properties properties = new Properties();
    try (InputStream in = Versions.class.getResourceAsStream("/dev/vidtag/version.properties")) {
      if (in != null) {
        properties.load(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return properties;
  }
}

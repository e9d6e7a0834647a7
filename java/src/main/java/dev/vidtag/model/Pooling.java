package dev.vidtag.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How a model turns its output sequence into one vector per video. */
public enum Pooling {
  /**
   * The reference's mean over every position, padding included: its result depends on the pad
   * count, so inputs must be padded to the fixed lengths the model was trained with.
   */
  MEAN_ALL("mean_all"),
  /** Mean over real positions only; a video with none pools to the zero vector. The default. */
  MEAN_MASKED("mean_masked");

  private final String configName;

  Pooling(String configName) {
    this.configName = configName;
  }

  public String configName() {
    return configName;
  }

  /** Parses a config or command-line value; null when unknown. */
  public static Pooling fromConfigName(String name) {
    for (Pooling p : values()) {
      if (p.configName.equals(name)) {
        return p;
      }
    }
    return null;
  }

  public static String choices() {
    return Arrays.stream(values()).map(Pooling::configName).collect(Collectors.joining(", "));
  }
}

package dev.vidtag.model;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;

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

  /** This pooling of hidden [B, L, H] whose real positions are where keep [B, L] is set. */
  public Tensor pool(Tensor hidden, Tensor keep) {
    return this == MEAN_ALL ? hidden.mean(new long[] {1}, false, new ScalarTypeOptional())
        : maskedMean(hidden, keep);
  }

  /** Mean of hidden [B, L, H] over the positions where keep [B, L] is set; zeros where none. */
  public static Tensor maskedMean(Tensor hidden, Tensor keep) {
    Tensor weights = keep.to(hidden.scalar_type()).unsqueeze(2);
    Tensor sum = hidden.mul(weights).sum(new long[] {1}, false, new ScalarTypeOptional());
    // a video with no real position pools to zeros rather than 0/0
    Tensor count = weights.sum(new long[] {1}, false, new ScalarTypeOptional())
        .clamp_min(new Scalar(1.0));
    return sum.div(count);
  }

  public static String choices() {
    return Arrays.stream(values()).map(Pooling::configName).collect(Collectors.joining(", "));
  }
}

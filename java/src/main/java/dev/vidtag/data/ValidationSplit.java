package dev.vidtag.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The labeled videos cut into a training part and a held-out validation part. One function of
 * (videos, ratio, seed), so that training, SWA scoring, the tail fit and the demo all hold out
 * the same videos.
 */
public record ValidationSplit(List<VideoAnnotation> training, List<VideoAnnotation> validation) {

  public ValidationSplit {
    training = List.copyOf(training);
    validation = List.copyOf(validation);
  }

  /**
   * A copy of {@code videos} shuffled by {@code seed} and cut at round(ratio * n): the first
   * part validates, the rest trains.
   */
  public static ValidationSplit of(List<VideoAnnotation> videos, double validationRatio,
      long seed) {
    requireRatio(validationRatio);
    List<VideoAnnotation> shuffled = new ArrayList<>(videos);
    Collections.shuffle(shuffled, new Random(seed));
    int held = (int) Math.round(validationRatio * videos.size());
    return new ValidationSplit(shuffled.subList(held, shuffled.size()),
        shuffled.subList(0, held));
  }

  /** How many of {@code n} labeled videos train at this ratio. */
  public static int trainingCount(int n, double validationRatio) {
    requireRatio(validationRatio);
    return n - (int) Math.round(validationRatio * n);
  }

  private static void requireRatio(double ratio) {
    if (!(ratio > 0 && ratio < 1)) {
      throw new IllegalArgumentException("validation ratio must be in (0, 1), got " + ratio);
    }
  }
}

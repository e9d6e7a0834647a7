package dev.vidtag.infer.budget;

import dev.vidtag.infer.Precision;
import java.util.Objects;

/**
 * One way to predict a split: the best {@code members} members of the ensemble (by the
 * ensemble's ranking), in a precision, each reading at most {@code maxFrames} frames of a video
 * (never more than its own {@code max_frames}).
 *
 * @param members how many of the best-ranked members run, at least 1
 * @param precision their number format
 * @param maxFrames the frame limit; {@link #TRAINED_FRAMES} for each member's own
 */
public record Plan(int members, Precision precision, int maxFrames) {
  /** A limit above any model's: every member reads the frames it was trained with. */
  public static final int TRAINED_FRAMES = Integer.MAX_VALUE;

  public Plan {
    Objects.requireNonNull(precision, "precision");
    if (members < 1) {
      throw new IllegalArgumentException("a plan runs at least one member, got " + members);
    }
    if (maxFrames < 1) {
      throw new IllegalArgumentException("a plan reads at least one frame, got " + maxFrames);
    }
  }

  /** Whether this plan is nowhere better than {@code other}: members, precision and frames. */
  public boolean atMost(Plan other) {
    return members <= other.members && precision.ordinal() >= other.precision.ordinal()
        && maxFrames <= other.maxFrames;
  }

  /** The frame limit as the command line writes it. */
  public String framesName() {
    return maxFrames == TRAINED_FRAMES ? "trained" : Integer.toString(maxFrames);
  }

  @Override
  public String toString() {
    return members + (members == 1 ? " member, " : " members, ") + precision.optionName()
        + ", frames " + framesName();
  }
}

package dev.vidtag.train;

/** The factor on the peak learning rates at each optimizer step. */
@FunctionalInterface
public interface LearningRateSchedule {
  /** The factor of the step with this index (the first step has index 0). */
  double factor(long stepIndex);

  /** The peak rates at every step. */
  LearningRateSchedule CONSTANT = stepIndex -> 1.0;
}

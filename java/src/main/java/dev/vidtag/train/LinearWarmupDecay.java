package dev.vidtag.train;

/**
 * The reference's learning-rate schedule (Hugging Face's linear schedule with warmup): the
 * factor rises linearly from 0 over the warmup steps, then falls linearly to 0 at the last step.
 * Optimizer step k (from 0) uses {@code base * factor(k)}.
 */
public record LinearWarmupDecay(long totalSteps, long warmupSteps)
    implements LearningRateSchedule {

  public LinearWarmupDecay {
    if (totalSteps < 1) {
      throw new IllegalArgumentException("totalSteps must be at least 1, got " + totalSteps);
    }
    if (warmupSteps < 0 || warmupSteps > totalSteps) {
      throw new IllegalArgumentException("warmupSteps must be in [0, " + totalSteps + "], got "
          + warmupSteps);
    }
  }

  /** Warmup as a fraction of the steps (the reference: 0.06), rounded down. */
  public static LinearWarmupDecay withWarmupFraction(long totalSteps, double fraction) {
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new IllegalArgumentException("warmup fraction must be in [0, 1], got " + fraction);
    }
    return new LinearWarmupDecay(totalSteps, (long) (totalSteps * fraction));
  }

  @Override
  public double factor(long step) {
    if (step < warmupSteps) {
      return (double) step / Math.max(1, warmupSteps);
    }
    return Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  }
}

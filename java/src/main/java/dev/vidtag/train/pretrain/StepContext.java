package dev.vidtag.train.pretrain;

/**
 * Where a step is in the run: the seed its random choices derive from, its index (from 0) and
 * the steps of one epoch (for schedules ramped over the first epoch).
 */
public record StepContext(long seed, long step, long stepsPerEpoch) {
  public StepContext {
    if (step < 0 || stepsPerEpoch < 1) {
      throw new IllegalArgumentException("step must be >= 0 and steps per epoch >= 1, got "
          + step + " and " + stepsPerEpoch);
    }
  }

  /** Epochs completed before this step, as a fraction. */
  public double epochs() {
    return (double) step / stepsPerEpoch;
  }
}

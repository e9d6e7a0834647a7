package dev.vidtag.train;

import dev.vidtag.kernels.FusedKernels;
import dev.vidtag.kernels.TensorList;

/**
 * Skips optimizer steps whose loss or gradients are not finite, and stops the run when too many
 * come in a row (a diverged run, a corrupt batch stream) rather than training on garbage. The
 * gradient check is one fused norm over all gradients: one read of them, no host loop.
 */
public final class NonFiniteGuard {
  private final int maxConsecutive;
  private int consecutive;
  private long skipped;

  public NonFiniteGuard(int maxConsecutive) {
    this(maxConsecutive, 0, 0);
  }

  /** A guard that continues a resumed run's counts. */
  public NonFiniteGuard(int maxConsecutive, long skipped, int consecutive) {
    if (maxConsecutive < 1) {
      throw new IllegalArgumentException("maxConsecutive must be at least 1, got " + maxConsecutive);
    }
    this.maxConsecutive = maxConsecutive;
    this.skipped = skipped;
    this.consecutive = consecutive;
  }

  /**
   * Whether the step may be taken. Counts a skip otherwise, and throws once
   * {@code maxConsecutive} steps in a row were skipped.
   *
   * @param gradients every trained parameter's gradient, or null to check the loss alone
   */
  public boolean allowStep(long step, double loss, TensorList gradients) {
    boolean finite = Double.isFinite(loss)
        && (gradients == null || Double.isFinite(FusedKernels.l2Norm(gradients).total()));
    if (finite) {
      consecutive = 0;
      return true;
    }
    skipped++;
    consecutive++;
    if (consecutive >= maxConsecutive) {
      throw new IllegalStateException("step " + step + ": the loss or the gradients were not finite "
          + consecutive + " steps in a row (loss " + loss + "); stopping. Lower the learning "
          + "rate, enable gradient clipping, or check the input data");
    }
    return false;
  }

  /** Steps skipped in a row up to the last one. */
  public int consecutive() {
    return consecutive;
  }

  /** Steps skipped so far. */
  public long skipped() {
    return skipped;
  }
}

package dev.vidtag.infer;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts of durations in fixed buckets (cumulative bounds, as Prometheus histograms want them),
 * safe to record from any number of threads.
 */
public final class LatencyHistogram {
  /** Upper bounds in seconds: 1 ms to 10 s, about three per decade. */
  public static final double[] DEFAULT_BOUNDS_SECONDS = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  private final double[] boundsSeconds;
  /** Per bucket, not cumulative; the last one counts what exceeds every bound. */
  private final AtomicLongArray counts;
  private final LongAdder sumNanos = new LongAdder();

  public LatencyHistogram() {
    this(DEFAULT_BOUNDS_SECONDS);
  }

  public LatencyHistogram(double[] boundsSeconds) {
    for (int i = 0; i < boundsSeconds.length; i++) {
      if (!(boundsSeconds[i] > 0) || (i > 0 && boundsSeconds[i] <= boundsSeconds[i - 1])) {
        throw new IllegalArgumentException("bucket bounds must be positive and increasing: "
            + Arrays.toString(boundsSeconds));
      }
    }
    this.boundsSeconds = boundsSeconds.clone();
    this.counts = new AtomicLongArray(boundsSeconds.length + 1);
  }

  public void recordNanos(long nanos) {
    double seconds = Math.max(0, nanos) / 1e9;
    int bucket = Arrays.binarySearch(boundsSeconds, seconds);
    counts.incrementAndGet(bucket >= 0 ? bucket : -bucket - 1);
    sumNanos.add(Math.max(0, nanos));
  }

  /** A consistent-enough copy: each bucket is read once, so the total matches the buckets. */
  public Snapshot snapshot() {
    long[] cumulative = new long[counts.length()];
    long running = 0;
    for (int i = 0; i < cumulative.length; i++) {
      running += counts.get(i);
      cumulative[i] = running;
    }
    return new Snapshot(boundsSeconds.clone(), cumulative, sumNanos.sum() / 1e9);
  }

  /**
   * @param boundsSeconds the buckets' upper bounds
   * @param cumulativeCounts per bound, how many durations were at most it; one more entry at the
   *     end (the {@code +Inf} bucket): the total count
   * @param sumSeconds the sum of all durations
   */
  public record Snapshot(double[] boundsSeconds, long[] cumulativeCounts, double sumSeconds) {
    public long count() {
      return cumulativeCounts[cumulativeCounts.length - 1];
    }
  }
}

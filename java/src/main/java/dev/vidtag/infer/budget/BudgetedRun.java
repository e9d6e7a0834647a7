package dev.vidtag.infer.budget;

import dev.vidtag.infer.SplitLogits;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Runs a split chunk by chunk under a plan and watches the clock between chunks: when the time
 * the rest needs at the current pace no longer fits the time left less the margin, it moves to
 * the planner's next cheaper plan (as many steps as it takes, down to the cheapest), says so,
 * and never moves back up. The pace is the ratio of measured to calibrated time over the latest
 * chunks, so a machine that slows down makes every remaining estimate longer.
 *
 * <p>The clock and the predictor are given, so a test can drive a run deterministically.
 */
public final class BudgetedRun {
  /** How many of the latest chunks set the pace. */
  static final int PACE_WINDOW = 3;

  /** Predicts the videos {@code [from, to)} of the split under a plan, one row per video. */
  @FunctionalInterface
  public interface ChunkPredictor {
    SplitLogits predict(Plan plan, int from, int to);
  }

  /**
   * A move to a cheaper plan.
   *
   * @param atSeconds seconds since the start
   * @param videosDone videos predicted before it
   */
  public record Change(double atSeconds, int videosDone, Plan from, Plan to, String reason) {}

  /** Consecutive videos predicted under one plan. */
  public record Segment(Plan plan, int from, int to, double seconds) {
    public int videos() {
      return to - from;
    }
  }

  /** The fused logits of every video, in split order, and how they were obtained. */
  public record Outcome(SplitLogits logits, List<Segment> segments, List<Change> changes,
      List<String> warnings, double finishedAtSeconds) {}

  private final Planner planner;
  private final LongSupplier clock;
  private final long startNanos;
  private final long deadlineNanos;
  private final double margin;
  private final Consumer<String> log;

  /**
   * @param clock nanoseconds, as {@link System#nanoTime}
   * @param startNanos when the budget started (the command's start)
   * @param deadlineNanos when the last prediction is due
   * @param log where plan changes and warnings are told as they happen
   */
  public BudgetedRun(Planner planner, LongSupplier clock, long startNanos, long deadlineNanos,
      double margin, Consumer<String> log) {
    this.planner = planner;
    this.clock = clock;
    this.startNanos = startNanos;
    this.deadlineNanos = deadlineNanos;
    this.margin = Budget.requireMargin(margin);
    this.log = log;
  }

  public Outcome run(List<String> ids, Plan initial, int chunkVideos, ChunkPredictor predictor) {
    if (chunkVideos < 1) {
      throw new IllegalArgumentException("chunks hold at least one video, got " + chunkVideos);
    }
    int n = ids.size();
    float[] values = null;
    int classes = 0;
    List<Segment> segments = new ArrayList<>();
    List<Change> changes = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    List<double[]> recent = new ArrayList<>(); // {measured seconds, calibrated seconds}
    Plan plan = initial;
    boolean overrunWarned = false;
    int segmentStart = 0;
    long segmentStartNanos = clock.getAsLong();
    for (int from = 0; from < n; from += chunkVideos) {
      int to = Math.min(n, from + chunkVideos);
      if (from > 0) {
        Plan next = paced(plan, n - from, pace(recent));
        if (!next.equals(plan)) {
          long now = clock.getAsLong();
          segments.add(new Segment(plan, segmentStart, from, seconds(now - segmentStartNanos)));
          segmentStart = from;
          segmentStartNanos = now;
          String reason = String.format(Locale.ROOT, "behind the plan at %d of %d videos: %.1f s "
              + "left, %.2fx the calibrated time per video", from, n, seconds(deadlineNanos - now),
              pace(recent));
          changes.add(new Change(seconds(now - startNanos), from, plan, next, reason));
          log.accept("degraded " + plan + " -> " + next + " (" + reason + ")");
          plan = next;
        }
        long now = clock.getAsLong();
        double need = planner.estimatedSeconds(plan, n - from) * pace(recent);
        if (!overrunWarned && need > seconds(deadlineNanos - now)
            && planner.degrade(plan).isEmpty()) {
          String warning = String.format(Locale.ROOT, "the budget will be exceeded: the "
              + "remaining %d videos need about %.1f s under the cheapest reachable plan (%s), "
              + "%.1f s are left", n - from, need, plan, seconds(deadlineNanos - now));
          warnings.add(warning);
          log.accept("warning: " + warning);
          overrunWarned = true;
        }
      }
      long chunkStart = clock.getAsLong();
      SplitLogits chunk = predictor.predict(plan, from, to);
      long chunkEnd = clock.getAsLong();
      if (!chunk.videoIds().equals(ids.subList(from, to))) {
        throw new IllegalStateException("the predictor returned rows for other videos than "
            + from + " to " + to);
      }
      if (values == null) {
        classes = chunk.classes();
        values = new float[n * classes];
      }
      System.arraycopy(chunk.values(), 0, values, from * classes, chunk.values().length);
      recent.add(new double[] {seconds(chunkEnd - chunkStart),
          planner.estimatedSeconds(plan, to - from)});
      if (recent.size() > PACE_WINDOW) {
        recent.remove(0);
      }
    }
    long end = clock.getAsLong();
    if (n > 0) {
      segments.add(new Segment(plan, segmentStart, n, seconds(end - segmentStartNanos)));
    }
    SplitLogits logits = new SplitLogits(ids, values == null ? 1 : classes,
        values == null ? new float[0] : values);
    return new Outcome(logits, segments, changes, warnings, seconds(end - startNanos));
  }

  /** The current plan, or the first cheaper one whose estimate for the rest fits again. */
  private Plan paced(Plan plan, int remaining, double pace) {
    double usable = seconds(deadlineNanos - clock.getAsLong()) * (1 - margin);
    Plan current = plan;
    while (planner.estimatedSeconds(current, remaining) * pace > usable) {
      Optional<Plan> cheaper = planner.degrade(current);
      if (cheaper.isEmpty()) {
        break;
      }
      current = cheaper.get();
    }
    return current;
  }

  /** Measured over calibrated time of the latest chunks; 1 before any. */
  private static double pace(List<double[]> recent) {
    double measured = 0;
    double calibrated = 0;
    for (double[] r : recent) {
      measured += r[0];
      calibrated += r[1];
    }
    return calibrated > 0 ? measured / calibrated : 1;
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }
}

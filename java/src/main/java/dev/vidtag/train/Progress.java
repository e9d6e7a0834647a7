package dev.vidtag.train;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * Progress of a long run: on a terminal, one line redrawn in place with a bar, step, loss,
 * learning rate, samples/s and ETA; otherwise (a log file, CI) a plain line at most every
 * {@code plainInterval}.
 */
public final class Progress {
  private static final int BAR_WIDTH = 24;

  private final PrintStream out;
  private final boolean terminal;
  private final long totalSteps;
  private final Duration plainInterval;
  private final long startNanos;
  private final long firstStep;
  private long lastPlainNanos;
  private long samples;

  public Progress(PrintStream out, boolean terminal, long totalSteps, Duration plainInterval) {
    this(out, terminal, totalSteps, 0, plainInterval);
  }

  /** Progress of a run resumed after {@code firstStep} steps: rates and ETA count from there. */
  public Progress(PrintStream out, boolean terminal, long totalSteps, long firstStep,
      Duration plainInterval) {
    this.out = out;
    this.firstStep = firstStep;
    this.terminal = terminal;
    this.totalSteps = totalSteps;
    this.plainInterval = plainInterval;
    this.startNanos = System.nanoTime();
    this.lastPlainNanos = startNanos;
  }

  /** A progress display on stderr that redraws when stderr is a terminal. */
  public static Progress onStderr(long totalSteps, long firstStep) {
    return new Progress(System.err, System.console() != null, totalSteps, firstStep,
        Duration.ofSeconds(30));
  }

  /** Reports a finished step (1-based) that processed {@code batchSamples} samples. */
  public void step(long step, int batchSamples, double loss, double learningRate) {
    samples += batchSamples;
    long now = System.nanoTime();
    if (!terminal && now - lastPlainNanos < plainInterval.toNanos() && step != totalSteps) {
      return;
    }
    lastPlainNanos = now;
    String line = line(step, loss, learningRate, (now - startNanos) / 1e9);
    if (terminal) {
      out.print("\r" + line);
      if (step == totalSteps) {
        out.println();
      }
    } else {
      out.println(line);
    }
    out.flush();
  }

  /** Ends the redrawn line before other output. */
  public void interrupt() {
    if (terminal) {
      out.println();
    }
  }

  String line(long step, double loss, double learningRate, double elapsedSeconds) {
    double fraction = totalSteps == 0 ? 1 : Math.min(1.0, (double) step / totalSteps);
    int filled = (int) Math.round(fraction * BAR_WIDTH);
    double rate = elapsedSeconds > 0 ? samples / elapsedSeconds : 0;
    long stepsHere = step - firstStep;
    double eta = stepsHere > 0 ? elapsedSeconds * (totalSteps - step) / stepsHere : 0;
    return String.format(Locale.ROOT, "step %d/%d [%s%s] %3.0f%% loss %.4f lr %.2e %.1f samples/s ETA %s",
        step, totalSteps, "=".repeat(filled), " ".repeat(BAR_WIDTH - filled), 100 * fraction, loss,
        learningRate, rate, duration(eta));
  }

  static String duration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60)
        : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
  }
}

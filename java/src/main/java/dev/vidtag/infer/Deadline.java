package dev.vidtag.infer;

import java.time.Duration;
import java.util.Objects;

/**
 * A point in time by which an answer is wanted, on {@link System#nanoTime()}'s clock (monotonic,
 * so a change of the wall clock never expires a request).
 *
 * @param nanoTime the instant, as {@link System#nanoTime()} would return it
 */
public record Deadline(long nanoTime) {

  /** The deadline {@code timeout} after now. */
  public static Deadline after(Duration timeout) {
    return after(System.nanoTime(), timeout);
  }

  /** The deadline {@code timeout} after {@code startNanoTime} (e.g. a request's arrival). */
  public static Deadline after(long startNanoTime, Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("a timeout must not be negative, got " + timeout);
    }
    return new Deadline(startNanoTime + saturatedNanos(timeout));
  }

  /** Nanoseconds left until the deadline at {@code nowNanoTime}; negative once it has passed. */
  public long remainingNanos(long nowNanoTime) {
    return nanoTime - nowNanoTime;
  }

  public boolean hasPassed(long nowNanoTime) {
    return remainingNanos(nowNanoTime) <= 0;
  }

  private static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE / 2; // about 146 years: never, without overflowing nanoTime sums
    }
  }
}

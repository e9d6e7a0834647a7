package dev.vidtag.infer.budget;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How long a prediction may take, counted from the command's start (model loading and
 * calibration included): a fixed duration, or the time that a minimum throughput allows for the
 * split's videos.
 */
public final class Budget {
  private static final Pattern DURATION =
      Pattern.compile("(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+(?:\\.\\d+)?)s)?");

  private final double seconds;
  private final double minVideosPerSecond;

  private Budget(double seconds, double minVideosPerSecond) {
    this.seconds = seconds;
    this.minVideosPerSecond = minVideosPerSecond;
  }

  /** A fixed time budget. */
  public static Budget ofSeconds(double seconds) {
    if (!(seconds > 0) || Double.isInfinite(seconds)) {
      throw new IllegalArgumentException("a time budget must be positive and finite, got "
          + seconds + " s");
    }
    return new Budget(seconds, Double.NaN);
  }

  /** The time that lets every video of the split be predicted at {@code videosPerSecond}. */
  public static Budget ofMinimumRate(double videosPerSecond) {
    if (!(videosPerSecond > 0) || Double.isInfinite(videosPerSecond)) {
      throw new IllegalArgumentException("a minimum rate must be positive and finite, got "
          + videosPerSecond + " videos/s");
    }
    return new Budget(Double.NaN, videosPerSecond);
  }

  /**
   * Parses {@code 90s}, {@code 6m}, {@code 1m30s}, {@code 1h}, {@code 2.5s}: hours, minutes and
   * seconds in this order, each optional, at least one of them.
   */
  public static Budget parseDuration(String text) {
    String trimmed = text.trim().toLowerCase(Locale.ROOT);
    Matcher m = DURATION.matcher(trimmed);
    if (trimmed.isEmpty() || !m.matches()) {
      throw new IllegalArgumentException("'" + text + "' is not a duration: expected e.g. 90s, "
          + "6m or 1m30s");
    }
    double total = (m.group(1) == null ? 0 : Long.parseLong(m.group(1)) * 3600.0)
        + (m.group(2) == null ? 0 : Long.parseLong(m.group(2)) * 60.0)
        + (m.group(3) == null ? 0 : Double.parseDouble(m.group(3)));
    if (!(total > 0)) {
      throw new IllegalArgumentException("'" + text + "' is not a positive duration");
    }
    return ofSeconds(total);
  }

  /** Parses a positive number of videos per second. */
  public static Budget parseMinimumRate(String text) {
    double rate;
    try {
      rate = Double.parseDouble(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is not a number of videos per second");
    }
    if (!(rate > 0) || Double.isInfinite(rate)) {
      throw new IllegalArgumentException("'" + text + "' is not a positive, finite rate");
    }
    return ofMinimumRate(rate);
  }

  /** Checks a safety margin: the fraction of the time left that plans keep unused. */
  public static double requireMargin(double margin) {
    if (!(margin >= 0 && margin < 1)) {
      throw new IllegalArgumentException("the margin must be in [0, 1), got " + margin);
    }
    return margin;
  }

  public boolean isMinimumRate() {
    return !Double.isNaN(minVideosPerSecond);
  }

  /** The seconds allowed from the start to the last prediction of {@code videos} videos. */
  public double totalSeconds(int videos) {
    return isMinimumRate() ? Math.max(videos, 1) / minVideosPerSecond : seconds;
  }

  @Override
  public String toString() {
    return isMinimumRate()
        ? String.format(Locale.ROOT, "at least %.3g videos/s", minVideosPerSecond)
        : String.format(Locale.ROOT, "%.1f s", seconds);
  }
}

package dev.vidtag.model;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The name of a fine-tuning checkpoint's model directory, {@code step-NNNNNN-score-S.SSSS}: the
 * step it was saved at and its validation mean F1. Written by the trainer, read back wherever a
 * checkpoint's score matters (SWA's ranking, an ensemble's order under a time budget), since a
 * model directory holds no score of its own.
 */
public record CheckpointName(long step, double score) {
  private static final Pattern NAME = Pattern.compile("step-(\\d+)-score-(\\d+\\.\\d+)");

  /** The directory name for this step and score. */
  public String format() {
    return String.format(Locale.ROOT, "step-%06d-score-%.4f", step, score);
  }

  /** The step and score a directory's name records, if it is a checkpoint's. */
  public static Optional<CheckpointName> of(Path directory) {
    Path name = directory.toAbsolutePath().normalize().getFileName();
    if (name == null) {
      return Optional.empty();
    }
    Matcher m = NAME.matcher(name.toString());
    return m.matches()
        ? Optional.of(new CheckpointName(Long.parseLong(m.group(1)), Double.parseDouble(m.group(2))))
        : Optional.empty();
  }
}

package dev.vidtag.infer;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One model of an ensemble: a model directory and the weight of its scores in the fusion.
 *
 * @param modelDirectory a model directory (config.json, model.safetensors, tokenizer files)
 * @param weight a positive, finite weight
 */
public record EnsembleMember(Path modelDirectory, double weight) {

  public EnsembleMember {
    Objects.requireNonNull(modelDirectory, "modelDirectory");
    if (!(weight > 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException("the weight of " + modelDirectory
          + " must be positive and finite, got " + weight);
    }
  }

  /** A member of weight 1. */
  public static EnsembleMember of(Path modelDirectory) {
    return new EnsembleMember(modelDirectory, 1.0);
  }

  /**
   * Parses the command-line form {@code MODEL_DIR} (weight 1) or {@code MODEL_DIR=WEIGHT}; the
   * last {@code =} separates the weight, so a directory name may contain one.
   */
  public static EnsembleMember parse(String text) {
    int equals = text.lastIndexOf('=');
    if (equals < 0) {
      return of(Path.of(text));
    }
    String weight = text.substring(equals + 1).trim();
    try {
      return new EnsembleMember(Path.of(text.substring(0, equals)), Double.parseDouble(weight));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("model '" + text + "': the weight after '=' must be a "
          + "number, got '" + weight + "'");
    }
  }
}

package dev.vidtag.train.pretrain;

import dev.vidtag.model.Architecture;
import java.nio.file.Path;
import java.util.List;

/**
 * Everything a pretraining run is configured by; {@link #defaults} gives the reference's
 * values (section 5) where it has one.
 *
 * @param maxSteps stop after this many steps (0: no limit); the schedule is sized on the steps
 *     actually run
 * @param warmupFraction share of the steps spent warming up
 * @param checkpointEvery save every N steps (0: only at each epoch end and the last step)
 * @param ngram the longest span masked as one (1: single units)
 */
public record PretrainOptions(Path data, Architecture arch, Path textModel, Path out,
    List<String> splits, int epochs, long maxSteps, int batchSize, int maxFrames, int maxText,
    double learningRate, double warmupFraction, long checkpointEvery, long seed, int workers,
    LossWeights weights, double mlmProbability, boolean wholeWord, int ngram,
    double mfmProbability, Contrastive contrastive) {

  /** The double stream's ITC, momentum and distillation settings. */
  public record Contrastive(int queueSize, double momentum, double temperature, double alpha) {
    public static final Contrastive REFERENCE = new Contrastive(8192, 0.995, 0.07, 0.3);

    public Contrastive {
      if (queueSize < 1) {
        throw new IllegalArgumentException("queue size must be at least 1, got " + queueSize);
      }
      if (!(momentum >= 0 && momentum <= 1)) {
        throw new IllegalArgumentException("momentum must be in [0, 1], got " + momentum);
      }
      if (!(temperature >= 0.001 && temperature <= 0.5)) {
        throw new IllegalArgumentException("temperature must be in [0.001, 0.5], got "
            + temperature);
      }
      if (!(alpha >= 0 && alpha <= 1)) {
        throw new IllegalArgumentException("distillation alpha must be in [0, 1], got " + alpha);
      }
    }
  }

  public static PretrainOptions defaults(Path data, Architecture arch, Path textModel, Path out) {
    return new PretrainOptions(data, arch, textModel, out, List.of("unlabeled", "labeled"), 30, 0,
        arch == Architecture.SINGLE ? 128 : 64, 32, 258,
        arch == Architecture.SINGLE ? 5e-5 : 6e-5, arch == Architecture.SINGLE ? 0.06 : 0.08,
        0, 2022, 1, LossWeights.REFERENCE, 0.15, false, 1, 0.135, Contrastive.REFERENCE);
  }

  public PretrainOptions {
    splits = List.copyOf(splits);
    if (splits.isEmpty()) {
      throw new IllegalArgumentException("at least one split to pretrain on");
    }
    if (epochs < 1) {
      throw new IllegalArgumentException("epochs must be at least 1, got " + epochs);
    }
    if (maxSteps < 0 || checkpointEvery < 0) {
      throw new IllegalArgumentException("max steps and checkpoint interval must be >= 0");
    }
    if (batchSize < 2) {
      throw new IllegalArgumentException("pretraining needs batches of at least 2 (matched and "
          + "mismatched pairs), got " + batchSize);
    }
    if (maxFrames < 1 || maxText < 3) {
      throw new IllegalArgumentException("max frames must be >= 1 and max text >= 3, got "
          + maxFrames + " and " + maxText);
    }
    if (!(learningRate > 0)) {
      throw new IllegalArgumentException("learning rate must be > 0, got " + learningRate);
    }
    if (!(warmupFraction >= 0 && warmupFraction <= 1)) {
      throw new IllegalArgumentException("warmup must be in [0, 1], got " + warmupFraction);
    }
    if (workers < 1) {
      throw new IllegalArgumentException("workers must be at least 1, got " + workers);
    }
    if (ngram < 1) {
      throw new IllegalArgumentException("n-gram must be at least 1, got " + ngram);
    }
  }
}

package dev.vidtag.train.pretrain;

import dev.vidtag.model.Architecture;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Everything a pretraining run is configured by, in the sections a reader looks for; the
 * defaults are the reference's (section 5), some of them per architecture, and the command line
 * takes its defaults from here. Build one by name:
 *
 * <pre>{@code
 * PretrainOptions options = PretrainOptions.builder(data, Architecture.DOUBLE, textModel, out)
 *     .epochs(4).batchSize(32).queueSize(1024).build();
 * }</pre>
 *
 * @param out the run directory
 * @param seed the seed of the order, the masks, the pairs, the initialisation and dropout
 * @param workers loader threads (the batches do not depend on them)
 */
public record PretrainOptions(Path out, Data data, Model model, Optimization optimization,
    LossWeights weights, Masking masking, Contrastive contrastive, long seed, int workers) {

  public static final List<String> DEFAULT_SPLITS = List.of("unlabeled", "labeled");
  public static final int DEFAULT_MAX_FRAMES = 32;
  public static final int DEFAULT_MAX_TEXT = 258;
  public static final long DEFAULT_SEED = 2022;

  /**
   * What the model reads: the splits of a dataset, together and without their labels.
   *
   * @param maxFrames frames per video
   * @param maxText text tokens with [CLS] and [SEP]
   */
  public record Data(Path directory, List<String> splits, int maxFrames, int maxText) {
    public Data {
      Objects.requireNonNull(directory, "data directory");
      splits = List.copyOf(splits);
      if (splits.isEmpty()) {
        throw new IllegalArgumentException("at least one split to pretrain on");
      }
      if (maxFrames < 1 || maxText < 3) {
        throw new IllegalArgumentException("max frames must be >= 1 and max text >= 3, got "
            + maxFrames + " and " + maxText);
      }
    }
  }

  /** Which model: the architecture and the Hugging Face BERT that starts its text encoder. */
  public record Model(Architecture arch, Path textModel) {
    public Model {
      Objects.requireNonNull(arch, "architecture");
      Objects.requireNonNull(textModel, "text model");
    }
  }

  /**
   * How the weights move and when they are saved.
   *
   * @param maxSteps stop after this many steps (0: no limit); the schedule is sized on the steps
   *     actually run
   * @param warmupFraction share of the steps spent warming up
   * @param checkpointEvery save every N steps (0: only at each epoch end and the last step)
   */
  public record Optimization(int epochs, long maxSteps, int batchSize, double learningRate,
      double warmupFraction, long checkpointEvery) {
    public Optimization {
      if (epochs < 1) {
        throw new IllegalArgumentException("epochs must be at least 1, got " + epochs);
      }
      if (maxSteps < 0 || checkpointEvery < 0) {
        throw new IllegalArgumentException("max steps and checkpoint interval must be >= 0");
      }
      if (batchSize < 2) {
        throw new IllegalArgumentException("pretraining needs batches of at least 2 (matched "
            + "and mismatched pairs), got " + batchSize);
      }
      if (!(learningRate > 0)) {
        throw new IllegalArgumentException("learning rate must be > 0, got " + learningRate);
      }
      if (!(warmupFraction >= 0 && warmupFraction <= 1)) {
        throw new IllegalArgumentException("warmup must be in [0, 1], got " + warmupFraction);
      }
    }

    /** The reference's settings for an architecture. */
    public static Optimization referenceFor(Architecture arch) {
      boolean single = arch == Architecture.SINGLE;
      return new Optimization(30, 0, single ? 128 : 64, single ? 5e-5 : 6e-5,
          single ? 0.06 : 0.08, 0);
    }
  }

  /**
   * What is masked.
   *
   * @param mlmProbability the share of real text tokens masked
   * @param wholeWord whether a word's {@code ##} pieces are masked with it
   * @param ngram the longest span masked as one (1: single units)
   * @param mfmProbability the single stream's share of real frames masked
   */
  public record Masking(double mlmProbability, boolean wholeWord, int ngram,
      double mfmProbability) {
    public static final Masking REFERENCE = new Masking(0.15, false, 1, 0.135);

    public Masking {
      if (ngram < 1) {
        throw new IllegalArgumentException("n-gram must be at least 1, got " + ngram);
      }
    }
  }

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

  public PretrainOptions {
    Objects.requireNonNull(out, "run directory");
    Objects.requireNonNull(data, "data");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(optimization, "optimization");
    Objects.requireNonNull(weights, "loss weights");
    Objects.requireNonNull(masking, "masking");
    Objects.requireNonNull(contrastive, "contrastive");
    if (workers < 1) {
      throw new IllegalArgumentException("workers must be at least 1, got " + workers);
    }
    if (model.arch() == Architecture.DOUBLE
        && optimization.batchSize() > contrastive.queueSize()) {
      throw new IllegalArgumentException("the queue (" + contrastive.queueSize()
          + ") must hold at least a batch (" + optimization.batchSize() + ")");
    }
  }

  /** The reference's settings for pretraining {@code arch} on {@code data} into {@code out}. */
  public static Builder builder(Path data, Architecture arch, Path textModel, Path out) {
    return new Builder(data, arch, textModel, out);
  }

  /** The same run read by another number of loader threads. */
  public PretrainOptions withWorkers(int newWorkers) {
    return new PretrainOptions(out, data, model, optimization, weights, masking, contrastive,
        seed, newWorkers);
  }

  /** The same options for a run in another directory. */
  public PretrainOptions withOut(Path newOut) {
    return new PretrainOptions(newOut, data, model, optimization, weights, masking, contrastive,
        seed, workers);
  }

  /** Named settings over the reference's defaults; {@link #build} checks them. */
  public static final class Builder {
    private final Path out;
    private final Path data;
    private final Architecture arch;
    private final Path textModel;
    private List<String> splits = DEFAULT_SPLITS;
    private int maxFrames = DEFAULT_MAX_FRAMES;
    private int maxText = DEFAULT_MAX_TEXT;
    private int epochs;
    private long maxSteps;
    private int batchSize;
    private double learningRate;
    private double warmupFraction;
    private long checkpointEvery;
    private LossWeights weights = LossWeights.REFERENCE;
    private double mlmProbability = Masking.REFERENCE.mlmProbability();
    private boolean wholeWord = Masking.REFERENCE.wholeWord();
    private int ngram = Masking.REFERENCE.ngram();
    private double mfmProbability = Masking.REFERENCE.mfmProbability();
    private Contrastive contrastive = Contrastive.REFERENCE;
    private long seed = DEFAULT_SEED;
    private int workers = 1;

    private Builder(Path data, Architecture arch, Path textModel, Path out) {
      this.data = data;
      this.arch = arch;
      this.textModel = textModel;
      this.out = out;
      Optimization reference = Optimization.referenceFor(arch);
      epochs = reference.epochs();
      maxSteps = reference.maxSteps();
      batchSize = reference.batchSize();
      learningRate = reference.learningRate();
      warmupFraction = reference.warmupFraction();
      checkpointEvery = reference.checkpointEvery();
    }

    public Builder splits(List<String> value) {
      this.splits = value;
      return this;
    }

    public Builder maxFrames(int value) {
      this.maxFrames = value;
      return this;
    }

    public Builder maxText(int value) {
      this.maxText = value;
      return this;
    }

    public Builder epochs(int value) {
      this.epochs = value;
      return this;
    }

    public Builder maxSteps(long value) {
      this.maxSteps = value;
      return this;
    }

    public Builder batchSize(int value) {
      this.batchSize = value;
      return this;
    }

    public Builder learningRate(double value) {
      this.learningRate = value;
      return this;
    }

    public Builder warmupFraction(double value) {
      this.warmupFraction = value;
      return this;
    }

    public Builder checkpointEvery(long value) {
      this.checkpointEvery = value;
      return this;
    }

    public Builder weights(LossWeights value) {
      this.weights = value;
      return this;
    }

    public Builder mlmProbability(double value) {
      this.mlmProbability = value;
      return this;
    }

    public Builder wholeWord(boolean value) {
      this.wholeWord = value;
      return this;
    }

    public Builder ngram(int value) {
      this.ngram = value;
      return this;
    }

    public Builder mfmProbability(double value) {
      this.mfmProbability = value;
      return this;
    }

    public Builder contrastive(Contrastive value) {
      this.contrastive = value;
      return this;
    }

    public Builder seed(long value) {
      this.seed = value;
      return this;
    }

    public Builder workers(int value) {
      this.workers = value;
      return this;
    }

    public PretrainOptions build() {
      return new PretrainOptions(out, new Data(data, splits, maxFrames, maxText),
          new Model(arch, textModel),
          new Optimization(epochs, maxSteps, batchSize, learningRate, warmupFraction,
              checkpointEvery),
          weights, new Masking(mlmProbability, wholeWord, ngram, mfmProbability), contrastive,
          seed, workers);
    }
  }
}

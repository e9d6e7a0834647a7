package dev.vidtag.train;

import dev.vidtag.data.Dataset;
import dev.vidtag.data.ValidationSplit;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.Pooling;
import dev.vidtag.train.ParameterGroups.LearningRates;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Everything a fine-tuning run is configured by, in the sections a reader looks for. Every
 * default is the reference solution's (section 6), and the command line takes its defaults
 * from here. Build one by name, so that no two values of a kind can trade places unnoticed:
 *
 * <pre>{@code
 * TrainOptions options = TrainOptions.builder(data, Architecture.SINGLE, textModel, out)
 *     .epochs(3).batchSize(32).pgd(3, 0.05, 0.02).evaluateEvery(60).build();
 * }</pre>
 *
 * @param out the run directory
 * @param seed the seed of the split, the batch order, the initialisation and dropout
 * @param workers loader threads (the batches do not depend on them)
 */
public record TrainOptions(Path out, Data data, Model model, Optimization optimization,
    Adversarial adversarial, Evaluation evaluation, long seed, int workers) {

  public static final double DEFAULT_VALIDATION_RATIO = 0.1;
  public static final long DEFAULT_SEED = 2022;
  public static final int DEFAULT_MAX_FRAMES = 14;
  public static final int DEFAULT_MAX_TEXT = 258;

  /**
   * What the model reads.
   *
   * @param directory the dataset, in the official layout
   * @param validationRatio the share of the labeled videos held out for validation
   * @param maxFrames frames per video
   * @param maxText text tokens with [CLS] and [SEP]
   * @param folds with {@code fold}, k-fold: the labeled videos in this many stratified folds
   *     ({@link ValidationSplit#fold}), of which {@code fold} validates and the ratio is unused;
   *     both null for a split by ratio (as a run written before k-fold existed reads)
   * @param pseudo a {@code vidtag pseudo-label} directory of another split of the dataset whose
   *     videos train with their hard labels beside the labeled training part; null for none
   * @param pseudoMinConfidence with {@code pseudo}: the least probability of a hard label that
   *     is trained on (null: 0, all of them)
   */
  public record Data(Path directory, double validationRatio, int maxFrames, int maxText,
      Integer folds, Integer fold, Path pseudo, Double pseudoMinConfidence) {
    public Data {
      if (pseudoMinConfidence != null && !(pseudoMinConfidence >= 0 && pseudoMinConfidence <= 1)) {
        throw new IllegalArgumentException("the pseudo-labels' minimum confidence must be in "
            + "[0, 1], got " + pseudoMinConfidence);
      }
      if ((folds == null) != (fold == null)) {
        throw new IllegalArgumentException("k-fold needs both the number of folds and the fold");
      }
      if (folds != null) {
        ValidationSplit.requireFold(folds, fold);
      }
      Objects.requireNonNull(directory, "data directory");
      if (!(validationRatio > 0 && validationRatio < 1)) {
        throw new IllegalArgumentException("validation ratio must be in (0, 1), got "
            + validationRatio);
      }
      requirePositive("max frames", maxFrames);
      if (maxText < 3) {
        throw new IllegalArgumentException("max text must be at least 3, got " + maxText);
      }
    }
  }

  /**
   * Which model is trained.
   *
   * @param textModel the Hugging Face BERT directory whose weights start the text encoder, or,
   *     with {@code init}, the checkpoint whose tokenizer files the model takes
   * @param init a pretraining checkpoint (or run) whose encoder, frame projection and decoder
   *     start the model ({@link PretrainedInit}); null to start from {@code textModel}
   * @param dropout the dropout of the text encoder and the decoder, in [0, 1); null keeps the
   *     text model's own and the reference decoder's 0.1 (a run written before this option
   *     existed reads as null)
   */
  public record Model(Architecture arch, Path textModel, Path init, Pooling pooling,
      Double dropout) {
    public Model {
      Objects.requireNonNull(arch, "architecture");
      Objects.requireNonNull(textModel, "text model");
      Objects.requireNonNull(pooling, "pooling");
      if (dropout != null && !(dropout >= 0 && dropout < 1)) {
        throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
      }
    }
  }

  /**
   * How the weights move.
   *
   * @param warmupFraction the share of the steps spent warming up
   * @param emaDecay the exponential moving average's decay
   * @param clipGradNorm the gradient norm clipped to, 0 for none
   */
  public record Optimization(int epochs, int batchSize, LearningRates learningRates,
      double warmupFraction, double emaDecay, double clipGradNorm) {
    public static final Optimization REFERENCE =
        new Optimization(5, 32, LearningRates.REFERENCE, 0.06, 0.995, 0.0);

    public Optimization {
      requirePositive("epochs", epochs);
      requirePositive("batch size", batchSize);
      Objects.requireNonNull(learningRates, "learning rates");
      if (clipGradNorm < 0) {
        throw new IllegalArgumentException("gradient clipping norm must be >= 0 (0 = off)");
      }
    }
  }

  /** Adversarial training on the word embeddings. */
  public enum AdversaryKind { NONE, FGM, PGD }

  /**
   * The adversary and its radii.
   *
   * @param fromEpoch the first epoch it attacks in
   * @param pgdSteps PGD's K
   * @param pgdEpsilon PGD's radius
   * @param pgdAlpha PGD's step
   * @param fgmEpsilon FGM's step
   */
  public record Adversarial(AdversaryKind kind, int fromEpoch, int pgdSteps, double pgdEpsilon,
      double pgdAlpha, double fgmEpsilon) {
    public static final Adversarial REFERENCE =
        new Adversarial(AdversaryKind.PGD, 0, 3, 1.0, 0.3, 0.75);

    public Adversarial {
      Objects.requireNonNull(kind, "adversary");
      requirePositive("PGD steps", pgdSteps);
    }
  }

  /**
   * When the run evaluates and saves.
   *
   * @param every evaluate (with the EMA weights) and checkpoint every this many steps...
   * @param from ...from this step on; the last step always
   * @param stateEvery save the resumable state every this many steps, and at each evaluation
   */
  public record Evaluation(long every, long from, long stateEvery) {
    public static final Evaluation REFERENCE = new Evaluation(500, 3000, 500);

    public Evaluation {
      requirePositive("eval every", every);
      requirePositive("state every", stateEvery);
    }
  }

  public TrainOptions {
    Objects.requireNonNull(out, "run directory");
    Objects.requireNonNull(data, "data");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(optimization, "optimization");
    Objects.requireNonNull(adversarial, "adversarial");
    Objects.requireNonNull(evaluation, "evaluation");
    requirePositive("workers", workers);
  }

  /** The labeled videos of {@code dataset} cut as this run cuts them: by ratio or by fold. */
  public ValidationSplit validationSplit(Dataset dataset) {
    return data.folds() == null ? dataset.validationSplit(data.validationRatio(), seed)
        : dataset.foldSplit(data.folds(), data.fold(), seed);
  }

  /** The reference's settings for a run of {@code arch} on {@code data} into {@code out}. */
  public static Builder builder(Path data, Architecture arch, Path textModel, Path out) {
    return new Builder(data, arch, textModel, out);
  }

  /** The same run read by another number of loader threads. */
  public TrainOptions withWorkers(int newWorkers) {
    return new TrainOptions(out, data, model, optimization, adversarial, evaluation, seed,
        newWorkers);
  }

  /** The same options for a run in another directory. */
  public TrainOptions withOut(Path newOut) {
    return new TrainOptions(newOut, data, model, optimization, adversarial, evaluation, seed,
        workers);
  }

  /** The same run validating on fold {@code fold} (from 0) of {@code folds} stratified folds. */
  public TrainOptions withFold(int fold, int folds) {
    Data foldData = new Data(data.directory(), data.validationRatio(), data.maxFrames(),
        data.maxText(), folds, fold, data.pseudo(), data.pseudoMinConfidence());
    return new TrainOptions(out, foldData, model, optimization, adversarial, evaluation, seed,
        workers);
  }

  private static void requirePositive(String name, long value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1, got " + value);
    }
  }

  /** Named settings over the reference's defaults; {@link #build} checks them. */
  public static final class Builder {
    private final Path out;
    private final Path data;
    private final Architecture arch;
    private Path textModel;
    private Path init;
    private Pooling pooling = Pooling.MEAN_MASKED;
    private Double dropout;
    private double validationRatio = DEFAULT_VALIDATION_RATIO;
    private Integer folds;
    private Integer fold;
    private Path pseudo;
    private Double pseudoMinConfidence;
    private int maxFrames = DEFAULT_MAX_FRAMES;
    private int maxText = DEFAULT_MAX_TEXT;
    private int epochs = Optimization.REFERENCE.epochs();
    private int batchSize = Optimization.REFERENCE.batchSize();
    private LearningRates learningRates = Optimization.REFERENCE.learningRates();
    private double warmupFraction = Optimization.REFERENCE.warmupFraction();
    private double emaDecay = Optimization.REFERENCE.emaDecay();
    private double clipGradNorm = Optimization.REFERENCE.clipGradNorm();
    private AdversaryKind adversary = Adversarial.REFERENCE.kind();
    private int adversaryFromEpoch = Adversarial.REFERENCE.fromEpoch();
    private int pgdSteps = Adversarial.REFERENCE.pgdSteps();
    private double pgdEpsilon = Adversarial.REFERENCE.pgdEpsilon();
    private double pgdAlpha = Adversarial.REFERENCE.pgdAlpha();
    private double fgmEpsilon = Adversarial.REFERENCE.fgmEpsilon();
    private long evaluateEvery = Evaluation.REFERENCE.every();
    private long evaluateFrom = Evaluation.REFERENCE.from();
    private long stateEvery = Evaluation.REFERENCE.stateEvery();
    private long seed = DEFAULT_SEED;
    private int workers = 1;

    private Builder(Path data, Architecture arch, Path textModel, Path out) {
      this.data = data;
      this.arch = arch;
      this.textModel = textModel;
      this.out = out;
    }

    /**
     * Start from a pretraining checkpoint (or run); {@code tokenizerSource} is where the
     * model's tokenizer files come from (the checkpoint itself).
     */
    public Builder init(Path checkpoint, Path tokenizerSource) {
      this.init = checkpoint;
      this.textModel = tokenizerSource;
      return this;
    }

    public Builder pooling(Pooling value) {
      this.pooling = value;
      return this;
    }

    /** Dropout of the text encoder and the decoder, instead of their configurations' own. */
    public Builder dropout(double value) {
      this.dropout = value;
      return this;
    }

    /** Validate on fold {@code index} (from 0) of {@code count} stratified folds. */
    public Builder fold(int index, int count) {
      this.fold = index;
      this.folds = count;
      return this;
    }

    /**
     * Train on the hard labels of a {@code vidtag pseudo-label} directory too, those of at least
     * {@code minConfidence}.
     */
    public Builder pseudo(Path labels, double minConfidence) {
      this.pseudo = labels;
      this.pseudoMinConfidence = minConfidence;
      return this;
    }

    public Builder validationRatio(double value) {
      this.validationRatio = value;
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

    public Builder batchSize(int value) {
      this.batchSize = value;
      return this;
    }

    public Builder learningRates(LearningRates value) {
      this.learningRates = value;
      return this;
    }

    public Builder warmupFraction(double value) {
      this.warmupFraction = value;
      return this;
    }

    public Builder emaDecay(double value) {
      this.emaDecay = value;
      return this;
    }

    public Builder clipGradNorm(double value) {
      this.clipGradNorm = value;
      return this;
    }

    public Builder adversary(AdversaryKind value) {
      this.adversary = value;
      return this;
    }

    public Builder adversaryFromEpoch(int value) {
      this.adversaryFromEpoch = value;
      return this;
    }

    /** PGD with {@code steps} steps of {@code alpha} inside a ball of radius {@code epsilon}. */
    public Builder pgd(int steps, double epsilon, double alpha) {
      this.adversary = AdversaryKind.PGD;
      this.pgdSteps = steps;
      this.pgdEpsilon = epsilon;
      this.pgdAlpha = alpha;
      return this;
    }

    public Builder pgdSteps(int value) {
      this.pgdSteps = value;
      return this;
    }

    public Builder pgdEpsilon(double value) {
      this.pgdEpsilon = value;
      return this;
    }

    public Builder pgdAlpha(double value) {
      this.pgdAlpha = value;
      return this;
    }

    public Builder fgmEpsilon(double value) {
      this.fgmEpsilon = value;
      return this;
    }

    public Builder evaluateEvery(long value) {
      this.evaluateEvery = value;
      return this;
    }

    public Builder evaluateFrom(long value) {
      this.evaluateFrom = value;
      return this;
    }

    public Builder stateEvery(long value) {
      this.stateEvery = value;
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

    public TrainOptions build() {
      return new TrainOptions(out, new Data(data, validationRatio, maxFrames, maxText, folds, fold,
              pseudo, pseudoMinConfidence),
          new Model(arch, textModel, init, pooling, dropout),
          new Optimization(epochs, batchSize, learningRates, warmupFraction, emaDecay,
              clipGradNorm),
          new Adversarial(adversary, adversaryFromEpoch, pgdSteps, pgdEpsilon, pgdAlpha,
              fgmEpsilon),
          new Evaluation(evaluateEvery, evaluateFrom, stateEvery), seed, workers);
    }
  }
}

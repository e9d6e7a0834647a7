package dev.vidtag.cli;

import dev.vidtag.model.Architecture;
import dev.vidtag.model.Pooling;
import dev.vidtag.train.ParameterGroups;
import dev.vidtag.train.PretrainedInit;
import dev.vidtag.train.TrainOptions;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * The options of a fine-tuning run that {@code train} and {@code kfold} share, with the
 * reference's defaults ({@link TrainOptions}); each command adds where the run goes.
 */
final class FineTuningOptions {
  private static final TrainOptions.Optimization OPTIMIZATION = TrainOptions.Optimization.REFERENCE;
  private static final TrainOptions.Adversarial ADVERSARIAL = TrainOptions.Adversarial.REFERENCE;
  private static final TrainOptions.Evaluation EVALUATION = TrainOptions.Evaluation.REFERENCE;

  @Option(names = "--data", paramLabel = "DIR", description = "Dataset in the official layout.")
  Path data;

  @Option(names = "--arch", paramLabel = "single|double", description = "Model architecture.")
  String arch;

  @Option(names = "--text-model", paramLabel = "HF_DIR",
      description = "Hugging Face BERT directory that initialises the text encoder.")
  Path textModel;

  @Option(names = "--init", paramLabel = "PRETRAIN_DIR",
      description = "Start from a pretraining checkpoint (or its run: the newest checkpoint) instead of --text-model.")
  Path init;

  @Option(names = "--epochs", description = "Epochs (default: ${DEFAULT-VALUE}).")
  int epochs = OPTIMIZATION.epochs();

  @Option(names = "--batch-size", description = "Batch size (default: ${DEFAULT-VALUE}).")
  int batchSize = OPTIMIZATION.batchSize();

  @Option(names = "--max-frames", description = "Frames per video (default: ${DEFAULT-VALUE}).")
  int maxFrames = TrainOptions.DEFAULT_MAX_FRAMES;

  @Option(names = "--max-text", description = "Text tokens with [CLS] and [SEP] (default: ${DEFAULT-VALUE}).")
  int maxText = TrainOptions.DEFAULT_MAX_TEXT;

  @Option(names = "--bert-lr", description = "Learning rate of bert.* (default: ${DEFAULT-VALUE}).")
  double bertLr = OPTIMIZATION.learningRates().bert();

  @Option(names = "--cross-lr", description = "Learning rate of the decoder (default: ${DEFAULT-VALUE}).")
  double crossLr = OPTIMIZATION.learningRates().decoder();

  @Option(names = "--lr", description = "Learning rate of everything else (default: ${DEFAULT-VALUE}).")
  double lr = OPTIMIZATION.learningRates().other();

  @Option(names = "--warmup", description = "Warmup fraction of the steps (default: ${DEFAULT-VALUE}).")
  double warmup = OPTIMIZATION.warmupFraction();

  @Option(names = "--ema", description = "EMA decay (default: ${DEFAULT-VALUE}).")
  double ema = OPTIMIZATION.emaDecay();

  @Option(names = "--adversary", description = "none, fgm or pgd (default: ${DEFAULT-VALUE}).")
  String adversary = ADVERSARIAL.kind().name().toLowerCase(Locale.ROOT);

  @Option(names = "--adversary-from-epoch", description = "First epoch with adversarial training (default: ${DEFAULT-VALUE}).")
  int adversaryFromEpoch = ADVERSARIAL.fromEpoch();

  @Option(names = "--pgd-steps", description = "PGD steps K (default: ${DEFAULT-VALUE}).")
  int pgdSteps = ADVERSARIAL.pgdSteps();

  @Option(names = "--pgd-epsilon", description = "PGD radius (default: ${DEFAULT-VALUE}).")
  double pgdEpsilon = ADVERSARIAL.pgdEpsilon();

  @Option(names = "--pgd-alpha", description = "PGD step (default: ${DEFAULT-VALUE}).")
  double pgdAlpha = ADVERSARIAL.pgdAlpha();

  @Option(names = "--fgm-epsilon", description = "FGM step (default: ${DEFAULT-VALUE}).")
  double fgmEpsilon = ADVERSARIAL.fgmEpsilon();

  @Option(names = "--eval-every", description = "Evaluate and checkpoint every N steps (default: ${DEFAULT-VALUE}).")
  long evalEvery = EVALUATION.every();

  @Option(names = "--eval-from", description = "... from step M; the last step always (default: ${DEFAULT-VALUE}).")
  long evalFrom = EVALUATION.from();

  @Option(names = "--val-ratio", description = "Validation share of the labeled videos (default: ${DEFAULT-VALUE}).")
  double valRatio = TrainOptions.DEFAULT_VALIDATION_RATIO;

  @Option(names = "--seed", description = "Seed of the split, the order and the initialisation (default: ${DEFAULT-VALUE}).")
  long seed = TrainOptions.DEFAULT_SEED;

  @Option(names = "--clip", description = "Gradient norm clipping, 0 = off (default: ${DEFAULT-VALUE}).")
  double clip = OPTIMIZATION.clipGradNorm();

  @Option(names = "--pooling", description = "mean_masked or mean_all (default: ${DEFAULT-VALUE}).")
  String pooling = Pooling.MEAN_MASKED.configName();

  @Option(names = "--dropout", paramLabel = "P", description = "Dropout of the text encoder and the decoder, in [0, 1) (default: the text model's own, and 0.1 in the decoder).")
  Double dropout;

  @Option(names = "--state-every", description = "Save the resumable state every N steps, and at each evaluation (default: ${DEFAULT-VALUE}).")
  long stateEvery = EVALUATION.stateEvery();

  @Option(names = "--pseudo", paramLabel = "PSEUDO",
      description = "Also train on the hard labels of a 'vidtag pseudo-label' directory of another split of --data.")
  Path pseudo;

  @Option(names = "--pseudo-min-confidence", paramLabel = "P",
      description = "With --pseudo: only the videos whose hard label has at least this probability (default: 0, all).")
  Double pseudoMinConfidence;

  @Option(names = "--workers", defaultValue = "1", description = "Loader threads (default: ${DEFAULT-VALUE}).")
  int workers;

  /**
   * The options of a new run into {@code out}; fails naming the option when one is missing or
   * malformed.
   */
  TrainOptions.Builder builder(Path out) {
    ResumeOptions.requireForNewRun(new Object[][] {{"--data", data}, {"--arch", arch}, {"--out", out}});
    if ((textModel == null) == (init == null)) {
      throw new IllegalArgumentException("give either --text-model or --init");
    }
    Architecture architecture = Architecture.fromConfigName(arch);
    if (architecture == null) {
      throw new IllegalArgumentException("--arch must be single or double, got '" + arch + "'");
    }
    Pooling poolingMode = Pooling.fromConfigName(pooling);
    if (poolingMode == null) {
      throw new IllegalArgumentException("--pooling must be one of " + Pooling.choices()
          + ", got '" + pooling + "'");
    }
    TrainOptions.Builder options = TrainOptions.builder(data, architecture, textModel, out)
        .epochs(epochs).batchSize(batchSize).maxFrames(maxFrames).maxText(maxText)
        .learningRates(new ParameterGroups.LearningRates(bertLr, crossLr, lr))
        .warmupFraction(warmup).emaDecay(ema).clipGradNorm(clip)
        .adversary(TrainOptions.AdversaryKind.valueOf(adversary.toUpperCase(Locale.ROOT)))
        .adversaryFromEpoch(adversaryFromEpoch).pgdSteps(pgdSteps).pgdEpsilon(pgdEpsilon)
        .pgdAlpha(pgdAlpha).fgmEpsilon(fgmEpsilon)
        .evaluateEvery(evalEvery).evaluateFrom(evalFrom).stateEvery(stateEvery)
        .validationRatio(valRatio).seed(seed).pooling(poolingMode).workers(workers);
    if (dropout != null) {
      options.dropout(dropout);
    }
    if (init != null) {
      options.init(init, PretrainedInit.resolve(init));
    }
    if (pseudo != null) {
      options.pseudo(pseudo, pseudoMinConfidence == null ? 0 : pseudoMinConfidence);
    } else if (pseudoMinConfidence != null) {
      throw new IllegalArgumentException("--pseudo-min-confidence needs --pseudo");
    }
    return options;
  }

  /** Loader threads, which a resumed run may change. */
  int workers() {
    return workers;
  }
}

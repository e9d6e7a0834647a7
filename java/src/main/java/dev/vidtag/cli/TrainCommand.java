package dev.vidtag.cli;

import dev.vidtag.model.Architecture;
import dev.vidtag.model.Pooling;
import dev.vidtag.runtime.DeviceSpec;
import dev.vidtag.train.ParameterGroups;
import dev.vidtag.train.PretrainedInit;
import dev.vidtag.train.TrainOptions;
import dev.vidtag.train.Trainer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vidtag train}: fine-tunes a classifier on a dataset's labeled split. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Fine-tunes a single- or double-stream classifier with the reference's tricks "
        + "(parameter groups, warmup and linear decay, EMA, FGM or PGD) and checkpoints it.")
final class TrainCommand implements Callable<Integer> {
  private static final TrainOptions.Optimization OPTIMIZATION = TrainOptions.Optimization.REFERENCE;
  private static final TrainOptions.Adversarial ADVERSARIAL = TrainOptions.Adversarial.REFERENCE;
  private static final TrainOptions.Evaluation EVALUATION = TrainOptions.Evaluation.REFERENCE;

  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--resume", paramLabel = "RUN",
      description = "Continue the run in RUN from its last saved state, with the options it was "
          + "started with (no other option but --workers and the runtime ones).")
  Path resume;

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

  @Option(names = "--out", paramLabel = "RUN", description = "Run directory (created; must not hold a run).")
  Path out;

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

  @Option(names = "--folds", paramLabel = "K", description = "k-fold: the labeled videos in K folds stratified by class; --fold validates (instead of --val-ratio).")
  Integer folds;

  @Option(names = "--fold", paramLabel = "k", description = "k-fold: the fold that validates, from 0 to K-1.")
  Integer fold;

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

  @Option(names = "--workers", defaultValue = "1", description = "Loader threads (default: ${DEFAULT-VALUE}).")
  int workers;

  @Override
  public Integer call() throws Exception {
    runtime.start();
    if (runtime.deviceSpec().kind() != DeviceSpec.Kind.CPU) {
      throw new IllegalArgumentException("vidtag train runs on the CPU for now; use --device cpu");
    }
    Trainer trainer = resume != null ? resumedTrainer() : newTrainer();
    Trainer.Result result = trainer.run();
    PrintWriter printer = spec.commandLine().getOut();
    if (trainer.transfer() != null) {
      printer.println(trainer.transfer().describe());
    }
    printer.printf(Locale.ROOT, "%d steps; best mean F1 %.4f at step %d (lv1 %.4f / %.4f, lv2 %.4f / %.4f) in %s%n",
        result.steps(), result.bestScore().mean(), result.bestStep(),
        result.bestScore().lv1MicroF1(), result.bestScore().lv1MacroF1(),
        result.bestScore().lv2MicroF1(), result.bestScore().lv2MacroF1(), result.best());
    printer.printf(Locale.ROOT, "always predicting the most frequent training class: mean F1 %.4f%n",
        result.majorityBaseline().mean());
    if (result.skippedSteps() > 0) {
      printer.printf("steps skipped for a non-finite loss or gradient: %d%n", result.skippedSteps());
    }
    printer.flush();
    return 0;
  }

  private Trainer resumedTrainer() {
    ResumeOptions.refuseOthers(spec);
    return Trainer.resuming(resume, workers);
  }

  private Trainer newTrainer() {
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
    if (folds != null || fold != null) {
      if (folds == null || fold == null) {
        throw new IllegalArgumentException("k-fold needs both --folds K and --fold k");
      }
      options.fold(fold, folds);
    }
    if (init != null) {
      options.init(init, PretrainedInit.resolve(init));
    }
    return new Trainer(options.build());
  }
}

package dev.vidtag.cli;

import dev.vidtag.model.Architecture;
import dev.vidtag.model.Pooling;
import dev.vidtag.runtime.DeviceSpec;
import dev.vidtag.train.ParameterGroups;
import dev.vidtag.train.PretrainedInit;
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

  @Option(names = "--epochs", defaultValue = "5", description = "Epochs (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--batch-size", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--max-frames", defaultValue = "14", description = "Frames per video (default: ${DEFAULT-VALUE}).")
  int maxFrames;

  @Option(names = "--max-text", defaultValue = "258", description = "Text tokens with [CLS] and [SEP] (default: ${DEFAULT-VALUE}).")
  int maxText;

  @Option(names = "--bert-lr", defaultValue = "7e-5", description = "Learning rate of bert.* (default: ${DEFAULT-VALUE}).")
  double bertLr;

  @Option(names = "--cross-lr", defaultValue = "8e-5", description = "Learning rate of the decoder (default: ${DEFAULT-VALUE}).")
  double crossLr;

  @Option(names = "--lr", defaultValue = "5e-5", description = "Learning rate of everything else (default: ${DEFAULT-VALUE}).")
  double lr;

  @Option(names = "--warmup", defaultValue = "0.06", description = "Warmup fraction of the steps (default: ${DEFAULT-VALUE}).")
  double warmup;

  @Option(names = "--ema", defaultValue = "0.995", description = "EMA decay (default: ${DEFAULT-VALUE}).")
  double ema;

  @Option(names = "--adversary", defaultValue = "pgd", description = "none, fgm or pgd (default: ${DEFAULT-VALUE}).")
  String adversary;

  @Option(names = "--adversary-from-epoch", defaultValue = "0", description = "First epoch with adversarial training (default: ${DEFAULT-VALUE}).")
  int adversaryFromEpoch;

  @Option(names = "--pgd-steps", defaultValue = "3", description = "PGD steps K (default: ${DEFAULT-VALUE}).")
  int pgdSteps;

  @Option(names = "--pgd-epsilon", defaultValue = "1.0", description = "PGD radius (default: ${DEFAULT-VALUE}).")
  double pgdEpsilon;

  @Option(names = "--pgd-alpha", defaultValue = "0.3", description = "PGD step (default: ${DEFAULT-VALUE}).")
  double pgdAlpha;

  @Option(names = "--fgm-epsilon", defaultValue = "0.75", description = "FGM step (default: ${DEFAULT-VALUE}).")
  double fgmEpsilon;

  @Option(names = "--eval-every", defaultValue = "500", description = "Evaluate and checkpoint every N steps (default: ${DEFAULT-VALUE}).")
  long evalEvery;

  @Option(names = "--eval-from", defaultValue = "3000", description = "... from step M; the last step always (default: ${DEFAULT-VALUE}).")
  long evalFrom;

  @Option(names = "--val-ratio", defaultValue = "0.1", description = "Validation share of the labeled videos (default: ${DEFAULT-VALUE}).")
  double valRatio;

  @Option(names = "--seed", defaultValue = "2022", description = "Seed of the split, the order and the initialisation (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--clip", defaultValue = "0", description = "Gradient norm clipping, 0 = off (default: ${DEFAULT-VALUE}).")
  double clip;

  @Option(names = "--pooling", defaultValue = "mean_masked", description = "mean_masked or mean_all (default: ${DEFAULT-VALUE}).")
  String pooling;

  @Option(names = "--state-every", defaultValue = "500", description = "Save the resumable state every N steps, and at each evaluation (default: ${DEFAULT-VALUE}).")
  long stateEvery;

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
    Path textSource = init != null ? PretrainedInit.resolve(init) : textModel;
    Trainer.Options options = new Trainer.Options(data, Architecture.fromConfigName(arch),
        textSource, out, epochs, batchSize, maxFrames, maxText,
        new ParameterGroups.LearningRates(bertLr, crossLr, lr), warmup, ema,
        Trainer.AdversaryKind.valueOf(adversary.toUpperCase(Locale.ROOT)), adversaryFromEpoch,
        pgdSteps, pgdEpsilon, pgdAlpha, fgmEpsilon, evalEvery, evalFrom, valRatio, seed, workers,
        clip, Pooling.fromConfigName(pooling), stateEvery, init);
    return new Trainer(options);
  }
}

package dev.vidtag.cli;

import dev.vidtag.runtime.DeviceSpec;
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
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--resume", paramLabel = "RUN",
      description = "Continue the run in RUN from its last saved state, with the options it was "
          + "started with (no other option but --workers and the runtime ones).")
  Path resume;

  @Option(names = "--out", paramLabel = "RUN", description = "Run directory (created; must not hold a run).")
  Path out;

  @Option(names = "--folds", paramLabel = "K", description = "k-fold: the labeled videos in K folds stratified by class; --fold validates (instead of --val-ratio).")
  Integer folds;

  @Option(names = "--fold", paramLabel = "k", description = "k-fold: the fold that validates, from 0 to K-1.")
  Integer fold;

  @Mixin FineTuningOptions training;

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
    print(printer, result);
    printer.flush();
    return 0;
  }

  /** The run's best score, the floor it had to clear and the steps it skipped. */
  static void print(PrintWriter printer, Trainer.Result result) {
    printer.printf(Locale.ROOT, "%d steps; best mean F1 %.4f at step %d (lv1 %.4f / %.4f, lv2 %.4f / %.4f) in %s%n",
        result.steps(), result.bestScore().mean(), result.bestStep(),
        result.bestScore().lv1MicroF1(), result.bestScore().lv1MacroF1(),
        result.bestScore().lv2MicroF1(), result.bestScore().lv2MacroF1(), result.best());
    printer.printf(Locale.ROOT, "always predicting the most frequent training class: mean F1 %.4f%n",
        result.majorityBaseline().mean());
    if (result.skippedSteps() > 0) {
      printer.printf("steps skipped for a non-finite loss or gradient: %d%n", result.skippedSteps());
    }
  }

  private Trainer resumedTrainer() {
    ResumeOptions.refuseOthers(spec);
    return Trainer.resuming(resume, training.workers());
  }

  private Trainer newTrainer() {
    TrainOptions.Builder options = training.builder(out);
    if (folds != null || fold != null) {
      if (folds == null || fold == null) {
        throw new IllegalArgumentException("k-fold needs both --folds K and --fold k");
      }
      options.fold(fold, folds);
    }
    return new Trainer(options.build());
  }
}

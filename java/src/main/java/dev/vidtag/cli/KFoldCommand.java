package dev.vidtag.cli;

import dev.vidtag.eval.OfficialScore;
import dev.vidtag.runtime.DeviceSpec;
import dev.vidtag.train.KFold;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vidtag kfold}: one fine-tuning run per stratified fold and the out-of-fold logits. */
@Command(name = "kfold", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Fine-tunes one run per fold of the labeled videos (stratified by class), each "
        + "validating on its fold, into DIR/fold-k/, then writes every labeled video's logits from "
        + "the run that held it out (DIR/" + KFold.OUT_OF_FOLD_LOGITS + ", annotation order) and "
        + "each video's fold (DIR/" + KFold.FOLDS + ").")
final class KFoldCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--resume", paramLabel = "DIR",
      description = "Continue the k-fold run in DIR: finished folds are kept, the interrupted one "
          + "resumes from its last saved state (no other option but --workers and the runtime ones).")
  Path resume;

  @Option(names = "--folds", paramLabel = "K", description = "Number of folds, at least 2.")
  Integer folds;

  @Option(names = "--out", paramLabel = "DIR",
      description = "k-fold directory (created; must not hold a run).")
  Path out;

  @Mixin FineTuningOptions training;

  @Override
  public Integer call() {
    runtime.start();
    if (runtime.deviceSpec().kind() != DeviceSpec.Kind.CPU) {
      throw new IllegalArgumentException("vidtag kfold runs on the CPU for now; use --device cpu");
    }
    KFold kfold;
    if (resume != null) {
      ResumeOptions.refuseOthers(spec);
      kfold = KFold.resuming(resume, training.workers());
    } else {
      ResumeOptions.requireForNewRun(new Object[][] {{"--folds", folds}});
      if (spec.commandLine().getParseResult().hasMatchedOption("--val-ratio")) {
        throw new IllegalArgumentException("--val-ratio has no use in k-fold: each fold "
            + "validates in turn");
      }
      kfold = new KFold(new KFold.Options(folds, training.builder(out).build()));
    }
    KFold.Result result = kfold.run();
    PrintWriter printer = spec.commandLine().getOut();
    for (int k = 0; k < result.folds().size(); k++) {
      printer.printf("fold %d: ", k);
      TrainCommand.print(printer, result.folds().get(k));
    }
    OfficialScore score = result.outOfFoldScore();
    printer.printf(Locale.ROOT, "out of fold, %d videos: mean F1 %.4f (lv1 %.4f / %.4f, lv2 %.4f / %.4f)%n",
        result.videoIds().size(), score.mean(), score.lv1MicroF1(), score.lv1MacroF1(),
        score.lv2MicroF1(), score.lv2MacroF1());
    printer.flush();
    return 0;
  }
}

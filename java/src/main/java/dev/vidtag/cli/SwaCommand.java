package dev.vidtag.cli;

import dev.vidtag.eval.OfficialScore;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.train.CheckpointAverage;
import dev.vidtag.train.CheckpointAverage.Checkpoint;
import dev.vidtag.train.RunDirectory;
import dev.vidtag.train.Validation;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vidtag swa}: the equal-weight average of a run's best checkpoints. */
@Command(name = "swa", mixinStandardHelpOptions = true,
    description = "Averages the K best checkpoints of a training run (by validation score) into a "
        + "model directory, and scores the average on the run's validation split.")
final class SwaCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--run", required = true, paramLabel = "RUN", description = "A vidtag train run directory.")
  Path run;

  @Option(names = "--top", required = true, paramLabel = "K", description = "How many of the best checkpoints to average.")
  int top;

  @Option(names = "--out", required = true, paramLabel = "MODEL_DIR", description = "The averaged model directory (must not exist).")
  Path out;

  @Option(names = "--workers", defaultValue = "1", description = "Loader threads for the validation (default: ${DEFAULT-VALUE}).")
  int workers;

  @Override
  public Integer call() throws IOException {
    runtime.start();
    if (top < 1) {
      throw new IllegalArgumentException("--top must be at least 1, got " + top);
    }
    if (Files.exists(out)) {
      throw new IllegalArgumentException(out + " already exists");
    }
    List<Checkpoint> ranked = CheckpointAverage.ranked(run);
    if (ranked.size() < top) {
      throw new IllegalArgumentException(run + " has " + ranked.size() + " checkpoints, fewer than --top " + top);
    }
    List<Checkpoint> chosen = ranked.subList(0, top);
    VideoClassifierModel average = CheckpointAverage.saveAverage(chosen, out);
    PrintWriter printer = spec.commandLine().getOut();
    for (Checkpoint c : chosen) {
      printer.printf(Locale.ROOT, "  step %d  score %.4f  %s%n", c.step(), c.score(), c.directory());
    }
    printer.printf("averaged %d checkpoints into %s%n", chosen.size(), out);
    if (Files.isRegularFile(run.resolve(RunDirectory.OPTIONS))) {
      OfficialScore score = Validation.ofRun(run, average, out, workers);
      printer.printf(Locale.ROOT, "validation mean F1 of the average: %.4f (lv1 %.4f / %.4f, lv2 %.4f / %.4f); best single checkpoint: %.4f%n",
          score.mean(), score.lv1MicroF1(), score.lv1MacroF1(), score.lv2MicroF1(),
          score.lv2MacroF1(), chosen.get(0).score());
    }
    printer.flush();
    return 0;
  }
}

package dev.vidtag.cli;

import dev.vidtag.demo.DemoPipeline;
import dev.vidtag.eval.OfficialScore;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vidtag demo}: runs {@link DemoPipeline} and prints what it did. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Generates a dataset, trains a single- and a double-stream model (EMA, SWA), "
        + "fits the tail adjustment, predicts the test split with the ensemble and scores "
        + "each stage.")
final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Where the dataset, runs, models and results go (default: a new directory under the system's temporary directory).")
  Path out;

  @Option(names = "--labeled", defaultValue = "4000", description = "Labeled videos (default: ${DEFAULT-VALUE}).")
  int labeled;

  @Option(names = "--test", defaultValue = "1000", description = "Test videos (default: ${DEFAULT-VALUE}).")
  int test;

  @Option(names = "--epochs", defaultValue = "3", description = "Fine-tuning epochs per model (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--seed", defaultValue = "2022", description = "Seed of the data, the split and the training (default: ${DEFAULT-VALUE}).")
  long seed;

  @Override
  public Integer call() throws IOException {
    runtime.start();
    Path root = out != null ? out : Files.createTempDirectory("vidtag-demo-");
    DemoPipeline.Options options = new DemoPipeline.Options(root, labeled, test, epochs, seed);
    PrintWriter printer = spec.commandLine().getOut();
    printer.println("vidtag demo: working in " + root);
    printer.flush();
    DemoPipeline.Report report = DemoPipeline.run(options, new DemoPipeline.Listener() {
      @Override
      public void stage(DemoPipeline.Stage stage) {}

      @Override
      public void note(String line) {
        printer.println(line);
        printer.flush();
      }
    });
    print(printer, report);
    return 0;
  }

  private void print(PrintWriter printer, DemoPipeline.Report report) {
    printer.println();
    printer.printf("%-52s %9s%n", "stage", "seconds");
    for (DemoPipeline.Stage stage : report.stages()) {
      printer.printf(Locale.ROOT, "%-52s %9.1f%n", stage.name(), stage.seconds());
    }
    printer.printf(Locale.ROOT, "%-52s %9.1f%n", "total", report.seconds());
    printer.println();
    printer.printf("%-52s %8s %8s %8s %8s %8s%n", "test split (" + test + " videos)", "mean F1",
        "lv1 mic", "lv1 mac", "lv2 mic", "lv2 mac");
    for (DemoPipeline.Score row : report.scores()) {
      OfficialScore s = row.score();
      printer.printf(Locale.ROOT, "%-52s %8.4f %8.4f %8.4f %8.4f %8.4f%n", row.name(), s.mean(),
          s.lv1MicroF1(), s.lv1MacroF1(), s.lv2MicroF1(), s.lv2MacroF1());
    }
    printer.println();
    printer.println("submission: " + report.submission() + " (check it with: vidtag evaluate "
        + "--pred " + report.submission() + " --truth " + report.truth() + ")");
    printer.flush();
  }
}

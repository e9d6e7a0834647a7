package dev.vidtag.cli;

import dev.vidtag.data.Dataset;
import dev.vidtag.infer.EnsembleFile;
import dev.vidtag.infer.Precision;
import dev.vidtag.infer.PseudoLabels;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.io.DataException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vidtag pseudo-label}: a teacher ensemble's soft and hard labels for a split. */
@Command(name = "pseudo-label", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Labels every video of a split with a teacher (one model or an ensemble): the "
        + "top k classes and their probabilities at a temperature (PSEUDO/" + PseudoLabels.SOFT_LABELS
        + "), the hard labels as a result file (PSEUDO/" + PseudoLabels.HARD_LABELS + ") and a "
        + "summary (PSEUDO/" + PseudoLabels.SUMMARY + "); run again to continue an interrupted one.")
final class PseudoLabelCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--data", required = true, paramLabel = "DIR",
      description = "A dataset in the official layout.")
  Path data;

  @Option(names = "--split", defaultValue = "unlabeled", paramLabel = "NAME",
      description = "The split to label (default: ${DEFAULT-VALUE}).")
  String split;

  @Mixin EnsembleOptions teacher;

  @Option(names = "--out", required = true, paramLabel = "PSEUDO",
      description = "The labels' directory (created; an unfinished one with the same settings continues).")
  Path out;

  @Option(names = "--temperature", defaultValue = "1", paramLabel = "T",
      description = "Softmax temperature over the fused logits; above 1 softens (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(names = "--top-k", defaultValue = "20", paramLabel = "K",
      description = "Classes kept per video with their probabilities (default: ${DEFAULT-VALUE}).")
  int topK;

  @Option(names = "--batch-size", defaultValue = "32", paramLabel = "N",
      description = "Videos per forward pass (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|bf16|int8",
      description = "Number format of the teacher's models (default: ${DEFAULT-VALUE}).")
  String precision;

  @Override
  public Integer call() {
    PseudoLabels.Options options = new PseudoLabels.Options(temperature, topK, batchSize,
        64 * batchSize);
    EnsembleFile ensemble = teacher.resolve();
    runtime.start();
    VideoClassifier.Options classifierOptions = VideoClassifier.Options.defaults()
        .withDevice(runtime.deviceSpec())
        .withPrecision(Precision.parse(precision))
        .withFuse(ensemble.fuse());
    PrintWriter progress = new PrintWriter(System.err, true);
    try (VideoClassifier classifier = VideoClassifier.open(ensemble.members(), classifierOptions)) {
      PseudoLabels.Summary summary = PseudoLabels.label(classifier, Dataset.at(data), split, out,
          options, progress);
      PrintWriter printer = spec.commandLine().getOut();
      printer.printf(Locale.ROOT, "%d videos of %s labeled into %s (%s)%n", summary.videos(),
          split, out, summary.resumedAt() == 0 ? "a new labeling"
              : "continued after " + summary.resumedAt());
      printer.printf(Locale.ROOT, "mean confidence %.4f; %.1f%% of the videos at 0.9 or more; "
          + "class distribution %.4f from the labeled split's (total variation)%n",
          summary.meanConfidence(), 100 * summary.confidentShare(), summary.distanceToLabeled());
      printer.flush();
      return 0;
    } catch (DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }
}

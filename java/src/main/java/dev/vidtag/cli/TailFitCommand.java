package dev.vidtag.cli;

import dev.vidtag.data.AnnotationReader;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.io.DataException;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Fuse;
import dev.vidtag.infer.Precision;
import dev.vidtag.infer.TailAdjustment;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.train.Trainer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vidtag tail-fit}: fits a tail adjustment on the validation part of the labeled split, the
 * part {@code vidtag train} held out with the same ratio and seed.
 */
@Command(name = "tail-fit", mixinStandardHelpOptions = true,
    description = "Fits the tail-class adjustment (none, probability multipliers or logit adjustment) "
        + "that scores best on the validation part of the labeled split.")
final class TailFitCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--data", required = true, paramLabel = "DIR",
      description = "The dataset the models were trained on (annotations/labeled.json, zip_feats/labeled.zip).")
  Path data;

  @Option(names = "--model", required = true, paramLabel = "MODEL_DIR[=WEIGHT]",
      description = "A model directory and its weight in the ensemble (default 1); repeat for an ensemble.")
  List<String> models;

  @Option(names = "--out", required = true, paramLabel = "FILE.json",
      description = "The adjustment, for 'vidtag predict --tail-adjust'.")
  Path out;

  @Option(names = "--fuse", defaultValue = "logits", paramLabel = "logits|probs",
      description = "As for predict (default: ${DEFAULT-VALUE}).")
  String fuse;

  @Option(names = "--val-ratio", defaultValue = "0.1",
      description = "Validation share of the labeled videos, as in training (default: ${DEFAULT-VALUE}).")
  double valRatio;

  @Option(names = "--seed", defaultValue = "2022",
      description = "Seed of the split, as in training (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--batch-size", defaultValue = "32", paramLabel = "N",
      description = "Videos per forward pass (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|bf16|int8",
      description = "Number format of the models, as for predict (default: ${DEFAULT-VALUE}).")
  String precision;

  @Override
  public Integer call() {
    runtime.start();
    if (!(valRatio > 0 && valRatio < 1)) {
      throw new IllegalArgumentException("--val-ratio must be in (0, 1), got " + valRatio);
    }
    if (batchSize < 1) {
      throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
    }
    VideoClassifier.Options options = VideoClassifier.Options.defaults()
        .withDevice(runtime.deviceSpec())
        .withPrecision(Precision.parse(precision))
        .withFuse(Fuse.parse(fuse));
    List<EnsembleMember> members = models.stream().map(EnsembleMember::parse).toList();
    CategoryMap categories = CategoryMap.official();
    try {
      List<VideoAnnotation> labeled =
          AnnotationReader.readAll(data.resolve("annotations/labeled.json"), true);
      List<List<VideoAnnotation>> split = Trainer.split(labeled, valRatio, seed);
      List<VideoAnnotation> validation = split.get(1);
      if (validation.isEmpty()) {
        throw new IllegalArgumentException("the validation part of " + labeled.size()
            + " labeled videos at ratio " + valRatio + " is empty");
      }
      TailAdjustment.Fit fit;
      try (VideoClassifier classifier = VideoClassifier.open(members, options)) {
        fit = TailAdjustment.fitOnValidation(classifier, data, split.get(0), validation,
            batchSize, categories);
      }
      fit.write(out);
      PrintWriter printer = spec.commandLine().getOut();
      printer.printf(Locale.ROOT, "%d validation videos (ratio %s, seed %d), %d training videos%n",
          validation.size(), valRatio, seed, split.get(0).size());
      printer.println("                     lv1 micro  lv1 macro  lv2 micro  lv2 macro  mean F1");
      print(printer, "before (none)", fit.before());
      print(printer, "after (" + fit.adjustment() + ")", fit.after());
      printer.printf(Locale.ROOT, "wrote %s (best of %d settings)%n", out, fit.candidates().size());
      printer.flush();
      return 0;
    } catch (DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static void print(PrintWriter printer, String label, OfficialScore s) {
    printer.printf(Locale.ROOT, "%-28s %9.4f  %9.4f  %9.4f  %9.4f  %7.4f%n", label,
        s.lv1MicroF1(), s.lv1MacroF1(), s.lv2MicroF1(), s.lv2MacroF1(), s.mean());
  }
}

package dev.vidtag.cli;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.ValidationSplit;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Fuse;
import dev.vidtag.infer.Precision;
import dev.vidtag.infer.SplitLogits;
import dev.vidtag.infer.TailAdjustment;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.io.DataException;
import dev.vidtag.train.KFold;
import dev.vidtag.train.TrainOptions;
import dev.vidtag.train.Trainer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.BiPredicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vidtag tail-fit}: fits a tail adjustment on the validation part of the labeled split, the
 * part {@code vidtag train} held out. With {@code --run} the split comes from the runs' own
 * options, so it cannot silently differ from the one the models were trained on; without it,
 * {@code --val-ratio} and {@code --seed} must be the ones training used. With {@code --kfold}
 * it fits on every labeled video, from the out-of-fold logits of a {@code vidtag kfold} run.
 */
@Command(name = "tail-fit", mixinStandardHelpOptions = true,
    description = "Fits the tail-class adjustment (none, probability multipliers or logit adjustment) "
        + "that scores best on the validation part of the labeled split, or on a k-fold's "
        + "out-of-fold logits of every labeled video.")
final class TailFitCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--run", paramLabel = "RUN",
      description = "A vidtag train run the models come from: the dataset, validation ratio and "
          + "seed are read from its options (repeat for an ensemble's runs; they must agree).")
  List<Path> runs = List.of();

  @Option(names = "--data", paramLabel = "DIR",
      description = "The dataset the models were trained on (its labeled split); taken from --run when given.")
  Path data;

  @Option(names = "--model", paramLabel = "MODEL_DIR[=WEIGHT]",
      description = "A model directory and its weight in the ensemble (default 1); repeat for an ensemble.")
  List<String> models = List.of();

  @Option(names = "--kfold", paramLabel = "DIR",
      description = "A finished vidtag kfold run: fit on its out-of-fold logits (every labeled "
          + "video, scored by the fold that held it out) instead of running models (no --run, "
          + "--data or --model then).")
  Path kfold;

  @Option(names = "--out", required = true, paramLabel = "FILE.json",
      description = "The adjustment, for 'vidtag predict --tail-adjust'.")
  Path out;

  @Option(names = "--fuse", defaultValue = "logits", paramLabel = "logits|probs",
      description = "As for predict (default: ${DEFAULT-VALUE}).")
  String fuse;

  @Option(names = "--val-ratio",
      description = "Validation share of the labeled videos, as in training (default: the run's, else "
          + TrainOptions.DEFAULT_VALIDATION_RATIO + ").")
  Double valRatio;

  @Option(names = "--seed",
      description = "Seed of the split, as in training (default: the run's, else "
          + TrainOptions.DEFAULT_SEED + ").")
  Long seed;

  @Option(names = "--batch-size", defaultValue = "32", paramLabel = "N",
      description = "Videos per forward pass (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|bf16|int8",
      description = "Number format of the models, as for predict (default: ${DEFAULT-VALUE}).")
  String precision;

  /**
   * Where the validation videos come from: a dataset and the split's ratio and seed, or the fold
   * of a k-fold run (folds and fold both null otherwise).
   */
  private record Held(Path data, double ratio, long seed, Integer folds, Integer fold) {
    ValidationSplit split(Dataset dataset) {
      return folds == null ? dataset.validationSplit(ratio, seed)
          : dataset.foldSplit(folds, fold, seed);
    }

    String describe() {
      return folds == null ? "ratio " + ratio + ", seed " + seed
          : "fold " + fold + " of " + folds + ", seed " + seed;
    }
  }

  @Override
  public Integer call() {
    runtime.start();
    if (batchSize < 1) {
      throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
    }
    if (kfold != null) {
      return fitOutOfFold();
    }
    if (models.isEmpty()) {
      throw new IllegalArgumentException("give --model (the models to fit for) or --kfold");
    }
    Held held = heldOut();
    VideoClassifier.Options options = VideoClassifier.Options.defaults()
        .withDevice(runtime.deviceSpec())
        .withPrecision(Precision.parse(precision))
        .withFuse(Fuse.parse(fuse));
    List<EnsembleMember> members = models.stream().map(EnsembleMember::parse).toList();
    CategoryMap categories = CategoryMap.official();
    try {
      Dataset dataset = Dataset.at(held.data());
      ValidationSplit split = held.split(dataset);
      if (split.validation().isEmpty()) {
        throw new IllegalArgumentException("the validation part of " + split.training().size()
            + " labeled videos (" + held.describe() + ") is empty");
      }
      TailAdjustment.Fit fit;
      try (VideoClassifier classifier = VideoClassifier.open(members, options)) {
        fit = TailAdjustment.fitOnValidation(classifier, dataset, split, batchSize, categories);
      }
      fit.write(out);
      report(fit, String.format(Locale.ROOT, "%d validation videos (%s%s), %d training videos",
          split.validation().size(), held.describe(),
          runs.isEmpty() ? "" : " from the run's options", split.training().size()));
      return 0;
    } catch (DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /**
   * Fits on a k-fold's out-of-fold logits, against the counts of every labeled video: each
   * fold's model trained on (K - 1) / K of them, a scale that the multiplier fit absorbs and
   * logit adjustment ignores.
   */
  private int fitOutOfFold() {
    ResumeOptions.refuseAllBut(spec, Set.of("--kfold", "--out", "--threads", "--device"),
        "--kfold fits on the k-fold's own logits and videos");
    try {
      KFold.OutOfFold oof = KFold.read(kfold);
      List<VideoAnnotation> labeled = oof.videos();
      List<String> ids = oof.videoIds();
      CategoryMap categories = CategoryMap.official();
      TailAdjustment.Fit fit = TailAdjustment.fit(new SplitLogits(ids, oof.classes(),
          oof.logits()), labeled.stream().mapToInt(categories::lv2Of).toArray(),
          categories.lv2Counts(labeled), categories);
      fit.write(out);
      report(fit, String.format(Locale.ROOT, "%d out-of-fold videos (%d folds of %s)",
          ids.size(), oof.folds(), oof.data()));
      return 0;
    } catch (DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private void report(TailAdjustment.Fit fit, String videos) {
    PrintWriter printer = spec.commandLine().getOut();
    printer.println(videos);
    printer.println("                     lv1 micro  lv1 macro  lv2 micro  lv2 macro  mean F1");
    print(printer, "before (none)", fit.before());
    print(printer, "after (" + fit.adjustment() + ")", fit.after());
    printer.printf(Locale.ROOT, "wrote %s (best of %d settings)%n", out, fit.candidates().size());
    printer.flush();
  }

  /**
   * The runs' dataset, ratio and seed (each option given beside them must agree), or the options
   * themselves with the training defaults.
   */
  private Held heldOut() {
    if (runs.isEmpty()) {
      if (data == null) {
        throw new IllegalArgumentException("give --run (the training run of the models) or --data");
      }
      return new Held(data, valRatio != null ? valRatio : TrainOptions.DEFAULT_VALIDATION_RATIO,
          seed != null ? seed : TrainOptions.DEFAULT_SEED, null, null);
    }
    Held held = null;
    for (Path run : runs) {
      TrainOptions options = Trainer.readOptions(run);
      Held fromRun = new Held(options.data().directory(), options.data().validationRatio(),
          options.seed(), options.data().folds(), options.data().fold());
      if (held != null && !held.equals(fromRun)) {
        throw new IllegalArgumentException("the runs hold out different videos: " + runs.get(0)
            + " " + describe(held) + ", " + run + " " + describe(fromRun));
      }
      held = fromRun;
    }
    requireSame("--data", data, held.data(),
        (a, b) -> a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize()));
    requireSame("--val-ratio", valRatio, held.ratio(), Double::equals);
    requireSame("--seed", seed, held.seed(), Long::equals);
    return held;
  }

  private <T> void requireSame(String option, T given, T fromRun, BiPredicate<T, T> same) {
    if (given != null && !same.test(given, fromRun)) {
      throw new IllegalArgumentException(option + " " + given + " differs from the run's " + fromRun
          + ": the adjustment would be fitted on other videos than the run held out; drop "
          + option);
    }
  }

  private static String describe(Held held) {
    return "(data " + held.data() + ", " + held.describe() + ")";
  }

  private static void print(PrintWriter printer, String label, OfficialScore s) {
    printer.printf(Locale.ROOT, "%-28s %9.4f  %9.4f  %9.4f  %9.4f  %7.4f%n", label,
        s.lv1MicroF1(), s.lv1MacroF1(), s.lv2MicroF1(), s.lv2MacroF1(), s.mean());
  }
}

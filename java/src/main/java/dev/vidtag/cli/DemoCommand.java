package dev.vidtag.cli;

import dev.vidtag.data.AnnotationReader;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.eval.Evaluation;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.eval.ResultFile;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.SplitLogits;
import dev.vidtag.infer.TailAdjustment;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.train.CheckpointAverage;
import dev.vidtag.train.ParameterGroups;
import dev.vidtag.train.Trainer;
import dev.vidtag.train.Validation;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The whole pipeline on data it generates itself: a synthetic dataset in the official layout, a
 * small single-stream and a small double-stream model fine-tuned with EMA and PGD, SWA of each
 * run's best checkpoints (kept when it scores at least the best checkpoint on validation), a tail-class adjustment fitted on the validation split, the ensemble's
 * prediction of the test split, and the official score of every stage against the held-out
 * truth, in one table with the wall time of each stage.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Generates a dataset, trains a single- and a double-stream model (EMA, PGD, "
        + "SWA), fits the tail adjustment, predicts the test split with the ensemble and scores "
        + "each stage.")
final class DemoCommand implements Callable<Integer> {
  private static final int FEATURE_DIM = 64;
  private static final int BATCH = 32;
  private static final int SWA_TOP = 3;

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

  private final List<String[]> stages = new ArrayList<>();
  private final List<String[]> scores = new ArrayList<>();

  @Override
  public Integer call() throws IOException {
    runtime.start();
    if (labeled < 200 || test < 1 || epochs < 1) {
      throw new IllegalArgumentException("the demo needs --labeled >= 200, --test >= 1 and "
          + "--epochs >= 1");
    }
    Path root = out != null ? out : Files.createTempDirectory("vidtag-demo-");
    if (Files.exists(root.resolve("data")) || Files.exists(root.resolve("runs"))) {
      throw new IllegalArgumentException(root + " already holds a demo; choose another --out");
    }
    PrintWriter printer = spec.commandLine().getOut();
    printer.println("vidtag demo: working in " + root);
    printer.flush();

    Path data = root.resolve("data");
    long start = System.nanoTime();
    new SyntheticDataset(new SyntheticDataset.Options(labeled, 0, test, FEATURE_DIM,
        SyntheticDataset.FrameKind.NPY, seed))
        .write(data, (directory, config, s) -> HuggingFaceBert.writeRandomWeights(directory, s));
    stage(String.format(Locale.ROOT, "synthetic dataset (%d labeled, %d test videos)", labeled,
        test), start);

    CategoryMap categories = CategoryMap.official();
    Path truth = data.resolve("truth_test_a.csv");
    List<VideoAnnotation> testVideos =
        AnnotationReader.readAll(data.resolve("annotations/test_a.json"), false);
    List<List<VideoAnnotation>> split = Trainer.split(
        AnnotationReader.readAll(data.resolve("annotations/labeled.json"), true), 0.1, seed);
    int[] trainCounts = TailAdjustment.classCounts(split.get(0), categories);
    score("always the most frequent training class",
        Evaluation.of(truthLv2(testVideos, truth, categories),
            constant(testVideos.size(), argmax(trainCounts)), categories).score());

    Map<Architecture, Path> models = new HashMap<>();
    for (Architecture arch : List.of(Architecture.SINGLE, Architecture.DOUBLE)) {
      String name = arch == Architecture.SINGLE ? "single" : "double";
      Path run = root.resolve("runs").resolve(name);
      start = System.nanoTime();
      Trainer.Result result = new Trainer(trainerOptions(data, arch, run)).run();
      stage(String.format(Locale.ROOT, "train %s stream (%d steps, EMA, PGD K=3)", name,
          result.steps()), start);

      start = System.nanoTime();
      Path swa = root.resolve("models").resolve(name + "-swa");
      List<CheckpointAverage.Checkpoint> ranked = CheckpointAverage.ranked(run);
      List<CheckpointAverage.Checkpoint> top = ranked.subList(0, Math.min(SWA_TOP, ranked.size()));
      VideoClassifierModel average = CheckpointAverage.average(top);
      Path temporary = swa.resolveSibling("." + swa.getFileName() + ".partial");
      ModelDirectory.save(temporary, average, top.get(0).directory());
      AtomicFiles.moveIntoPlace(temporary, swa);
      OfficialScore swaValidation = Validation.ofRun(run, average, swa, 1);
      stage(String.format(Locale.ROOT, "SWA of the %s run's %d best checkpoints", name,
          top.size()), start);
      // the average pays when the checkpoints are near one optimum; in a short run that is still
      // improving it mixes in weaker ones, so validation decides, as it would for a submission
      boolean useSwa = swaValidation.mean() >= result.bestScore().mean();
      Path model = useSwa ? swa : result.best();
      String kept = useSwa ? "SWA of " + top.size() : "best checkpoint";
      printer.printf(Locale.ROOT, "%s stream: validation mean F1 %.4f best checkpoint, %.4f SWA "
          + "of its %d best: keeping the %s%n", name, result.bestScore().mean(),
          swaValidation.mean(), top.size(), useSwa ? "average" : "best checkpoint");
      printer.flush();
      models.put(arch, model);
      score(name + " stream (" + kept + ")", predictAndScore(List.of(EnsembleMember.of(model)),
          null, data, root.resolve("result-" + name + ".csv"), truth, categories));
    }

    List<EnsembleMember> ensemble = List.of(EnsembleMember.of(models.get(Architecture.SINGLE)),
        EnsembleMember.of(models.get(Architecture.DOUBLE)));
    score("ensemble of both (mean of logits)", predictAndScore(ensemble, null, data,
        root.resolve("result-ensemble.csv"), truth, categories));

    start = System.nanoTime();
    TailAdjustment.Fit fit;
    try (VideoClassifier classifier = VideoClassifier.open(ensemble,
        VideoClassifier.Options.defaults())) {
      fit = TailAdjustment.fitOnValidation(classifier, data, split.get(0), split.get(1), 64,
          categories);
    }
    fit.write(root.resolve("tail-adjustment.json"));
    stage("fit the tail adjustment on the validation split", start);
    printer.printf(Locale.ROOT, "tail adjustment: %s; validation mean F1 %.4f before, %.4f after%n",
        fit.adjustment(), fit.before().mean(), fit.after().mean());
    score("ensemble + tail adjustment", predictAndScore(ensemble, fit.adjustment(), data,
        root.resolve("result.csv"), truth, categories));

    printTables(printer, root);
    return 0;
  }

  private Trainer.Options trainerOptions(Path data, Architecture arch, Path run) {
    Trainer.Options d = Trainer.Options.defaults(data, arch, data.resolve("text-model"), run);
    long stepsPerEpoch = (labeled - Math.round(0.1 * labeled)) / BATCH;
    long evalEvery = Math.max(1, stepsPerEpoch / 2);
    // PGD radii scaled to the tiny text model: its word embeddings have norms of about 0.16 per
    // token, where the reference's epsilon 1.0 was sized for BERT-base's
    return new Trainer.Options(data, arch, d.textModel(), run, epochs, BATCH, 8, 64,
        new ParameterGroups.LearningRates(1e-3, 2e-3, 2e-3), d.warmupFraction(), 0.99,
        Trainer.AdversaryKind.PGD, 0, 3, 0.05, 0.02, d.fgmEpsilon(), evalEvery, evalEvery, 0.1,
        seed, 1, 0.0, d.pooling(), d.stateEvery(), null);
  }

  /** Predicts the test split, writes the result file and scores it as vidtag evaluate does. */
  private OfficialScore predictAndScore(List<EnsembleMember> members, TailAdjustment tail,
      Path data, Path result, Path truth, CategoryMap categories) {
    long start = System.nanoTime();
    SplitLogits logits;
    try (VideoClassifier classifier = VideoClassifier.open(members,
        VideoClassifier.Options.defaults())) {
      logits = classifier.logits(data, "test_a", 64);
    }
    int[] predicted = tail == null ? logits.argmax() : tail.predict(logits);
    ResultFile.write(result, logits.videoIds(), predicted, categories);
    stage("predict the test split -> " + result.getFileName(), start);
    return Evaluation.of(result, truth, categories).score();
  }

  private void stage(String name, long startNanos) {
    stages.add(new String[] {name,
        String.format(Locale.ROOT, "%.1f", (System.nanoTime() - startNanos) / 1e9)});
  }

  private void score(String name, OfficialScore s) {
    scores.add(new String[] {name, format(s.mean()), format(s.lv1MicroF1()),
        format(s.lv1MacroF1()), format(s.lv2MicroF1()), format(s.lv2MacroF1())});
  }

  private void printTables(PrintWriter printer, Path root) {
    printer.println();
    printer.printf("%-52s %9s%n", "stage", "seconds");
    double total = 0;
    for (String[] stage : stages) {
      printer.printf("%-52s %9s%n", stage[0], stage[1]);
      total += Double.parseDouble(stage[1]);
    }
    printer.printf(Locale.ROOT, "%-52s %9.1f%n", "total", total);
    printer.println();
    printer.printf("%-52s %8s %8s %8s %8s %8s%n", "test split (" + test + " videos)", "mean F1",
        "lv1 mic", "lv1 mac", "lv2 mic", "lv2 mac");
    for (String[] row : scores) {
      printer.printf("%-52s %8s %8s %8s %8s %8s%n", (Object[]) row);
    }
    printer.println();
    printer.println("submission: " + root.resolve("result.csv") + " (check it with: vidtag "
        + "evaluate --pred " + root.resolve("result.csv") + " --truth "
        + root.resolve("data/truth_test_a.csv") + ")");
    printer.flush();
  }

  /** The true lv2 of each test video, from the truth file, in annotation order. */
  private static int[] truthLv2(List<VideoAnnotation> videos, Path truth, CategoryMap categories) {
    Map<String, Integer> byId = new HashMap<>();
    for (ResultFile.Entry e : ResultFile.read(truth, categories)) {
      byId.put(e.videoId(), categories.lv2Index(e.categoryId()).getAsInt());
    }
    return videos.stream().mapToInt(v -> byId.get(v.id())).toArray();
  }

  private static int argmax(int[] values) {
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      best = values[i] > values[best] ? i : best;
    }
    return best;
  }

  private static int[] constant(int n, int value) {
    int[] out = new int[n];
    Arrays.fill(out, value);
    return out;
  }

  private static String format(double value) {
    return String.format(Locale.ROOT, "%.4f", value);
  }
}

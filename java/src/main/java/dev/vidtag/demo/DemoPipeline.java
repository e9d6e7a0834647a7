package dev.vidtag.demo;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.data.ValidationSplit;
import dev.vidtag.eval.Evaluation;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.eval.ResultFile;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.SplitLogits;
import dev.vidtag.infer.TailAdjustment;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.train.CheckpointAverage;
import dev.vidtag.train.ParameterGroups.LearningRates;
import dev.vidtag.train.TrainOptions;
import dev.vidtag.train.Trainer;
import dev.vidtag.train.Validation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The whole pipeline on data it generates itself, as a library: a synthetic dataset in the
 * official layout, a small single-stream and a small double-stream model fine-tuned with EMA,
 * SWA of each run's best checkpoints (kept when it scores at least the best checkpoint on
 * validation), a tail-class adjustment fitted on the validation split, the ensemble's prediction
 * of the test split, and the official score of every stage against the held-out truth, with the
 * wall time of each stage. {@code vidtag demo} prints its {@link Report}.
 */
public final class DemoPipeline {
  /** Frame features are this wide: small, so that the demo is quick. */
  public static final int FEATURE_DIM = 64;
  private static final int BATCH = 32;
  private static final int SWA_TOP = 3;
  private static final int PREDICT_BATCH = 64;
  private static final String TEST = "test_a";

  /**
   * What the demo runs on.
   *
   * @param root where the dataset, runs, models and results go (must not hold a demo yet)
   * @param labeled labeled videos to generate (at least 200)
   * @param test test videos to generate
   * @param epochs fine-tuning epochs per model
   * @param seed the seed of the data, the split and the training
   */
  public record Options(Path root, int labeled, int test, int epochs, long seed) {
    public Options {
      if (labeled < 200 || test < 1 || epochs < 1) {
        throw new IllegalArgumentException("the demo needs --labeled >= 200, --test >= 1 and "
            + "--epochs >= 1");
      }
    }
  }

  /** A stage and its wall time. */
  public record Stage(String name, double seconds) {}

  /** What a stage scored on the test split. */
  public record Score(String name, OfficialScore score) {}

  /** Everything the demo did: its stages, its scores, and the submission it wrote. */
  public record Report(Path root, List<Stage> stages, List<Score> scores, Path submission,
      Path truth) {
    public double seconds() {
      return stages.stream().mapToDouble(Stage::seconds).sum();
    }
  }

  /** Hears of each stage as it ends, and of each choice the demo makes. */
  public interface Listener {
    void stage(Stage stage);

    void note(String line);
  }

  private final Options options;
  private final Listener listener;
  private final List<Stage> stages = new ArrayList<>();
  private final List<Score> scores = new ArrayList<>();
  private final CategoryMap categories = CategoryMap.official();

  private DemoPipeline(Options options, Listener listener) {
    this.options = options;
    this.listener = listener;
  }

  /** Runs the whole demo in {@code options.root()}. */
  public static Report run(Options options, Listener listener) {
    return new DemoPipeline(options, listener).run();
  }

  private Report run() {
    Path root = options.root();
    if (Files.exists(root.resolve("data")) || Files.exists(root.resolve("runs"))) {
      throw new IllegalArgumentException(root + " already holds a demo; choose another --out");
    }
    Path data = root.resolve("data");
    stage(String.format(Locale.ROOT, "synthetic dataset (%d labeled, %d test videos)",
        options.labeled(), options.test()), () -> new SyntheticDataset(
            new SyntheticDataset.Options(options.labeled(), 0, options.test(), FEATURE_DIM,
                SyntheticDataset.FrameKind.NPY, options.seed()))
            .write(data, (directory, config, s) -> HuggingFaceBert.writeRandomWeights(directory, s)));
    Dataset dataset = Dataset.at(data);
    ValidationSplit split = dataset.validationSplit(TrainOptions.DEFAULT_VALIDATION_RATIO,
        options.seed());
    Path truth = dataset.truthFile(TEST);
    int[] truthLv2 = ResultFile.read(truth, categories).stream()
        .mapToInt(e -> categories.lv2Index(e.categoryId()).getAsInt()).toArray();
    scores.add(new Score("always the most frequent training class",
        OfficialScore.majorityBaseline(categories.lv2Counts(split.training()), truthLv2,
            categories)));

    List<EnsembleMember> ensemble = new ArrayList<>();
    List<SplitLogits> testLogits = new ArrayList<>();
    for (Architecture arch : List.of(Architecture.SINGLE, Architecture.DOUBLE)) {
      Chosen chosen = trainAndAverage(data, arch);
      EnsembleMember member = EnsembleMember.of(chosen.model());
      ensemble.add(member);
      String result = "result-" + arch.configName() + ".csv";
      SplitLogits logits = stage("predict the test split -> " + result,
          () -> testLogits(member, dataset));
      testLogits.add(logits);
      scores.add(new Score(arch.configName() + " stream (" + chosen.kept() + ")",
          submit(logits, null, dataset, root.resolve(result))));
    }
    // the members' logits fused as a classifier of both would fuse them, so neither runs again
    SplitLogits fused = VideoClassifier.Options.defaults().fuse().combineLogits(testLogits,
        ensemble.stream().mapToDouble(EnsembleMember::weight).toArray());
    scores.add(new Score("ensemble of both (mean of logits)",
        submit(fused, null, dataset, root.resolve("result-ensemble.csv"))));

    TailAdjustment.Fit fit = stage("fit the tail adjustment on the validation split", () -> {
      try (VideoClassifier classifier = VideoClassifier.open(ensemble,
          VideoClassifier.Options.defaults())) {
        return TailAdjustment.fitOnValidation(classifier, dataset, split, PREDICT_BATCH,
            categories);
      }
    });
    fit.write(root.resolve("tail-adjustment.json"));
    listener.note(String.format(Locale.ROOT, "tail adjustment: %s; validation mean F1 %.4f "
        + "before, %.4f after", fit.adjustment(), fit.before().mean(), fit.after().mean()));
    Path submission = root.resolve("result.csv");
    scores.add(new Score("ensemble + tail adjustment",
        submit(fused, fit.adjustment(), dataset, submission)));
    return new Report(root, List.copyOf(stages), List.copyOf(scores), submission, truth);
  }

  /** The model directory a run contributes, and what it is. */
  private record Chosen(Path model, String kept) {}

  /**
   * Fine-tunes one architecture and averages its best checkpoints; chooses what validation
   * prefers, the average or the best checkpoint.
   */
  private Chosen trainAndAverage(Path data, Architecture arch) {
    String name = arch.configName();
    Path run = options.root().resolve("runs").resolve(name);
    TrainOptions trainOptions = trainOptions(data, arch, run);
    Timed<Trainer.Result> trained = time(() -> new Trainer(trainOptions).run());
    Trainer.Result result = trained.value();
    record(String.format(Locale.ROOT, "train %s stream (%d steps, EMA)", name,
        result.steps()), trained.seconds());

    Path swa = options.root().resolve("models").resolve(name + "-swa");
    List<CheckpointAverage.Checkpoint> ranked = CheckpointAverage.ranked(run);
    List<CheckpointAverage.Checkpoint> top = ranked.subList(0, Math.min(SWA_TOP, ranked.size()));
    OfficialScore swaValidation = stage(String.format(Locale.ROOT,
        "SWA of the %s run's %d best checkpoints", name, top.size()),
        () -> Validation.ofRun(run, CheckpointAverage.saveAverage(top, swa), swa, 1));
    // the average pays when the checkpoints are near one optimum; in a short run that is still
    // improving it mixes in weaker ones, so validation decides, as it would for a submission
    boolean useSwa = swaValidation.mean() >= result.bestScore().mean();
    listener.note(String.format(Locale.ROOT, "%s stream: validation mean F1 %.4f best "
        + "checkpoint, %.4f SWA of its %d best: keeping the %s", name,
        result.bestScore().mean(), swaValidation.mean(), top.size(),
        useSwa ? "average" : "best checkpoint"));
    return useSwa ? new Chosen(swa, "SWA of " + top.size())
        : new Chosen(result.best(), "best checkpoint");
  }

  private TrainOptions trainOptions(Path data, Architecture arch, Path run) {
    long stepsPerEpoch = ValidationSplit.trainingCount(options.labeled(),
        TrainOptions.DEFAULT_VALIDATION_RATIO) / BATCH;
    long evalEvery = Math.max(1, stepsPerEpoch / 2);
    // Tuned for a short first run on the default dataset, single stream measured: three epochs
    // leave these tiny models underfit, so dropout only holds them back (validation mean F1 0.83
    // without, 0.81 with) and PGD K=3 made the run about 2.7 times as long for no gain (0.6654
    // with, 0.6652 without); they also take larger learning rates than the reference's.
    return TrainOptions.builder(data, arch, data.resolve(SyntheticDataset.TEXT_MODEL), run)
        .epochs(options.epochs()).batchSize(BATCH).maxFrames(8).maxText(64)
        .learningRates(new LearningRates(2e-3, 4e-3, 4e-3)).emaDecay(0.99).dropout(0)
        .adversary(TrainOptions.AdversaryKind.NONE).evaluateEvery(evalEvery)
        .evaluateFrom(evalEvery).seed(options.seed()).build();
  }

  /** One member's logits of the test split. */
  private static SplitLogits testLogits(EnsembleMember member, Dataset dataset) {
    try (VideoClassifier classifier = VideoClassifier.open(List.of(member),
        VideoClassifier.Options.defaults())) {
      return classifier.logits(dataset, TEST, PREDICT_BATCH);
    }
  }

  /** Writes the result file of test logits and scores it as vidtag evaluate does. */
  private OfficialScore submit(SplitLogits logits, TailAdjustment tail, Dataset dataset,
      Path result) {
    ResultFile.write(result, logits.videoIds(),
        tail == null ? logits.argmax() : tail.predict(logits), categories);
    return Evaluation.of(result, dataset.truthFile(TEST), categories).score();
  }

  private record Timed<T>(T value, double seconds) {}

  private static <T> Timed<T> time(Supplier<T> work) {
    long start = System.nanoTime();
    T value = work.get();
    return new Timed<>(value, (System.nanoTime() - start) / 1e9);
  }

  /** Runs a stage and records its wall time under {@code name}. */
  private <T> T stage(String name, Supplier<T> work) {
    Timed<T> timed = time(work);
    record(name, timed.seconds());
    return timed.value();
  }

  private void record(String name, double seconds) {
    Stage stage = new Stage(name, seconds);
    stages.add(stage);
    listener.stage(stage);
  }
}

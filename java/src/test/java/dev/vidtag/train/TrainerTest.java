package dev.vidtag.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.data.AnnotationReader;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.data.ValidationSplit;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.runtime.TorchRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fine-tuning a tiny single-stream model on a generated dataset, end to end. */
class TrainerTest {
  @TempDir static Path dir;
  static Path data;

  @BeforeAll
  static void generate() {
    TorchRuntime.initialize();
    data = dir.resolve("data");
    new SyntheticDataset(new SyntheticDataset.Options(3000, 0, 0, 32,
        SyntheticDataset.FrameKind.NPY, 7))
        .write(data, (directory, config, seed) -> HuggingFaceBert.writeRandomWeights(directory, seed));
  }

  private static TrainOptions options(Path out, TrainOptions.AdversaryKind adversary,
      int epochs) {
    return TrainOptions.builder(data, Architecture.SINGLE, data.resolve("text-model"), out)
        .epochs(epochs).batchSize(32).maxFrames(8).maxText(48)
        .learningRates(new ParameterGroups.LearningRates(1e-3, 2e-3, 2e-3)).emaDecay(0.99)
        .adversary(adversary).pgdSteps(2).pgdEpsilon(0.05).pgdAlpha(0.02).fgmEpsilon(0.05)
        .evaluateEvery(40).evaluateFrom(40).build();
  }

  /** The majority class of the training part, scored on the validation part. */
  private static OfficialScore majorityBaseline(double valRatio, long seed) {
    CategoryMap categories = CategoryMap.official();
    List<VideoAnnotation> labeled =
        AnnotationReader.readAll(data.resolve("annotations/labeled.json"), true);
    ValidationSplit split = ValidationSplit.of(labeled, valRatio, seed);
    int[] counts = new int[categories.size()];
    for (VideoAnnotation v : split.training()) {
      counts[categories.lv2Index(v.categoryId().orElseThrow()).getAsInt()]++;
    }
    int majority = 0;
    for (int c = 1; c < counts.length; c++) {
      majority = counts[c] > counts[majority] ? c : majority;
    }
    List<VideoAnnotation> validation = split.validation();
    int[] truth = new int[validation.size()];
    int[] predicted = new int[validation.size()];
    for (int i = 0; i < truth.length; i++) {
      truth[i] = categories.lv2Index(validation.get(i).categoryId().orElseThrow()).getAsInt();
      predicted[i] = majority;
    }
    return OfficialScore.of(truth, predicted, categories);
  }

  @Test
  void learnsFarAboveTheMajorityClassAndKeepsLoadableCheckpoints() throws Exception {
    Path out = dir.resolve("run-pgd");
    Trainer.Result result = new Trainer(options(out, TrainOptions.AdversaryKind.PGD, 4)).run();

    OfficialScore majority = majorityBaseline(0.1, 2022);
    assertEquals(majority, result.majorityBaseline());
    assertTrue(result.bestScore().mean() > majority.mean() + 0.15,
        "best " + result.bestScore() + " against majority " + majority);
    assertEquals(4 * (2700 / 32), result.steps());

    List<Path> checkpoints;
    try (Stream<Path> listing = Files.list(out.resolve("checkpoints"))) {
      checkpoints = listing.sorted().toList();
    }
    assertEquals(List.of("step-000040", "step-000080", "step-000120", "step-000160",
        "step-000200", "step-000240", "step-000280", "step-000320", "step-000336"),
        checkpoints.stream().map(p -> p.getFileName().toString().substring(0, 11)).toList());
    VideoClassifierModel best = ModelDirectory.load(result.best());
    assertEquals(Architecture.SINGLE, best.config().arch());
    assertTrue(Files.exists(result.best().resolve("vocab.txt")));
    try (Stream<Path> leftovers = Files.list(out)) {
      assertEquals(List.of(), leftovers.filter(p -> p.getFileName().toString().startsWith("."))
          .toList(), "no partial checkpoint left behind");
    }

    List<JsonNode> evaluations = new ArrayList<>();
    ObjectMapper json = new ObjectMapper();
    for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
      JsonNode record = json.readTree(line);
      if (record.get("kind").asText().equals("eval")) {
        evaluations.add(record);
      }
    }
    assertEquals(9, evaluations.size());
    double bestLogged = evaluations.stream().mapToDouble(e -> e.get("mean_f1").asDouble()).max()
        .orElseThrow();
    assertEquals(result.bestScore().mean(), bestLogged, 1e-12);
    assertTrue(checkpoints.get(checkpoints.size() - 1).getFileName().toString()
        .endsWith(String.format(java.util.Locale.ROOT, "%.4f",
            evaluations.get(evaluations.size() - 1).get("mean_f1").asDouble())));

    // SWA of the two best checkpoints: every weight the mean of theirs
    List<CheckpointAverage.Checkpoint> ranked = CheckpointAverage.ranked(out);
    // the validation split rebuilt from options.json scores a checkpoint as the run named it
    Path top = ranked.get(0).directory();
    assertEquals(ranked.get(0).score(),
        Validation.ofRun(out, ModelDirectory.load(top), top, 1).mean(), 5.001e-5);
    assertTrue(ranked.get(0).score() >= ranked.get(1).score());
    VideoClassifierModel average = CheckpointAverage.average(ranked.subList(0, 2));
    Map<String, Tensor> first = StateDicts.parameters(ModelDirectory.load(ranked.get(0).directory()));
    Map<String, Tensor> second = StateDicts.parameters(ModelDirectory.load(ranked.get(1).directory()));
    for (Map.Entry<String, Tensor> e : StateDicts.parameters(average).entrySet()) {
      Tensor expected = first.get(e.getKey()).add(second.get(e.getKey())).div(new Scalar(2.0));
      double scale = expected.abs().max().item_double();
      double diff = e.getValue().sub(expected).abs().max().item_double();
      assertTrue(diff <= 1e-6 * Math.max(scale, 1e-30), e.getKey() + ": " + diff);
    }
  }

  @Test
  void dropoutOptionReachesEveryBlockAndOlderRunsReadWithout() throws Exception {
    Path out = dir.resolve("run-no-dropout");
    TrainOptions options = TrainOptions.builder(data, Architecture.DOUBLE,
        data.resolve("text-model"), out).epochs(1).batchSize(64).maxFrames(4).maxText(16)
        .adversary(TrainOptions.AdversaryKind.NONE).dropout(0).evaluateEvery(1_000)
        .evaluateFrom(1_000).build();
    Trainer.Result result = new Trainer(options).run();

    JsonNode textModel = new ObjectMapper().readTree(
        data.resolve("text-model/config.json").toFile());
    assertEquals(0.1, textModel.get("hidden_dropout_prob").asDouble(), "the text model's own");
    ModelConfig trained = ModelDirectory.load(result.best()).config();
    assertEquals(0.0, trained.textEncoder().hiddenDropoutProb());
    assertEquals(0.0, trained.textEncoder().attentionProbsDropoutProb());
    assertEquals(0.0, trained.decoder().dropout());

    TrainOptions written = RunDirectory.readOptions(out, TrainOptions.class, "vidtag train");
    assertEquals(0.0, written.model().dropout());
    ObjectMapper json = new ObjectMapper();
    ObjectNode older = (ObjectNode) json.readTree(out.resolve("options.json").toFile());
    ((ObjectNode) older.get("model")).remove("dropout");
    Path olderRun = Files.createDirectories(dir.resolve("older-run"));
    json.writeValue(olderRun.resolve("options.json").toFile(), older);
    assertNull(RunDirectory.readOptions(olderRun, TrainOptions.class, "vidtag train").model()
        .dropout());
  }

  @Test
  void aFoldRunValidatesOnItsStratifiedFold() {
    Path out = dir.resolve("run-fold");
    TrainOptions options = TrainOptions.builder(data, Architecture.SINGLE,
        data.resolve("text-model"), out).epochs(1).batchSize(64).maxFrames(4).maxText(16)
        .adversary(TrainOptions.AdversaryKind.NONE).fold(2, 5).evaluateEvery(1_000)
        .evaluateFrom(1_000).build();
    Trainer.Result result = new Trainer(options).run();

    ValidationSplit fold = Dataset.at(data).foldSplit(5, 2, options.seed());
    assertEquals(600, fold.validation().size(), "3000 labeled videos in five folds");
    CategoryMap categories = CategoryMap.official();
    assertEquals(OfficialScore.majorityBaseline(categories.lv2Counts(fold.training()),
        fold.validation().stream().mapToInt(categories::lv2Of).toArray(), categories),
        result.majorityBaseline(), "scored on the fold, not on a split by ratio");
    assertEquals(2400 / 64, result.steps());
    TrainOptions written = RunDirectory.readOptions(out, TrainOptions.class, "vidtag train");
    assertEquals(5, written.data().folds());
    assertEquals(2, written.data().fold());
    assertEquals(result.bestScore().mean(),
        Validation.ofRun(out, ModelDirectory.load(result.best()), result.best(), 1).mean(),
        5.001e-5, "SWA and tail-fit score the same fold");
  }
}

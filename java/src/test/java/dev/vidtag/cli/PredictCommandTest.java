package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.cli.CommandLineRunner.Output;
import dev.vidtag.data.AnnotationReader;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.FrameFeatures;
import dev.vidtag.data.NpyReader;
import dev.vidtag.data.SoftLabelFile;
import dev.vidtag.data.ValidationSplit;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.infer.EnsembleFile;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Fuse;
import dev.vidtag.infer.SplitLogits;
import dev.vidtag.infer.TailAdjustment;
import dev.vidtag.infer.TinyModels;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.Pooling;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** vidtag predict and tail-fit on a generated dataset with two tiny models. */
class PredictCommandTest {
  @TempDir static Path dir;
  static Path data;
  static Path single;
  static Path doubleStream;
  static final CategoryMap CATEGORIES = CategoryMap.official();

  @BeforeAll
  static void setUp() {
    TorchRuntime.initialize();
    data = dir.resolve("data");
    Output synth = CommandLineRunner.run("synth", "--out", data.toString(), "--labeled", "200",
        "--unlabeled", "0", "--test", "30", "--feature-dim", "16", "--seed", "3");
    assertEquals(0, synth.exitCode(), synth.err());
    single = TinyModels.modelDirectory(dir.resolve("single"), data, Architecture.SINGLE,
        Pooling.MEAN_MASKED, 8, 32, 1);
    doubleStream = TinyModels.modelDirectory(dir.resolve("double"), data, Architecture.DOUBLE,
        Pooling.MEAN_ALL, 8, 32, 2);
  }

  private static List<EnsembleMember> ensemble() {
    return List.of(new EnsembleMember(single, 0.4), new EnsembleMember(doubleStream, 0.6));
  }

  @Test
  void ensemblePredictionPassesTheOfficialScorerAndWritesTheFusedLogits() throws IOException {
    Path result = dir.resolve("out/result.csv");
    Path logitsFile = dir.resolve("out/logits.npy");
    Output out = CommandLineRunner.run("predict", "--data", data.toString(), "--split", "test_a",
        "--model", single + "=0.4", "--model", doubleStream + "=0.6", "--out", result.toString(),
        "--logits-out", logitsFile.toString(), "--batch-size", "8", "--threads", "2");
    assertEquals(0, out.exitCode(), out.err());
    assertTrue(out.out().matches("(?s).*30 videos of test_a .*2 models, fuse logits, fp32, "
        + "fixed padding.*throughput: [0-9.]+ videos/s.*"), out.out());

    List<String> ids = AnnotationReader.readAll(data.resolve("annotations/test_a.json"), false)
        .stream().map(VideoAnnotation::id).toList();
    List<String> lines = Files.readAllLines(result);
    assertEquals(ids, lines.stream().map(l -> l.split(",")[0]).toList(), "annotation order");

    Output score = CommandLineRunner.run("evaluate", "--pred", result.toString(), "--truth",
        data.resolve("truth_test_a.csv").toString());
    assertEquals(0, score.exitCode(), score.err());
    assertTrue(new ObjectMapper().readTree(score.out()).has("mean_f1"), score.out());

    ByteBuffer npy = ByteBuffer.wrap(Files.readAllBytes(logitsFile));
    FrameFeatures logits = NpyReader.read(npy, logitsFile, null, true);
    assertEquals(FrameFeatures.ElementType.FLOAT32, logits.type());
    assertEquals(30, logits.frames());
    assertEquals(200, logits.dim());
    float[] written = new float[30 * 200];
    logits.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(written);
    try (VideoClassifier classifier = VideoClassifier.open(ensemble(),
        VideoClassifier.Options.defaults())) {
      SplitLogits expected = classifier.logits(Dataset.at(data), "test_a", 8);
      assertArrayEquals(expected.values(), written, 0f);
      int[] predicted = expected.argmax();
      for (int i = 0; i < ids.size(); i++) {
        assertEquals(ids.get(i) + "," + CATEGORIES.categoryId(predicted[i]), lines.get(i));
      }
    }
  }

  @Test
  void shardsPredictedApartMergeIntoTheWholeSplitsResult() throws IOException {
    Path whole = dir.resolve("shards/whole.csv");
    List<String> model = List.of("--data", data.toString(), "--model", single + "=0.4",
        "--model", doubleStream + "=0.6", "--batch-size", "4", "--threads", "1");
    Output all = CommandLineRunner.run(concat(List.of("predict", "--out", whole.toString()), model));
    assertEquals(0, all.exitCode(), all.err());
    List<String> merge = new java.util.ArrayList<>(List.of("merge-results", "--data",
        data.toString(), "--out", dir.resolve("shards/merged.csv").toString()));
    for (int i = 2; i >= 0; i--) { // given in any order
      Path part = dir.resolve("shards/part-" + i + ".csv");
      Output shard = CommandLineRunner.run(concat(List.of("predict", "--out", part.toString(),
          "--shard", i + "/3"), model));
      assertEquals(0, shard.exitCode(), shard.err());
      assertTrue(shard.out().startsWith("10 videos of test_a (shard " + i + "/3)"), shard.out());
      merge.add(part.toString());
    }
    Output merged = CommandLineRunner.run(merge.toArray(String[]::new));
    assertEquals(0, merged.exitCode(), merged.err());
    assertEquals(Files.readString(whole), Files.readString(dir.resolve("shards/merged.csv")));

    merge.remove(merge.size() - 1);
    Output incomplete = CommandLineRunner.run(merge.toArray(String[]::new));
    assertEquals(2, incomplete.exitCode());
    assertTrue(incomplete.err().contains("10 of the 30 videos of split test_a are in none of the 2 "
        + "parts"), incomplete.err());
    Output badShard = CommandLineRunner.run(concat(List.of("predict", "--out",
        dir.resolve("shards/x.csv").toString(), "--shard", "3/3"), model));
    assertEquals(2, badShard.exitCode());
    assertTrue(badShard.err().contains("I from 0 to N-1, got 3/3"), badShard.err());
  }

  private static String[] concat(List<String> first, List<String> second) {
    return java.util.stream.Stream.concat(first.stream(), second.stream()).toArray(String[]::new);
  }

  @Test
  void tailFitScoresTheTrainingRunsValidationPartAndPredictAppliesIt() throws IOException {
    Path tail = dir.resolve("tail.json");
    Output fit = CommandLineRunner.run("tail-fit", "--data", data.toString(), "--model",
        single + "=0.4", "--model", doubleStream + "=0.6", "--out", tail.toString(),
        "--val-ratio", "0.2", "--seed", "2022", "--threads", "2");
    assertEquals(0, fit.exitCode(), fit.err());
    assertTrue(fit.out().contains("40 validation videos (ratio 0.2, seed 2022), 160 training"),
        fit.out());
    assertTrue(fit.out().contains("before (none)") && fit.out().contains("after ("), fit.out());

    // the validation part and its unadjusted score, rebuilt independently of the command
    List<VideoAnnotation> validation = ValidationSplit.of(
        AnnotationReader.readAll(data.resolve("annotations/labeled.json"), true), 0.2, 2022)
        .validation();
    int[] truth = validation.stream()
        .mapToInt(v -> CATEGORIES.lv2Index(v.categoryId().orElseThrow()).getAsInt()).toArray();
    SplitLogits logits;
    try (VideoClassifier classifier = VideoClassifier.open(ensemble(),
        VideoClassifier.Options.defaults());
         ZipFeatureStore features = ZipFeatureStore.open(data.resolve("zip_feats/labeled.zip"),
             ZipFeatureStore.MissingPolicy.EMPTY)) {
      logits = classifier.logits(validation, features, 16);
    }
    OfficialScore before = OfficialScore.of(truth, logits.argmax(), CATEGORIES);
    JsonNode json = new ObjectMapper().readTree(tail.toFile());
    assertEquals(before.mean(), json.at("/validation/before/mean_f1").asDouble(), 1e-9);
    TailAdjustment adjustment = TailAdjustment.read(tail);
    OfficialScore after = OfficialScore.of(truth, adjustment.predict(logits), CATEGORIES);
    assertEquals(after.mean(), json.at("/validation/after/mean_f1").asDouble(), 1e-9);
    assertTrue(after.mean() >= before.mean());

    Path result = dir.resolve("adjusted.csv");
    Path rawLogits = dir.resolve("adjusted-raw.npy");
    Output predict = CommandLineRunner.run("predict", "--data", data.toString(), "--model",
        single + "=0.4", "--model", doubleStream + "=0.6", "--out", result.toString(),
        "--tail-adjust", tail.toString(), "--logits-out", rawLogits.toString(),
        "--precision", "fp32", "--fuse", "logits");
    assertEquals(0, predict.exitCode(), predict.err());
    FrameFeatures raw = NpyReader.read(ByteBuffer.wrap(Files.readAllBytes(rawLogits)), rawLogits,
        null, true);
    float[] values = new float[raw.frames() * raw.dim()];
    raw.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
    List<String> ids = Files.readAllLines(result).stream().map(l -> l.split(",")[0]).toList();
    int[] expected = adjustment.predict(new SplitLogits(ids, 200, values));
    List<String> lines = Files.readAllLines(result);
    for (int i = 0; i < lines.size(); i++) {
      assertEquals(ids.get(i) + "," + CATEGORIES.categoryId(expected[i]), lines.get(i));
    }
  }

  @Test
  void singleModelInBf16WithProbabilityFusion() {
    Path result = dir.resolve("bf16.csv");
    Output out = CommandLineRunner.run("predict", "--data", data.toString(), "--model",
        single.toString(), "--out", result.toString(), "--precision", "bf16", "--fuse", "probs");
    assertEquals(0, out.exitCode(), out.err());
    assertTrue(out.out().contains("1 model, fuse probs, bf16, dynamic padding"), out.out());
    assertEquals(0, CommandLineRunner.run("evaluate", "--pred", result.toString(), "--truth",
        data.resolve("truth_test_a.csv").toString()).exitCode());
  }

  @Test
  void anEnsembleFilePredictsAsItsMembersGivenByHand() throws IOException {
    Path file = dir.resolve("ensemble.json");
    new EnsembleFile(Fuse.PROBS, ensemble()).write(file, null);
    Path byHand = dir.resolve("by-hand.npy");
    Output hand = CommandLineRunner.run("predict", "--data", data.toString(), "--model",
        single + "=0.4", "--model", doubleStream + "=0.6", "--fuse", "probs", "--out",
        dir.resolve("by-hand.csv").toString(), "--logits-out", byHand.toString());
    assertEquals(0, hand.exitCode(), hand.err());
    Path fromFile = dir.resolve("from-file.npy");
    Output ensembled = CommandLineRunner.run("predict", "--data", data.toString(), "--ensemble",
        file.toString(), "--out", dir.resolve("from-file.csv").toString(), "--logits-out",
        fromFile.toString());
    assertEquals(0, ensembled.exitCode(), ensembled.err());
    assertTrue(ensembled.out().contains("2 models, fuse probs"), ensembled.out());
    assertArrayEquals(Files.readAllBytes(byHand), Files.readAllBytes(fromFile));

    Output both = CommandLineRunner.run("predict", "--data", data.toString(), "--ensemble",
        file.toString(), "--model", single.toString(), "--out", dir.resolve("x.csv").toString());
    assertEquals(2, both.exitCode());
    assertTrue(both.err().contains("not both"), both.err());
    Output fuse = CommandLineRunner.run("predict", "--data", data.toString(), "--ensemble",
        file.toString(), "--fuse", "logits", "--out", dir.resolve("x.csv").toString());
    assertEquals(2, fuse.exitCode());
    assertTrue(fuse.err().contains("drop --fuse"), fuse.err());
  }

  @Test
  void pseudoLabelsAreTheTeachersSoftenedDistributionAndAnInterruptedLabelingContinues()
      throws IOException {
    // the teacher's fused logits, as predict writes them
    Path logitsFile = dir.resolve("teacher.npy");
    Path predicted = dir.resolve("teacher.csv");
    List<String> teacher = List.of("--data", data.toString(), "--split", "test_a", "--model",
        single + "=0.4", "--model", doubleStream + "=0.6");
    Output predict = CommandLineRunner.run(concat(List.of("predict", "--out",
        predicted.toString(), "--logits-out", logitsFile.toString()), teacher));
    assertEquals(0, predict.exitCode(), predict.err());
    FrameFeatures npy = NpyReader.read(ByteBuffer.wrap(Files.readAllBytes(logitsFile)),
        logitsFile, null, true);
    float[] logits = new float[npy.frames() * npy.dim()];
    npy.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(logits);

    Path pseudo = dir.resolve("pseudo");
    Output label = CommandLineRunner.run(concat(List.of("pseudo-label", "--out", pseudo.toString(),
        "--temperature", "2", "--top-k", "5", "--batch-size", "4"), teacher));
    assertEquals(0, label.exitCode(), label.err());
    assertTrue(label.out().startsWith("30 videos of test_a labeled into"), label.out());
    assertEquals(Files.readString(predicted), Files.readString(pseudo.resolve("hard_labels.csv")),
        "the hard labels are the teacher's predictions");
    SoftLabelFile soft = SoftLabelFile.read(pseudo.resolve("soft_labels.bin"));
    assertEquals(30, soft.size());
    for (int v = 0; v < 30; v++) {
      // softmax(logits / 2) by hand
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < 200; c++) {
        max = Math.max(max, logits[v * 200 + c] / 2.0);
      }
      double sum = 0;
      for (int c = 0; c < 200; c++) {
        sum += Math.exp(logits[v * 200 + c] / 2.0 - max);
      }
      double kept = 0;
      for (int r = 0; r < 5; r++) {
        double expected = Math.exp(logits[v * 200 + soft.classAt(v, r)] / 2.0 - max) / sum;
        assertEquals(expected, soft.probabilityAt(v, r), 1e-3 * expected + 1e-6,
            "video " + v + " rank " + r);
        kept += expected;
        if (r > 0) {
          assertTrue(soft.probabilityAt(v, r) <= soft.probabilityAt(v, r - 1));
        }
      }
      assertEquals(1 - kept, soft.restMass(v), 1e-3);
    }
    JsonNode summary = new ObjectMapper().readTree(pseudo.resolve("pseudo.json").toFile());
    assertEquals(5, summary.get("top_k").asInt());
    assertEquals(30, summary.get("summary").get("videos").asInt());

    // interrupted after two videos, in the middle of the third
    Path interrupted = dir.resolve("pseudo-interrupted");
    Files.createDirectories(interrupted);
    Files.copy(pseudo.resolve("labeling.json"), interrupted.resolve("labeling.json"));
    byte[] whole = Files.readAllBytes(pseudo.resolve("soft_labels.bin"));
    Files.write(interrupted.resolve(".soft_labels.bin.partial"),
        java.util.Arrays.copyOf(whole, 16 + 2 * SoftLabelFile.recordBytes(5) + 7));
    Output resumed = CommandLineRunner.run(concat(List.of("pseudo-label", "--out",
        interrupted.toString(), "--temperature", "2", "--top-k", "5", "--batch-size", "4"),
        teacher));
    assertEquals(0, resumed.exitCode(), resumed.err());
    assertTrue(resumed.out().contains("continued after 2"), resumed.out());
    assertArrayEquals(whole, Files.readAllBytes(interrupted.resolve("soft_labels.bin")));

    Path started = dir.resolve("pseudo-started");
    Files.createDirectories(started);
    Files.copy(pseudo.resolve("labeling.json"), started.resolve("labeling.json"));
    Output other = CommandLineRunner.run(concat(List.of("pseudo-label", "--out",
        started.toString(), "--temperature", "2", "--top-k", "4"), teacher));
    assertEquals(2, other.exitCode());
    assertTrue(other.err().contains("started with other settings"), other.err());
    Output mixed = CommandLineRunner.run(concat(List.of("pseudo-label", "--out",
        interrupted.toString(), "--top-k", "5"), teacher));
    assertEquals(2, mixed.exitCode());
    assertTrue(mixed.err().contains("already holds a finished labeling"), mixed.err());
  }

  @Test
  void badArgumentsAreOneLineErrorsAndLeaveNoOutput() {
    Path result = dir.resolve("never.csv");
    Output missing = CommandLineRunner.run("predict", "--data", data.toString(), "--model",
        dir.resolve("no-such-model").toString(), "--out", result.toString());
    assertEquals(2, missing.exitCode(), missing.err());
    assertTrue(missing.err().contains("no-such-model") && missing.err().contains("config.json"),
        missing.err());
    Output precision = CommandLineRunner.run("predict", "--data", data.toString(), "--model",
        single.toString(), "--out", result.toString(), "--precision", "fp16");
    assertEquals(2, precision.exitCode());
    assertTrue(precision.err().contains("fp16"), precision.err());
    Output tail = CommandLineRunner.run("predict", "--data", data.toString(), "--model",
        single.toString(), "--out", result.toString(), "--tail-adjust",
        dir.resolve("missing.json").toString());
    assertEquals(2, tail.exitCode());
    assertTrue(tail.err().contains("missing.json"), tail.err());
    Output split = CommandLineRunner.run("predict", "--data", data.toString(), "--split", "test_b",
        "--model", single.toString(), "--out", result.toString());
    assertEquals(2, split.exitCode());
    assertTrue(split.err().contains("test_b.json"), split.err());
    assertFalse(Files.exists(result));
  }
}

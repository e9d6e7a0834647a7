package dev.vidtag.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.cli.CommandLineRunner;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.FrameFeatures;
import dev.vidtag.data.NpyReader;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.infer.EnsembleFile;
import dev.vidtag.infer.Fuse;
import dev.vidtag.infer.SplitLogits;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** k-fold on a generated dataset: the folds, the out-of-fold logits and continuing a k-fold. */
class KFoldTest {
  private static final int FOLDS = 3;
  private static final int CLASSES = 200;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  static Path data;
  static Path out;
  static KFold.Result result;

  @BeforeAll
  static void generateAndRun() {
    TorchRuntime.initialize();
    data = dir.resolve("data");
    new SyntheticDataset(new SyntheticDataset.Options(480, 0, 0, 32,
        SyntheticDataset.FrameKind.NPY, 5))
        .write(data, (directory, config, seed) -> HuggingFaceBert.writeRandomWeights(directory, seed));
    out = dir.resolve("kfold");
    result = new KFold(new KFold.Options(FOLDS, training(out))).run();
  }

  private static TrainOptions training(Path out) {
    return TrainOptions.builder(data, Architecture.SINGLE, data.resolve("text-model"), out)
        .epochs(1).batchSize(32).maxFrames(4).maxText(16)
        .learningRates(new ParameterGroups.LearningRates(1e-3, 2e-3, 2e-3)).emaDecay(0.9)
        .adversary(TrainOptions.AdversaryKind.NONE).evaluateEvery(5).evaluateFrom(5).build();
  }

  @Test
  void everyVideoGetsTheLogitsOfTheRunThatHeldItOut() throws IOException {
    Dataset dataset = Dataset.at(data);
    List<VideoAnnotation> labeled = dataset.labeledVideos();
    assertEquals(labeled.stream().map(VideoAnnotation::id).toList(), result.videoIds(),
        "annotation order");
    Map<String, Integer> row = new HashMap<>();
    for (int i = 0; i < labeled.size(); i++) {
      row.put(labeled.get(i).id(), i);
    }

    JsonNode folds = JSON.readTree(out.resolve(KFold.FOLDS).toFile());
    assertEquals(FOLDS, folds.get("folds").asInt());
    assertEquals(labeled.size(), folds.get("videos").size());
    Set<String> seen = new HashSet<>();
    List<List<String>> idsOfFold = new ArrayList<>();
    for (int k = 0; k < FOLDS; k++) {
      idsOfFold.add(new ArrayList<>());
    }
    for (JsonNode video : folds.get("videos")) {
      assertTrue(seen.add(video.get("id").asText()), "each video once: " + video);
      idsOfFold.get(video.get("fold").asInt()).add(video.get("id").asText());
    }
    float[] written = readLogits(out.resolve(KFold.OUT_OF_FOLD_LOGITS), labeled.size());
    assertArrayEquals(result.outOfFoldLogits(), written, 0f);

    CategoryMap categories = CategoryMap.official();
    try (ZipFeatureStore features = dataset.openFeatures(Dataset.LABELED)) {
      for (int k = 0; k < FOLDS; k++) {
        List<VideoAnnotation> held = dataset.foldSplit(FOLDS, k, TrainOptions.DEFAULT_SEED)
            .validation();
        assertEquals(held.stream().map(VideoAnnotation::id).toList(), idsOfFold.get(k),
            "fold " + k + " holds out what a train --folds 3 --fold " + k + " validates on");

        // the fold's best model through the inference API, which pads each batch to its
        // longest text instead of the fixed length
        SplitLogits expected;
        try (VideoClassifier classifier = VideoClassifier.open(KFold.directory(out, k)
            .resolve("best"))) {
          expected = classifier.logits(held, features, 7);
        }
        int[] truth = new int[held.size()];
        int[] predicted = new int[held.size()];
        for (int i = 0; i < held.size(); i++) {
          int r = row.get(held.get(i).id());
          assertEquals(k, result.foldOfVideo()[r]);
          float[] ours = new float[CLASSES];
          System.arraycopy(written, r * CLASSES, ours, 0, CLASSES);
          assertArrayEquals(expected.row(i), ours, 2e-5f, held.get(i).id());
          truth[i] = categories.lv2Of(held.get(i));
          predicted[i] = argmax(ours);
        }
        assertEquals(result.folds().get(k).bestScore().mean(),
            OfficialScore.of(truth, predicted, categories).mean(), 5.001e-5,
            "the out-of-fold rows score what the fold's run scored its best checkpoint");
      }
    }

    assertThrows(IllegalArgumentException.class,
        () -> new KFold(new KFold.Options(FOLDS, training(out))).run(),
        "a new k-fold refuses a directory that holds one");
  }

  @Test
  void tailFitTakesTheOutOfFoldLogits() throws IOException {
    KFold.OutOfFold read = KFold.read(out);
    assertEquals(result.videoIds(), read.videoIds());
    assertArrayEquals(result.foldOfVideo(), read.foldOfVideo());
    assertArrayEquals(result.outOfFoldLogits(), read.logits(), 0f);
    assertEquals(data.toAbsolutePath(), read.data().toAbsolutePath());

    Path tail = dir.resolve("tail.json");
    CommandLineRunner.Output fit = CommandLineRunner.run("tail-fit", "--kfold", out.toString(),
        "--out", tail.toString());
    assertEquals(0, fit.exitCode(), fit.err());
    assertTrue(fit.out().startsWith("480 out-of-fold videos (3 folds of "), fit.out());
    String before = fit.out().lines().filter(l -> l.startsWith("before (none)")).findFirst()
        .orElseThrow();
    assertTrue(before.endsWith(String.format(Locale.ROOT, "%.4f",
        result.outOfFoldScore().mean())), "before: the k-fold's out-of-fold score; " + before);
    assertTrue(Files.isRegularFile(tail));

    CommandLineRunner.Output withModel = CommandLineRunner.run("tail-fit", "--kfold",
        out.toString(), "--model", out.resolve("fold-0/best").toString(), "--out",
        tail.toString());
    assertEquals(2, withModel.exitCode());
    assertTrue(withModel.err().contains("drop --model"), withModel.err());

    Path broken = dir.resolve("kfold-broken");
    Files.createDirectories(broken);
    Files.copy(out.resolve(RunDirectory.OPTIONS), broken.resolve(RunDirectory.OPTIONS));
    Files.copy(out.resolve(KFold.OUT_OF_FOLD_LOGITS), broken.resolve(KFold.OUT_OF_FOLD_LOGITS));
    Files.writeString(broken.resolve(KFold.FOLDS),
        "{\"folds\": 3, \"videos\": [{\"id\": \"video-x\", \"fold\": 3}]}");
    DataException e = assertThrows(DataException.class, () -> KFold.read(broken));
    assertTrue(e.getMessage().contains(KFold.FOLDS) && e.getMessage().contains("video-x")
        && e.getMessage().contains("fold from 0 to 2"), e.getMessage());
  }

  @Test
  void fitEnsembleWeighsKFoldRunsByTheirOutOfFoldScore() throws IOException {
    Path file = dir.resolve("ensemble.json");
    CommandLineRunner.Output fit = CommandLineRunner.run("fit-ensemble", "--kfold",
        out.toString(), "--kfold", out.toString(), "--step", "0.1", "--out", file.toString());
    assertEquals(0, fit.exitCode(), fit.err());
    assertTrue(fit.out().startsWith("480 out-of-fold videos, 2 k-fold runs, 12 weightings tried"),
        fit.out());
    String expected = String.format(Locale.ROOT, "%.4f", result.outOfFoldScore().mean());
    assertTrue(fit.out().contains("equal weights    mean F1 " + expected)
        && fit.out().contains("fitted weights   mean F1 " + expected),
        "one run twice: every weighting scores as the run alone, and the tie keeps equal "
            + "weights; " + fit.out());
    EnsembleFile ensemble = EnsembleFile.read(file);
    assertEquals(Fuse.LOGITS, ensemble.fuse());
    assertEquals(2 * FOLDS, ensemble.members().size(), "every fold model of both runs");
    for (int i = 0; i < ensemble.members().size(); i++) {
      assertEquals(KFold.directory(out, i % FOLDS).resolve("best").toAbsolutePath().normalize(),
          ensemble.members().get(i).modelDirectory());
      assertEquals(0.5 / FOLDS, ensemble.members().get(i).weight(), 1e-12);
    }
  }

  @Test
  void anInterruptedKFoldContinues() throws IOException {
    // a copy interrupted after fold 1: fold 2 never started, nothing written at the end
    Path copy = dir.resolve("kfold-interrupted");
    copyTree(out, copy);
    AtomicFiles.deleteRecursively(KFold.directory(copy, 2));
    Files.delete(copy.resolve(KFold.OUT_OF_FOLD_LOGITS));
    Files.delete(copy.resolve(KFold.FOLDS));
    long fold0Steps = stepRecords(KFold.directory(copy, 0));
    KFold.Result resumed = KFold.resuming(copy, 1).run();

    assertEquals(fold0Steps, stepRecords(KFold.directory(copy, 0)), "a finished fold is kept");
    assertEquals(result.folds().get(2).steps(), resumed.folds().get(2).steps());
    assertTrue(stepRecords(KFold.directory(copy, 2)) > 0, "the missing fold trained again");
    assertArrayEquals(result.foldOfVideo(), resumed.foldOfVideo());
    float[] before = result.outOfFoldLogits();
    float[] again = readLogits(copy.resolve(KFold.OUT_OF_FOLD_LOGITS), result.videoIds().size());
    for (int r = 0; r < result.videoIds().size(); r++) {
      if (result.foldOfVideo()[r] < 2) {
        for (int c = 0; c < CLASSES; c++) {
          assertEquals(before[r * CLASSES + c], again[r * CLASSES + c], 1e-6f,
              result.videoIds().get(r));
        }
      }
    }
    assertTrue(Files.isRegularFile(copy.resolve(KFold.FOLDS)));
  }

  @Test
  void theTrainingOptionsMayNotNameAFold() {
    TrainOptions withFold = training(dir.resolve("unused")).withFold(1, 3);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new KFold.Options(FOLDS, withFold));
    assertTrue(e.getMessage().contains("must not name one"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> new KFold.Options(1, training(dir.resolve("unused"))));
    assertFalse(Files.exists(dir.resolve("unused")));
  }

  private static int argmax(float[] values) {
    int best = 0;
    for (int c = 1; c < values.length; c++) {
      best = values[c] > values[best] ? c : best;
    }
    return best;
  }

  private static float[] readLogits(Path file, int videos) throws IOException {
    FrameFeatures npy = NpyReader.read(ByteBuffer.wrap(Files.readAllBytes(file)), file, null,
        true);
    assertEquals(FrameFeatures.ElementType.FLOAT32, npy.type());
    assertEquals(videos, npy.frames());
    assertEquals(CLASSES, npy.dim());
    float[] values = new float[videos * CLASSES];
    npy.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
    return values;
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path path : paths.toList()) {
        Files.copy(path, to.resolve(from.relativize(path).toString()));
      }
    }
  }

  /** How many training-step lines a run's metrics log holds. */
  private static long stepRecords(Path run) throws IOException {
    return Files.readAllLines(run.resolve(RunDirectory.METRICS)).stream()
        .filter(line -> line.startsWith("{\"kind\":\"step\"")).count();
  }
}

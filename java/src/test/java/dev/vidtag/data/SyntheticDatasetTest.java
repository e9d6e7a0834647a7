package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.SyntheticDataset.FrameKind;
import dev.vidtag.data.SyntheticDataset.Options;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticDatasetTest {
  private static final CategoryMap CATEGORIES = CategoryMap.official();

  @TempDir Path dir;

  private static Options small(long seed) {
    return new Options(60, 20, 25, 16, FrameKind.NPY, seed);
  }

  private static Map<String, byte[]> contents(Path root) throws IOException {
    Map<String, byte[]> files = new HashMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path file : walk.filter(Files::isRegularFile).toList()) {
        files.put(root.relativize(file).toString(), Files.readAllBytes(file));
      }
    }
    return files;
  }

  @Test
  void writesTheOfficialLayoutThatTheReadersAccept() throws IOException {
    Path out = dir.resolve("data");
    new SyntheticDataset(small(1)).write(out);
    assertEquals(Set.of("annotations/labeled.json", "annotations/unlabeled.json",
        "annotations/test_a.json", "zip_feats/labeled.zip", "zip_feats/unlabeled.zip",
        "zip_feats/test_a.zip", "truth_test_a.csv", "truth_unlabeled.csv", "text-model/config.json",
        "text-model/vocab.txt"), contents(out).keySet());
    assertFalse(Files.exists(dir.resolve("data.partial")));

    List<VideoAnnotation> labeled = AnnotationReader.readAll(out.resolve("annotations/labeled.json"), true);
    List<VideoAnnotation> test = AnnotationReader.readAll(out.resolve("annotations/test_a.json"), false);
    assertEquals(60, labeled.size());
    assertTrue(test.stream().allMatch(v -> v.categoryId().isEmpty()), "test_a carries no labels");
    assertTrue(labeled.stream().allMatch(v -> v.id().length() == 20 && v.id().chars().allMatch(Character::isDigit)));

    List<String> truth = Files.readAllLines(out.resolve("truth_test_a.csv"));
    assertEquals(25, truth.size());
    for (int i = 0; i < truth.size(); i++) {
      String[] fields = truth.get(i).split(",");
      assertEquals(test.get(i).id(), fields[0], "truth follows annotation order");
      assertTrue(CATEGORIES.contains(fields[1]));
    }
    List<VideoAnnotation> unlabeled =
        AnnotationReader.readAll(out.resolve("annotations/unlabeled.json"), false);
    assertTrue(unlabeled.stream().allMatch(v -> v.categoryId().isEmpty()),
        "the unlabeled split carries no labels");
    assertEquals(unlabeled.stream().map(VideoAnnotation::id).toList(),
        Files.readAllLines(out.resolve("truth_unlabeled.csv")).stream()
            .map(line -> line.split(",")[0]).toList(), "its truth, in annotation order");

    try (ZipFeatureStore store = ZipFeatureStore.open(out.resolve("zip_feats/labeled.zip"),
        ZipFeatureStore.MissingPolicy.EMPTY)) {
      assertEquals(16, store.dim());
      for (VideoAnnotation video : labeled) {
        FrameFeatures features = store.read(video.id());
        assertTrue(features.frames() <= 32);
        assertEquals(FrameFeatures.ElementType.FLOAT16, features.type());
      }
    }

    // the tiny BERT's vocabulary covers every character of the text
    List<String> vocab = Files.readAllLines(out.resolve("text-model/vocab.txt"), StandardCharsets.UTF_8);
    assertEquals(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"), vocab.subList(0, 5));
    assertEquals(vocab.size(), new HashSet<>(vocab).size(), "no duplicate tokens");
    Set<String> tokens = new HashSet<>(vocab);
    for (VideoAnnotation video : labeled) {
      StringBuilder text = new StringBuilder(video.title()).append(video.asr());
      video.ocr().forEach(o -> text.append(o.text()));
      text.codePoints().forEach(c -> assertTrue(tokens.contains(new String(Character.toChars(c))),
          "character U+" + Integer.toHexString(c) + " missing from vocab.txt"));
    }
    String config = Files.readString(out.resolve("text-model/config.json"));
    assertTrue(config.contains("\"vocab_size\" : " + vocab.size()), config);
    assertTrue(config.contains("\"model_type\" : \"bert\""), config);
  }

  @Test
  void equalSeedsGiveEqualBytesAndOthersDiffer() throws IOException {
    new SyntheticDataset(small(5)).write(dir.resolve("a"));
    new SyntheticDataset(small(5)).write(dir.resolve("b"));
    new SyntheticDataset(small(6)).write(dir.resolve("c"));
    Map<String, byte[]> a = contents(dir.resolve("a"));
    Map<String, byte[]> b = contents(dir.resolve("b"));
    Map<String, byte[]> c = contents(dir.resolve("c"));
    for (String file : a.keySet()) {
      assertArrayEquals(a.get(file), b.get(file), file);
    }
    assertFalse(Arrays.equals(a.get("annotations/labeled.json"), c.get("annotations/labeled.json")));
    assertFalse(Arrays.equals(a.get("zip_feats/labeled.zip"), c.get("zip_feats/labeled.zip")));
  }

  @Test
  void jpgFramesFollowTheOfficialLayoutAndDecode() throws IOException {
    Path out = dir.resolve("frames");
    new SyntheticDataset(new Options(6, 0, 2, 8, FrameKind.JPG, 3)).write(out);
    List<VideoAnnotation> labeled = AnnotationReader.readAll(out.resolve("annotations/labeled.json"), true);
    FramePipeline pipeline = new FramePipeline();
    try (ZipFeatureStore store = ZipFeatureStore.open(out.resolve("zip_feats/labeled.zip"),
        ZipFeatureStore.MissingPolicy.EMPTY)) {
      for (VideoAnnotation video : labeled) {
        Path zip = out.resolve("zip_frames/labeled/" + video.id().substring(17) + "/" + video.id() + ".zip");
        int frames = store.read(video.id()).frames();
        assertEquals(frames > 0, Files.exists(zip), video.id());
        if (frames > 0) {
          List<byte[]> jpegs = FrameArchive.readJpegs(zip);
          assertEquals(frames, jpegs.size());
          float[] pixels = pipeline.decode(jpegs.get(0), zip, "0000.jpg");
          assertEquals(FramePipeline.FRAME_FLOATS, pixels.length);
        }
      }
    }
    // the frames of a dataset are deterministic too
    new SyntheticDataset(new Options(6, 0, 2, 8, FrameKind.JPG, 3)).write(dir.resolve("again"));
    Map<String, byte[]> first = contents(out);
    Map<String, byte[]> second = contents(dir.resolve("again"));
    assertEquals(first.keySet(), second.keySet());
    for (String file : first.keySet()) {
      assertArrayEquals(first.get(file), second.get(file), file);
    }
  }

  @Test
  void inspectionFindsACorruptFrame() throws IOException {
    Path out = dir.resolve("corrupt");
    new SyntheticDataset(new Options(4, 0, 0, 8, FrameKind.JPG, 8)).write(out);
    Path zip;
    try (Stream<Path> walk = Files.walk(out.resolve("zip_frames"))) {
      zip = walk.filter(p -> p.toString().endsWith(".zip")).sorted().findFirst().orElseThrow();
    }
    byte[] jpeg = FrameArchive.readJpegs(zip).get(1);
    byte[] broken = jpeg.clone();
    Arrays.fill(broken, 4, broken.length - 2, (byte) 0x55); // markers intact, content garbage
    try (java.util.zip.ZipOutputStream rewritten = new java.util.zip.ZipOutputStream(Files.newOutputStream(zip))) {
      ZipMembers.writeStored(rewritten, "0000.jpg", jpeg);
      ZipMembers.writeStored(rewritten, "0001.jpg", broken);
    }
    // markers and CRCs are fine: only decoding finds it
    assertTrue(DatasetInspector.inspect(out).get(0).jpegFrames() >= 2);
    DataException e = assertThrows(DataException.class, () -> DatasetInspector.inspect(out, true));
    assertTrue(e.getMessage().startsWith(zip + ": item frame 1: corrupt JPEG"), e.getMessage());
  }

  @Test
  void refusesToOverwriteAnything() throws IOException {
    Path out = dir.resolve("taken");
    Files.createDirectories(out);
    Files.writeString(out.resolve("keep.txt"), "mine");
    assertThrows(IllegalArgumentException.class, () -> new SyntheticDataset(small(1)).write(out));
    assertEquals("mine", Files.readString(out.resolve("keep.txt")));
  }

  @Test
  void classSharesFollowTheRealLongTail() {
    double[] shares = LongTailDistribution.sharesByRank(200);
    assertEquals(1.0, Arrays.stream(shares).sum(), 1e-12);
    assertEquals(0.10656, shares[0], 1e-9);
    assertEquals(0.00014, shares[199], 1e-9);
    assertEquals(0.00168, (shares[99] + shares[100]) / 2, 0.00005);
    for (int i = 1; i < shares.length; i++) {
      assertTrue(shares[i] <= shares[i - 1], "decreasing at " + i);
    }
    // 100k draws: the real split's counts (10,656 / 168 / 14) within sampling noise
    LongTailDistribution distribution = LongTailDistribution.official();
    int[] counts = new int[200];
    SplittableRandom random = new SplittableRandom(3);
    for (int i = 0; i < 100_000; i++) {
      counts[distribution.sample(random)]++;
    }
    Arrays.sort(counts);
    assertEquals(10_656, counts[199], 400); // sd about 98
    assertEquals(168, (counts[99] + counts[100]) / 2.0, 30);
    assertTrue(counts[0] >= 3 && counts[0] <= 25, "smallest class " + counts[0]);
  }

  @Test
  void missingModalitiesAndLongOcrAppearAtRealisticRates() {
    SyntheticDataset dataset = new SyntheticDataset(new Options(0, 0, 0, 8, FrameKind.NPY, 9));
    int n = 4000;
    int emptyAsr = 0;
    int emptyOcr = 0;
    int emptyTitle = 0;
    int noFrames = 0;
    int manyOcr = 0;
    for (int i = 0; i < n; i++) {
      SyntheticDataset.Item item = dataset.item(0, i);
      emptyAsr += item.annotation().asr().isEmpty() ? 1 : 0;
      emptyOcr += item.annotation().ocr().isEmpty() ? 1 : 0;
      emptyTitle += item.annotation().title().isEmpty() ? 1 : 0;
      noFrames += item.frames() == 0 ? 1 : 0;
      manyOcr += item.annotation().ocr().size() > 32 ? 1 : 0;
    }
    assertEquals(0.35, emptyAsr / (double) n, 0.03);
    assertEquals(0.30, emptyOcr / (double) n, 0.03);
    assertEquals(0.02, emptyTitle / (double) n, 0.01);
    assertEquals(0.03, noFrames / (double) n, 0.012);
    assertEquals(0.70 * 0.04, manyOcr / (double) n, 0.012);
  }

  /**
   * Learnable, not perfectly: naive Bayes on characters and nearest centroid on mean frame
   * features beat the majority class by far, stay short of 100%, and lv1 is easier than lv2.
   */
  @Test
  void aSimpleModelLearnsItButNotPerfectly() {
    SyntheticDataset dataset = new SyntheticDataset(new Options(0, 0, 0, 768, FrameKind.NPY, 11));
    int train = 3000;
    int test = 1000;
    Map<Integer, Integer> characterIndex = new HashMap<>();
    double[][] characterCounts = new double[200][4000];
    double[] classCounts = new double[200];
    double[][] centroidSums = new double[200][768];
    for (int i = 0; i < train; i++) {
      SyntheticDataset.Item item = dataset.item(0, i);
      classCounts[item.lv2()]++;
      for (int c : text(item).codePoints().toArray()) {
        characterCounts[item.lv2()][characterIndex.computeIfAbsent(c, k -> characterIndex.size())]++;
      }
      float[] mean = meanFrame(item);
      for (int d = 0; d < 768 && mean != null; d++) {
        centroidSums[item.lv2()][d] += mean[d];
      }
    }
    int textLv2 = 0;
    int textLv1 = 0;
    int framesLv2 = 0;
    int framed = 0;
    int majority = 0;
    int largest = 0;
    for (int c = 0; c < 200; c++) {
      largest = classCounts[c] > classCounts[largest] ? c : largest;
    }
    for (int i = train; i < train + test; i++) {
      SyntheticDataset.Item item = dataset.item(0, i);
      majority += item.lv2() == largest ? 1 : 0;
      int predicted = naiveBayes(text(item), characterIndex, characterCounts, classCounts);
      textLv2 += predicted == item.lv2() ? 1 : 0;
      textLv1 += CATEGORIES.lv1Index(predicted) == CATEGORIES.lv1Index(item.lv2()) ? 1 : 0;
      float[] mean = meanFrame(item);
      if (mean != null) {
        framed++;
        framesLv2 += nearestCentroid(mean, centroidSums, classCounts) == item.lv2() ? 1 : 0;
      }
    }
    double majorityShare = majority / (double) test;
    double textAccuracy = textLv2 / (double) test;
    double frameAccuracy = framesLv2 / (double) framed;
    assertTrue(textAccuracy > majorityShare + 0.3 && textAccuracy < 0.97,
        "text accuracy " + textAccuracy + ", majority " + majorityShare);
    assertTrue(textLv1 / (double) test > textAccuracy + 0.02, "lv1 " + textLv1 / (double) test);
    System.out.printf("text lv2 %.3f lv1 %.3f frames %.3f majority %.3f%n", textAccuracy, textLv1 / (double) test, frameAccuracy, majorityShare);
    assertTrue(frameAccuracy > majorityShare + 0.2 && frameAccuracy < 0.97,
        "frame accuracy " + frameAccuracy);
  }

  private static String text(SyntheticDataset.Item item) {
    StringBuilder text = new StringBuilder(item.annotation().title()).append(item.annotation().asr());
    item.annotation().ocr().forEach(o -> text.append(o.text()));
    return text.toString();
  }

  private static float[] meanFrame(SyntheticDataset.Item item) {
    if (item.frames() == 0) {
      return null;
    }
    float[] mean = new float[768];
    for (int f = 0; f < item.frames(); f++) {
      for (int d = 0; d < 768; d++) {
        mean[d] += item.features()[f * 768 + d] / item.frames();
      }
    }
    return mean;
  }

  private static int naiveBayes(String text, Map<Integer, Integer> index, double[][] counts,
      double[] classCounts) {
    int best = 0;
    double bestScore = Double.NEGATIVE_INFINITY;
    for (int c = 0; c < 200; c++) {
      if (classCounts[c] == 0) {
        continue;
      }
      double total = Arrays.stream(counts[c]).sum() + counts[c].length;
      double score = Math.log(classCounts[c]);
      for (int ch : text.codePoints().toArray()) {
        Integer i = index.get(ch);
        score += Math.log(((i == null ? 0 : counts[c][i]) + 1) / total);
      }
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    return best;
  }

  private static int nearestCentroid(float[] mean, double[][] sums, double[] counts) {
    int best = 0;
    double bestDistance = Double.POSITIVE_INFINITY;
    for (int c = 0; c < 200; c++) {
      if (counts[c] == 0) {
        continue;
      }
      double distance = 0;
      for (int d = 0; d < mean.length; d++) {
        double diff = mean[d] - sums[c][d] / counts[c];
        distance += diff * diff;
      }
      if (distance < bestDistance) {
        bestDistance = distance;
        best = c;
      }
    }
    return best;
  }
}

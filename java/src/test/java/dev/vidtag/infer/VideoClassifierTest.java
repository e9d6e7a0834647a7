package dev.vidtag.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.AnnotationReader;
import dev.vidtag.data.Batch;
import dev.vidtag.data.BatchPlan;
import dev.vidtag.data.BertTokenizer;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Collator;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.Float16;
import dev.vidtag.data.FrameFeatures;
import dev.vidtag.data.FrameSampler;
import dev.vidtag.data.Loader;
import dev.vidtag.data.OcrText;
import dev.vidtag.data.TextRule;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.VideoSampleSource;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.runtime.TorchRuntime;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One model and ensembles of tiny models against hand computations and direct forward passes. */
class VideoClassifierTest {
  /** Different batch compositions (and so paddings) change logits by rounding only. */
  static final double PADDING_TOLERANCE = 1e-5;

  @TempDir static Path dir;
  static Path data;
  static Path single;
  static Path doubleAll;
  static List<Video> videos;
  static final CategoryMap CATEGORIES = CategoryMap.official();

  @BeforeAll
  static void setUp() {
    TorchRuntime.initialize();
    data = TinyModels.synth(dir.resolve("data"), 0, 24, 11);
    single = TinyModels.modelDirectory(dir.resolve("single"), data, Architecture.SINGLE,
        Pooling.MEAN_MASKED, 8, 32, 1);
    doubleAll = TinyModels.modelDirectory(dir.resolve("double"), data, Architecture.DOUBLE,
        Pooling.MEAN_ALL, 6, 24, 2);
    videos = TinyModels.videos(data, "test_a");
  }

  private static float[] logitsOf(Path model, List<Video> batch) {
    try (VideoClassifier classifier = VideoClassifier.open(model)) {
      return classifier.logits(batch).values();
    }
  }

  @Test
  void predictionsRankTheSoftmaxOfTheLogits() {
    try (VideoClassifier classifier = VideoClassifier.open(single)) {
      List<Prediction> predictions = classifier.classifyBatch(videos);
      assertEquals(videos.size(), predictions.size());
      for (int i = 0; i < videos.size(); i++) {
        Prediction p = predictions.get(i);
        assertEquals(videos.get(i).id(), p.videoId());
        double[] probabilities = softmax(p.logits());
        Integer[] order = new Integer[200];
        Arrays.setAll(order, c -> c);
        Arrays.sort(order, (a, b) -> Double.compare(probabilities[b], probabilities[a]));
        assertEquals(5, p.top().size());
        for (int k = 0; k < 5; k++) {
          Prediction.ScoredCategory scored = p.top().get(k);
          assertEquals(order[k], scored.lv2Index(), "rank " + k);
          assertEquals(probabilities[order[k]], scored.probability(), 1e-6);
          assertEquals(CATEGORIES.categoryId(order[k]), scored.categoryId());
          assertEquals(scored.categoryId().substring(0, 2), scored.lv1Id());
          assertEquals(CATEGORIES.lv1Index(order[k]), scored.lv1Index());
        }
        double group = 0;
        for (int c = 0; c < 200; c++) {
          group += CATEGORIES.lv1Index(c) == p.lv1Index() ? probabilities[c] : 0;
        }
        assertEquals(group, p.lv1Probability(), 1e-6);
        assertTrue(p.lv1Probability() >= p.probability() - 1e-7);
      }
      Prediction alone = classifier.classify(videos.get(3));
      assertEquals(predictions.get(3).categoryId(), alone.categoryId());
      assertTrue(TinyModels.relativeError(alone.logits(), predictions.get(3).logits())
          < PADDING_TOLERANCE);
    }
  }

  @Test
  void aVideoFromPlainValuesEqualsTheSameVideoFromTheDatasetFiles() {
    List<Video> plain = new ArrayList<>();
    for (Video v : videos) {
      FrameFeatures f = v.frames();
      ShortBuffer halves = f.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
      float[] values = new float[f.frames() * f.dim()];
      for (int i = 0; i < values.length; i++) {
        values[i] = Float16.toFloat(halves.get(i));
      }
      VideoAnnotation a = v.annotation();
      plain.add(Video.of(a.id(), a.title(), a.asr(), a.ocr().stream().map(OcrText::text).toList(),
          values, f.frames(), f.dim()));
    }
    assertArrayEquals(logitsOf(single, videos), logitsOf(single, plain), 0f);
    // float16 and float32 features in one call are widened, not refused
    List<Video> mixed = new ArrayList<>(videos);
    mixed.set(0, plain.get(0));
    assertArrayEquals(logitsOf(single, videos), logitsOf(single, mixed), 0f);
  }

  @Test
  void lengthBucketedDynamicBatchesGiveTheLogitsOfFixedPadding() {
    List<VideoAnnotation> annotations =
        AnnotationReader.readAll(data.resolve("annotations/test_a.json"), false);
    float[] expected = new float[annotations.size() * 200];
    VideoClassifierModel model = ModelDirectory.load(single);
    try (BertTokenizer tokenizer = BertTokenizer.fromModelDirectory(single);
         ZipFeatureStore features = ZipFeatureStore.open(data.resolve("zip_feats/test_a.zip"),
             ZipFeatureStore.MissingPolicy.EMPTY)) {
      FrameSampler sampler = new FrameSampler(8);
      VideoSampleSource source = new VideoSampleSource(annotations, features,
          TextRule.reference(32), tokenizer, CATEGORIES, (stored, seed) -> sampler.uniform(stored));
      Collator fixed = new Collator(Collator.Padding.FIXED, 32, 8, tokenizer.padId());
      try (Loader loader = new Loader(source, BatchPlan.inOrder(annotations.size(), 5), fixed,
          new Loader.Options(1, 2, 0)); NoGradGuard noGrad = new NoGradGuard()) {
        for (Batch batch : loader) {
          try (batch; PointerScope scope = new PointerScope()) {
            assertEquals(32, batch.textIds().size(1));
            float[] rows = VideoClassifier.floats(model.forward(new ModelInputs(batch.textIds(),
                batch.textMask(), batch.frames(), batch.frameMask())).logits(),
                batch.size() * 200L);
            System.arraycopy(rows, 0, expected, batch.sampleIndices()[0] * 200, rows.length);
          }
        }
      }
    }
    try (VideoClassifier classifier = VideoClassifier.open(single)) {
      assertTrue(classifier.dynamicPadding());
      SplitLogits actual = classifier.logits(Dataset.at(data), "test_a", 4);
      assertEquals(annotations.stream().map(VideoAnnotation::id).toList(), actual.videoIds());
      double error = TinyModels.relativeError(actual.values(), expected);
      assertTrue(error < PADDING_TOLERANCE, "relative error " + error);
      // the per-call path agrees with the split path
      assertTrue(TinyModels.relativeError(classifier.logits(videos).values(), expected)
          < PADDING_TOLERANCE);
    }
    try (VideoClassifier classifier = VideoClassifier.open(doubleAll)) {
      assertFalse(classifier.dynamicPadding(), "mean_all pools over padding: fixed lengths");
      assertTrue(TinyModels.relativeError(classifier.logits(Dataset.at(data), "test_a", 7).values(),
          logitsOf(doubleAll, videos)) < PADDING_TOLERANCE);
    }
  }

  @Test
  void ensemblesFuseTheirModelsWeightedLogitsOrProbabilities() {
    float[] a = logitsOf(single, videos);
    float[] b = logitsOf(doubleAll, videos);
    List<EnsembleMember> members = List.of(new EnsembleMember(single, 0.5),
        new EnsembleMember(doubleAll, 1.5));
    try (VideoClassifier ensemble = VideoClassifier.open(members,
        VideoClassifier.Options.defaults())) {
      float[] fused = ensemble.logits(videos).values();
      double[] expected = new double[a.length];
      for (int i = 0; i < a.length; i++) {
        expected[i] = 0.5 * a[i] + 1.5 * b[i];
      }
      assertTrue(relativeError(fused, expected) < 1e-6, "logits " + relativeError(fused, expected));
      assertArrayEquals(fused, ensemble.logits(Dataset.at(data), "test_a", 5).values(), 1e-4f);
    }
    try (VideoClassifier ensemble = VideoClassifier.open(members,
        VideoClassifier.Options.defaults().withFuse(Fuse.PROBS))) {
      float[] fused = ensemble.logits(videos).values();
      double[] expected = new double[a.length];
      for (int row = 0; row < videos.size(); row++) {
        double[] pa = softmax(Arrays.copyOfRange(a, row * 200, row * 200 + 200));
        double[] pb = softmax(Arrays.copyOfRange(b, row * 200, row * 200 + 200));
        for (int c = 0; c < 200; c++) {
          expected[row * 200 + c] = Math.log((0.5 * pa[c] + 1.5 * pb[c]) / 2.0);
        }
      }
      assertTrue(relativeError(fused, expected) < 1e-5, "probs " + relativeError(fused, expected));
    }
  }

  @Test
  void eachModelReadsTextWithItsOwnTokenizer() {
    Path reversed = TinyModels.withReversedVocabulary(single, dir.resolve("single-reversed"));
    try (BertTokenizer original = BertTokenizer.fromModelDirectory(single);
         BertTokenizer other = BertTokenizer.fromModelDirectory(reversed)) {
      String title = videos.get(0).annotation().title();
      assertFalse(Arrays.equals(original.encode(title), other.encode(title)),
          "the two vocabularies number the tokens differently");
    }
    float[] expected = logitsOf(single, videos);
    assertTrue(TinyModels.relativeError(logitsOf(reversed, videos), expected) < 1e-6);
    try (VideoClassifier ensemble = VideoClassifier.open(List.of(EnsembleMember.of(single),
        EnsembleMember.of(reversed)), VideoClassifier.Options.defaults())) {
      float[] doubled = expected.clone();
      for (int i = 0; i < doubled.length; i++) {
        doubled[i] *= 2;
      }
      assertTrue(TinyModels.relativeError(ensemble.logits(videos).values(), doubled) < 1e-6);
    }
  }

  @Test
  void bf16StaysCloseToFp32() {
    float[] fp32 = logitsOf(single, videos);
    try (VideoClassifier bf16 = VideoClassifier.open(List.of(EnsembleMember.of(single)),
        VideoClassifier.Options.defaults().withPrecision(Precision.BF16))) {
      float[] logits = bf16.logits(videos).values();
      double error = TinyModels.relativeError(logits, fp32);
      assertTrue(error > 0 && error < 5e-2, "bf16 relative error " + error);
    }
  }

  @Test
  void int8StaysCloseToFp32() {
    float[] fp32 = logitsOf(single, videos);
    try (VideoClassifier int8 = VideoClassifier.open(List.of(EnsembleMember.of(single)),
        VideoClassifier.Options.defaults().withPrecision(Precision.INT8))) {
      float[] logits = int8.logits(videos).values();
      double error = TinyModels.relativeError(logits, fp32);
      assertTrue(error > 0 && error < 8e-2, "int8 relative error " + error);
    }
  }

  @Test
  void aTailAdjustmentInTheOptionsShiftsTheLogits() {
    int[] counts = new int[200];
    Arrays.fill(counts, 100);
    counts[7] = 1;
    TailAdjustment tail = TailAdjustment.multipliers(counts, 10);
    float[] raw = logitsOf(single, videos.subList(0, 2));
    try (VideoClassifier classifier = VideoClassifier.open(List.of(EnsembleMember.of(single)),
        VideoClassifier.Options.defaults().withTailAdjustment(tail).withTopK(3))) {
      Prediction p = classifier.classifyBatch(videos.subList(0, 2)).get(1);
      assertEquals(3, p.top().size());
      for (int c = 0; c < 200; c++) {
        double multiplier = c == 7 ? 11.0 : 1.1;
        assertEquals(raw[200 + c] + Math.log(multiplier), p.logits()[c], 1e-5, "class " + c);
      }
    }
  }

  /** The thread count is the process's, set by an explicit call, never by opening a model. */
  @Test
  void openingAClassifierLeavesTheThreadsAlone() {
    int before = torch.get_num_threads();
    try {
      for (int threads : new int[] {1, 2}) {
        TorchRuntime.setThreads(threads);
        VideoClassifier.open(List.of(EnsembleMember.of(single), EnsembleMember.of(doubleAll)),
            VideoClassifier.Options.defaults().withPrecision(Precision.INT8)).close();
        assertEquals(threads, torch.get_num_threads());
      }
    } finally {
      TorchRuntime.setThreads(before);
    }
  }

  /** close() frees what the models hold: using them afterwards fails clearly. */
  @Test
  void aClosedClassifierRefusesCalls() {
    VideoClassifier classifier = VideoClassifier.open(single);
    classifier.close();
    assertThrows(IllegalStateException.class, () -> classifier.classify(videos.get(0)));
  }

  @Test
  void badInputAndMisuseFailClearly() {
    try (VideoClassifier classifier = VideoClassifier.open(single)) {
      Video narrow = Video.of("v-narrow", "title", "", List.of(), new float[8], 2, 4);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> classifier.classify(narrow));
      assertTrue(e.getMessage().contains("v-narrow") && e.getMessage().contains("16"),
          e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> Video.of("v", "", "", List.of(), new float[5], 2, 4));
      assertEquals(List.of(), classifier.classifyBatch(List.of()));
      classifier.close();
      assertThrows(IllegalStateException.class, () -> classifier.classify(videos.get(0)));
    }
    assertThrows(RuntimeException.class, () -> VideoClassifier.open(dir.resolve("missing")));
  }

  static double[] softmax(float[] logits) {
    double max = Double.NEGATIVE_INFINITY;
    for (float l : logits) {
      max = Math.max(max, l);
    }
    double sum = 0;
    double[] p = new double[logits.length];
    for (int i = 0; i < p.length; i++) {
      p[i] = Math.exp(logits[i] - max);
      sum += p[i];
    }
    for (int i = 0; i < p.length; i++) {
      p[i] /= sum;
    }
    return p;
  }

  static double relativeError(float[] actual, double[] expected) {
    double diff = 0;
    double scale = 0;
    for (int i = 0; i < expected.length; i++) {
      diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
      scale = Math.max(scale, Math.abs(expected[i]));
    }
    return diff / scale;
  }
}

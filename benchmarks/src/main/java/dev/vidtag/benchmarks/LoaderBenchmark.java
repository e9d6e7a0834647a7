package dev.vidtag.benchmarks;

import dev.vidtag.data.Batch;
import dev.vidtag.data.BatchPlan;
import dev.vidtag.data.BertTokenizer;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Collator;
import dev.vidtag.data.FrameFeatureSource;
import dev.vidtag.data.Loader;
import dev.vidtag.data.NpyWriter;
import dev.vidtag.data.OcrText;
import dev.vidtag.data.Sample;
import dev.vidtag.data.TextRule;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.VideoSampleSource;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.data.ZipMembers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.zip.ZipOutputStream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Samples per second from annotations and stored frame features to collated training batches:
 * batch 32, the reference's text rule (258 ids) with fixed padding, 14 of 32 stored frames of
 * 768 float16 values chosen uniformly, tokenization included. {@code epoch}: the whole loader
 * with its worker threads; {@code collate}: the collator alone on the calling thread, from
 * samples already read; {@code encodeText}: the text rule alone (tokenization) on one thread.
 *
 * <p>The features are read from a zip_feats archive written in the official layout (one float16
 * {@code <id>.npy} per video) through {@link ZipFeatureStore}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class LoaderBenchmark {
  static final int VIDEOS = 512;
  static final int BATCH = 32;
  static final int MAX_TEXT = 258;
  static final int MAX_FRAMES = 14;
  static final int STORED_FRAMES = 32;
  static final int DIM = 768;

  @Param({"1", "2"})
  public int workers;

  private Path directory;
  private FrameFeatureSource features;
  private BertTokenizer tokenizer;
  private Loader loader;
  private Collator collator;
  private List<Sample> oneBatch;
  private int[] oneBatchIndices;
  private int epoch;
  private List<VideoAnnotation> videos;
  private final TextRule rule = TextRule.reference(MAX_TEXT);

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    directory = Files.createTempDirectory("vidtag-loader-benchmark");
    tokenizer = BertTokenizer.fromVocabulary(chineseVocabulary(directory.resolve("vocab.txt")));
    SplittableRandom random = new SplittableRandom(1);
    videos = annotations(random);
    features = ZipFeatureStore.open(writeFeatureZip(directory.resolve("labeled.zip"), videos, random),
        ZipFeatureStore.MissingPolicy.ERROR);
    VideoSampleSource source = new VideoSampleSource(videos, features,
        TextRule.reference(MAX_TEXT), tokenizer, CategoryMap.official(),
        LoaderBenchmark::uniformFrames);
    collator = new Collator(Collator.Padding.FIXED, MAX_TEXT, MAX_FRAMES, tokenizer.padId());
    loader = new Loader(source, BatchPlan.shuffled(VIDEOS, BATCH, 1, true), collator,
        new Loader.Options(workers, 8, 1));
    oneBatch = new ArrayList<>();
    for (int i = 0; i < BATCH; i++) {
      oneBatch.add(source.sample(i, i));
    }
    oneBatchIndices = IntStream.range(0, BATCH).toArray();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    loader.close();
    features.close();
    tokenizer.close();
    try (var files = Files.walk(directory)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Benchmark
  @OperationsPerInvocation(VIDEOS)
  public long epoch() {
    long samples = 0;
    Loader.Epoch batches = loader.epoch(epoch++);
    while (batches.hasNext()) {
      try (Batch batch = batches.next()) {
        samples += batch.size();
      }
    }
    return samples;
  }

  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long collate() {
    try (Batch batch = collator.collate(oneBatch, oneBatchIndices)) {
      return batch.frames().numel();
    }
  }

  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long encodeText() {
    long ids = 0;
    for (int i = 0; i < BATCH; i++) {
      ids += rule.encode(videos.get((epoch++ & 0xffff) % VIDEOS), tokenizer).length;
    }
    return ids;
  }

  /** The official baseline's evaluation sampling: every (n / 14)-th frame, the first 14. */
  static int[] uniformFrames(int stored, long seed) {
    if (stored <= MAX_FRAMES) {
      return IntStream.range(0, stored).toArray();
    }
    int step = stored / MAX_FRAMES;
    return IntStream.range(0, MAX_FRAMES).map(i -> i * step).toArray();
  }

  /** Specials, 3,500 CJK characters from U+4E00, Latin letters and digits with ## pieces. */
  static Path chineseVocabulary(Path file) throws IOException {
    StringBuilder vocab = new StringBuilder("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for (int cp = 0x4E00; cp < 0x4E00 + 3500; cp++) {
      vocab.appendCodePoint(cp).append('\n');
    }
    for (char c = 'a'; c <= 'z'; c++) {
      vocab.append(c).append('\n').append("##").append(c).append('\n');
    }
    for (char c = '0'; c <= '9'; c++) {
      vocab.append(c).append('\n').append("##").append(c).append('\n');
    }
    return Files.writeString(file, vocab, StandardCharsets.UTF_8);
  }

  /** Titles of 10-40 characters, speech of 0-400, 0-8 OCR texts of 5-30: Chinese, some Latin. */
  static List<VideoAnnotation> annotations(SplittableRandom random) {
    List<VideoAnnotation> videos = new ArrayList<>();
    List<String> categories = CategoryMap.official().ids();
    for (int v = 0; v < VIDEOS; v++) {
      List<OcrText> ocr = new ArrayList<>();
      int texts = random.nextInt(9);
      for (int t = 0; t < texts; t++) {
        ocr.add(new OcrText(t, text(random, 5 + random.nextInt(26))));
      }
      videos.add(new VideoAnnotation(String.format("%020d", v), text(random, 10 + random.nextInt(31)),
          text(random, random.nextInt(401)), ocr,
          Optional.of(categories.get(random.nextInt(categories.size())))));
    }
    return videos;
  }

  private static String text(SplittableRandom random, int length) {
    StringBuilder text = new StringBuilder();
    while (text.length() < length) {
      if (random.nextInt(10) == 0) {
        text.append(" vlog").append(random.nextInt(100)).append(' ');
      } else {
        text.appendCodePoint(0x4E00 + random.nextInt(3500));
      }
    }
    return text.toString();
  }

  /**
   * A zip_feats archive as the official data ships it: one {@code <id>.npy} member of 32 x 768
   * float16 values per video, stored uncompressed.
   */
  static Path writeFeatureZip(Path file, List<VideoAnnotation> videos, SplittableRandom random)
      throws IOException {
    float[] values = new float[STORED_FRAMES * DIM];
    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
      for (VideoAnnotation video : videos) {
        for (int i = 0; i < values.length; i++) {
          values[i] = 0.125f + 0.875f * (float) random.nextDouble();
        }
        ZipMembers.writeStored(zip, video.id() + ".npy",
            NpyWriter.float16(values, STORED_FRAMES, DIM));
      }
    }
    return file;
  }
}

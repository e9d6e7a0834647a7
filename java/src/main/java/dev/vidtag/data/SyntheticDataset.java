package dev.vidtag.data;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.vidtag.io.AtomicFiles;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import java.util.zip.ZipOutputStream;

/**
 * Writes a synthetic dataset in the official layout ({@code annotations/}, {@code zip_feats/},
 * optionally {@code zip_frames/}), with {@code truth_test_a.csv} and {@code truth_unlabeled.csv}
 * in the result format for scoring (the unlabeled split's, to measure pseudo-labels; no
 * training reads it) and {@code text-model/}, a tiny BERT whose vocabulary covers the text.
 *
 * <p>Realistic on purpose: the 200 official classes with the real long tail
 * ({@link LongTailDistribution}), text from class, group and common words ({@link SyntheticText}),
 * frame features from class and group centroids plus video-level and frame-level noise (weak
 * enough that a model cannot be perfect), empty asr/ocr/title and videos without frames at
 * rates like the real ones, and a few videos with more OCR entries than 32 frames' worth.
 * Deterministic for a seed: every item draws from its own generator seeded by (seed, split,
 * index), and zip entries carry a fixed time.
 *
 * <p>Nothing half-written is left under the output name: the dataset is built in a sibling
 * folder {@code <out>.partial} and renamed when complete.
 */
public final class SyntheticDataset {
  /** What to generate. */
  public record Options(int labeled, int unlabeled, int test, int featureDim, FrameKind frames,
      long seed) {
    public Options {
      for (int count : new int[] {labeled, unlabeled, test}) {
        if (count < 0 || count > MAX_ITEMS_PER_SPLIT) {
          throw new IllegalArgumentException("split sizes must be in [0, " + MAX_ITEMS_PER_SPLIT
              + "]: " + count);
        }
      }
      if (featureDim <= 0 || featureDim > 8192) {
        throw new IllegalArgumentException("feature dim must be in [1, 8192]: " + featureDim);
      }
    }
  }

  /** Frame data written besides the annotations. */
  public enum FrameKind {
    /** zip_feats only: a float16 feature matrix per video. */
    NPY,
    /** zip_feats and zip_frames with real JPG images per video. */
    JPG
  }

  /** The splits, in the order their ids are numbered. */
  public static final List<String> SPLITS = List.of("labeled", "unlabeled", "test_a");
  /** The folder of a synthetic dataset that holds its tiny BERT text model. */
  public static final String TEXT_MODEL = "text-model";
  static final int MAX_ITEMS_PER_SPLIT = 10_000_000;
  static final int MAX_FRAMES = 32;
  static final double NO_FRAMES_RATE = 0.03;
  static final double FULL_FRAMES_RATE = 0.70;
  static final double EMPTY_TITLE_RATE = 0.02;
  static final double EMPTY_ASR_RATE = 0.35;
  static final double EMPTY_OCR_RATE = 0.30;
  static final double MANY_OCR_RATE = 0.04;
  /** Videos whose words come from another class altogether: a ceiling on text accuracy. */
  static final double MISLEADING_TEXT_RATE = 0.05;
  private static final SyntheticText.Signal TITLE = new SyntheticText.Signal(0.25, 0.07, 0.15, 0.03);
  private static final SyntheticText.Signal ASR = new SyntheticText.Signal(0.07, 0.03, 0.08, 0.01);
  private static final SyntheticText.Signal OCR = new SyntheticText.Signal(0.12, 0.04, 0.10, 0.02);
  private static final float CENTROID_SCALE = 0.1f;
  private static final int NOISE_TABLE_SIZE = 1 << 20;
  private static final long ID_MULTIPLIER = 738_291_004_813L; // odd, not a multiple of 5
  private static final long ID_MODULUS = 1_000_000_000_000_000_000L;

  private final Options options;
  private final CategoryMap categories = CategoryMap.official();
  private final LongTailDistribution classes = LongTailDistribution.official();
  private final SyntheticText text = new SyntheticText(categories);
  private final float[][] classCentroids;
  private final float[][] groupCentroids;
  private final float[] noise;
  private final FrameImages frameImages;

  public SyntheticDataset(Options options) {
    this.options = options;
    SplittableRandom random = new SplittableRandom(options.seed() ^ 0x5DEECE66DL);
    classCentroids = gaussians(random, categories.size(), options.featureDim(), CENTROID_SCALE);
    groupCentroids = gaussians(random, categories.lv1Count(), options.featureDim(), CENTROID_SCALE);
    noise = gaussians(random, 1, NOISE_TABLE_SIZE, 1f)[0];
    frameImages = options.frames() == FrameKind.JPG ? new FrameImages(options.seed()) : null;
  }

  /** What {@link #write} produced. */
  public record Summary(Path directory, int[] itemsPerSplit, long videosWithoutFrames,
      double seconds) {}

  /** Generates the dataset into {@code out}, which must not exist or be an empty folder. */
  public Summary write(Path out) {
    return write(out, null);
  }

  /**
   * As {@link #write(Path)}, with {@code weights} adding the tiny BERT's initial weights to
   * {@code text-model/} (e.g. a {@code model.safetensors} writer); null writes none.
   */
  public Summary write(Path out, TinyBertDirectory.WeightsWriter weights) {
    long start = System.nanoTime();
    try {
      if (Files.exists(out) && (!Files.isDirectory(out) || !isEmpty(out))) {
        throw new IllegalArgumentException(out + " exists and is not an empty folder");
      }
      Path partial = out.resolveSibling(out.getFileName() + ".partial");
      AtomicFiles.deleteRecursively(partial);
      Dataset layout = Dataset.at(partial);
      Files.createDirectories(layout.annotationFolder());
      Files.createDirectories(layout.featureFolder());
      int[] counts = {options.labeled(), options.unlabeled(), options.test()};
      long withoutFrames = 0;
      for (int s = 0; s < SPLITS.size(); s++) {
        withoutFrames += writeSplit(layout, s, counts[s]);
      }
      TinyBertDirectory.small().write(partial.resolve(TEXT_MODEL), text.characters(), weights,
          options.seed());
      if (Files.exists(out)) {
        Files.delete(out);
      }
      Files.move(partial, out);
      return new Summary(out, counts, withoutFrames, (System.nanoTime() - start) / 1e9);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
    }
  }

  /** One item: the annotation and its frames' features ({@code frames} = 0: none stored). */
  record Item(VideoAnnotation annotation, int lv2, int frames, float[] features) {}

  /** The {@code index}-th item of a split; a pure function of the seed, split and index. */
  Item item(int split, int index) {
    SplittableRandom random = new SplittableRandom(mix(options.seed(), split, index));
    int lv2 = classes.sample(random);
    int textClass = random.nextDouble() < MISLEADING_TEXT_RATE ? random.nextInt(categories.size()) : lv2;
    String title = random.nextDouble() < EMPTY_TITLE_RATE ? ""
        : text.text(textClass, 4 + random.nextInt(14), TITLE, random);
    String asr = random.nextDouble() < EMPTY_ASR_RATE ? ""
        : text.text(textClass, 8 + random.nextInt(120), ASR, random);
    List<OcrText> ocr = List.of();
    if (random.nextDouble() >= EMPTY_OCR_RATE) {
      int entries = random.nextDouble() < MANY_OCR_RATE ? MAX_FRAMES + 1 + random.nextInt(40)
          : 1 + random.nextInt(10);
      OcrText[] texts = new OcrText[entries];
      for (int e = 0; e < entries; e++) {
        texts[e] = new OcrText(e, text.text(textClass, 1 + random.nextInt(6), OCR, random));
      }
      ocr = List.of(texts);
    }
    int frames = random.nextDouble() < NO_FRAMES_RATE ? 0
        : random.nextDouble() < FULL_FRAMES_RATE ? MAX_FRAMES : 1 + random.nextInt(MAX_FRAMES - 1);
    float[] features = frames == 0 ? null : features(lv2, frames, random);
    // only the labeled split carries its categories; the others' go to truth_<split>.csv
    Optional<String> category = split == 0 ? Optional.of(categories.categoryId(lv2))
        : Optional.empty();
    return new Item(new VideoAnnotation(videoId(split, index), title, asr, ocr, category), lv2,
        frames, features);
  }

  /** Class and group centroid, a video-level offset shared by its frames, and frame noise. */
  private float[] features(int lv2, int frames, SplittableRandom random) {
    int dim = options.featureDim();
    float[] centroid = classCentroids[lv2];
    float[] group = groupCentroids[categories.lv1Index(lv2)];
    int videoNoise = random.nextInt(NOISE_TABLE_SIZE - dim);
    float[] values = new float[frames * dim];
    for (int f = 0; f < frames; f++) {
      int frameNoise = random.nextInt(NOISE_TABLE_SIZE - dim);
      for (int d = 0; d < dim; d++) {
        values[f * dim + d] = centroid[d] + group[d] + noise[videoNoise + d]
            + 0.7f * noise[frameNoise + d];
      }
    }
    return values;
  }

  private long writeSplit(Dataset root, int split, int count) throws IOException {
    String name = SPLITS.get(split);
    long withoutFrames = 0;
    JsonFactory json = JsonFactory.builder().build();
    try (OutputStream annotationFile = new BufferedOutputStream(
            Files.newOutputStream(root.annotationFile(name)), 1 << 16);
        JsonGenerator generator = json.createGenerator(annotationFile, JsonEncoding.UTF8);
        ZipOutputStream features = new ZipOutputStream(new BufferedOutputStream(
            Files.newOutputStream(root.featureFile(name)), 1 << 16));
        Writer truth = split != 0 ? Files.newBufferedWriter(
            root.truthFile(name), StandardCharsets.UTF_8) : Writer.nullWriter()) {
      generator.writeStartArray();
      for (int i = 0; i < count; i++) {
        Item item = item(split, i);
        writeAnnotation(generator, item.annotation());
        generator.writeRaw('\n');
        String id = item.annotation().id();
        if (item.frames() == 0) {
          withoutFrames++;
        } else {
          ZipMembers.writeStored(features, id + ".npy",
              NpyWriter.float16(item.features(), item.frames(), options.featureDim()));
          if (frameImages != null) {
            frameImages.write(root.frameFolder(name), id, item.lv2(),
                item.frames());
          }
        }
        truth.write(id + "," + categories.categoryId(item.lv2()) + "\n");
      }
      generator.writeEndArray();
    }
    return withoutFrames;
  }

  private static void writeAnnotation(JsonGenerator generator, VideoAnnotation item)
      throws IOException {
    generator.writeStartObject();
    generator.writeStringField("id", item.id());
    generator.writeStringField("title", item.title());
    generator.writeStringField("asr", item.asr());
    generator.writeArrayFieldStart("ocr");
    for (OcrText ocr : item.ocr()) {
      generator.writeStartObject();
      generator.writeNumberField("time", ocr.time());
      generator.writeStringField("text", ocr.text());
      generator.writeEndObject();
    }
    generator.writeEndArray();
    if (item.categoryId().isPresent()) {
      generator.writeStringField("category_id", item.categoryId().get());
    }
    generator.writeEndObject();
  }


  /** A 20-digit id, unique within the dataset: the split's digit, then 19 scrambled digits. */
  String videoId(int split, int index) {
    long scrambled = Math.floorMod(index * ID_MULTIPLIER + Math.floorMod(options.seed(), ID_MODULUS),
        ID_MODULUS);
    return (split + 1) + String.format("%019d", scrambled);
  }

  private static long mix(long seed, int split, int index) {
    long z = seed * 0x9E3779B97F4A7C15L + ((long) split << 32) + index;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static float[][] gaussians(SplittableRandom random, int rows, int columns, float scale) {
    java.util.Random gaussian = new java.util.Random(random.nextLong());
    float[][] out = new float[rows][columns];
    for (float[] row : out) {
      for (int i = 0; i < columns; i++) {
        row[i] = (float) gaussian.nextGaussian() * scale;
      }
    }
    return out;
  }

  private static boolean isEmpty(Path directory) throws IOException {
    try (Stream<Path> entries = Files.list(directory)) {
      return entries.findAny().isEmpty();
    }
  }
}

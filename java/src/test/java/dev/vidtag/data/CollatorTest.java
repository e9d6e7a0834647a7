package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.FrameFeatures.ElementType;
import dev.vidtag.io.DataException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CollatorTest {
  /**
   * A collator is a plain object: building one (as a loader or a model's input pipeline does
   * while it is set up) starts no native library; its first batch does.
   */
  @Test
  void constructingACollatorDoesNotStartLibTorch(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("out.txt");
    Process process = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), CollatorStartProbe.class.getName())
        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the probe finished");
    String output = Files.readString(out);
    assertEquals(0, process.exitValue(), output);
    assertEquals(List.of("padding=DYNAMIC", "started=false", "libtorch-mapped=false"),
        output.lines().toList());
  }

  private static final int DIM = 5;

  private static long[] shape(Tensor t) {
    return t.sizes().vec().get();
  }

  private static long[] longs(Tensor t) {
    long[] out = new long[(int) t.numel()];
    t.contiguous().data_ptr_long().get(out);
    return out;
  }

  private static float[] floats(Tensor t) {
    float[] out = new float[(int) t.numel()];
    t.contiguous().data_ptr_float().get(out);
    return out;
  }

  private static boolean[] bools(Tensor t) {
    long[] asLong = longs(t.to(ScalarType.Long));
    boolean[] out = new boolean[asLong.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = asLong[i] != 0;
    }
    return out;
  }

  /** Three videos: 3 ids / 4 stored frames using rows 3,0,1; 5 ids / no frames; 1 id / rows 2. */
  private static List<Sample> samples(ElementType type) {
    return List.of(
        new Sample("a", SampleFixtures.ids(0, 3), SampleFixtures.features(0, 4, DIM, type),
            new int[] {3, 0, 1}, 7),
        new Sample("b", SampleFixtures.ids(1, 5), FrameFeatures.empty(DIM), new int[0], -1),
        new Sample("c", SampleFixtures.ids(2, 1), SampleFixtures.features(2, 3, DIM, type),
            new int[] {2}, 199));
  }

  private static final int[][] ROWS = {{3, 0, 1}, {}, {2}};

  private static void checkBatch(Batch batch, int textSlots, int frameSlots, int padId) {
    List<Sample> expected = samples(ElementType.FLOAT32);
    assertEquals(3, batch.size());
    assertEquals(List.of("a", "b", "c"), batch.videoIds());
    assertArrayEquals(new int[] {10, 11, 12}, batch.sampleIndices());
    assertArrayEquals(new long[] {3, textSlots}, shape(batch.textIds()));
    assertArrayEquals(new long[] {3, frameSlots, DIM}, shape(batch.frames()));
    assertEquals(ScalarType.Float, batch.frames().scalar_type().intern());
    assertEquals(ScalarType.Long, batch.textIds().scalar_type().intern());
    assertEquals(ScalarType.Bool, batch.textMask().scalar_type().intern());
    long[] ids = longs(batch.textIds());
    boolean[] textMask = bools(batch.textMask());
    float[] frames = floats(batch.frames());
    boolean[] frameMask = bools(batch.frameMask());
    for (int v = 0; v < 3; v++) {
      int[] sampleIds = expected.get(v).inputIds();
      for (int t = 0; t < textSlots; t++) {
        boolean real = t < sampleIds.length;
        assertEquals(real ? sampleIds[t] : padId, ids[v * textSlots + t], "ids " + v + "," + t);
        assertEquals(real, textMask[v * textSlots + t]);
      }
      for (int f = 0; f < frameSlots; f++) {
        boolean real = f < ROWS[v].length;
        assertEquals(real, frameMask[v * frameSlots + f]);
        for (int c = 0; c < DIM; c++) {
          float want = real ? SampleFixtures.value(v, ROWS[v][f], c) : 0f;
          assertEquals(want, frames[(v * frameSlots + f) * DIM + c], "frame " + v + "," + f);
        }
      }
    }
    assertArrayEquals(new long[] {7, -1, 199}, longs(batch.labels()));
    assertArrayEquals(new int[] {3, 5, 1}, batch.textLengths());
    assertArrayEquals(new int[] {3, 0, 1}, batch.frameCounts());
  }

  @Test
  void fixedPaddingPadsToTheMaxima() {
    Collator collator = new Collator(Collator.Padding.FIXED, 8, 6, 0);
    for (ElementType type : ElementType.values()) {
      try (Batch batch = collator.collate(samples(type), new int[] {10, 11, 12})) {
        checkBatch(batch, 8, 6, 0);
      }
    }
  }

  @Test
  void dynamicPaddingPadsToTheLongestInTheBatch() {
    Collator collator = new Collator(Collator.Padding.DYNAMIC, 8, 6, 9);
    for (ElementType type : ElementType.values()) {
      try (Batch batch = collator.collate(samples(type), new int[] {10, 11, 12})) {
        checkBatch(batch, 5, 3, 9);
      }
    }
  }

  @Test
  void theBatchOwnsItsTensorsUntilClosed() {
    Collator collator = new Collator(Collator.Padding.DYNAMIC, 8, 6, 0);
    Batch batch;
    Tensor frames;
    try (PointerScope outer = new PointerScope()) {
      batch = collator.collate(samples(ElementType.FLOAT16), new int[] {10, 11, 12});
      frames = batch.frames();
    }
    System.gc();
    checkBatch(batch, 5, 3, 0);
    assertFalse(frames.isNull());
    batch.close();
    assertTrue(frames.isNull(), "closing the batch frees its tensors");
    assertThrows(IllegalStateException.class, batch::frames);
    batch.close();
  }

  /** Resident memory of this process in bytes (Linux). */
  private static long residentBytes() throws java.io.IOException {
    String[] statm = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/statm"))
        .trim().split(" ");
    return Long.parseLong(statm[1]) * 4096;
  }

  @Test
  void closedBatchesGiveTheirMemoryBack() throws Exception {
    int dim = 768;
    List<Sample> samples = new java.util.ArrayList<>();
    for (int v = 0; v < 32; v++) {
      samples.add(Sample.of("v" + v, SampleFixtures.ids(v, 258),
          SampleFixtures.features(v, 14, dim, ElementType.FLOAT16), 0));
    }
    int[] indices = java.util.stream.IntStream.range(0, 32).toArray();
    Collator collator = new Collator(Collator.Padding.FIXED, 258, 14, 0);
    for (int i = 0; i < 20; i++) {
      collator.collate(samples, indices).close();
    }
    long before = residentBytes();
    for (int i = 0; i < 400; i++) {
      collator.collate(samples, indices).close();
    }
    long grown = residentBytes() - before;
    // each batch holds about 2.1 MB (float16 staging, float32 frames, ids): a leak would add 800 MB
    assertTrue(grown < 200L << 20, "resident memory grew by " + (grown >> 20) + " MB");
  }

  @Test
  void refusesSamplesOverTheLimitsOrMismatched() {
    Collator collator = new Collator(Collator.Padding.FIXED, 4, 6, 0);
    DataException longText = assertThrows(DataException.class,
        () -> collator.collate(samples(ElementType.FLOAT16), new int[] {0, 1, 2}));
    assertTrue(longText.getMessage().contains("item b") && longText.getMessage().contains("5 ids"),
        longText.getMessage());
    Collator wide = new Collator(Collator.Padding.FIXED, 8, 2, 0);
    DataException frames = assertThrows(DataException.class,
        () -> wide.collate(samples(ElementType.FLOAT16), new int[] {0, 1, 2}));
    assertTrue(frames.getMessage().contains("item a"), frames.getMessage());
    List<Sample> mixed = List.of(
        Sample.of("x", new int[] {1}, SampleFixtures.features(0, 1, DIM, ElementType.FLOAT16), 0),
        Sample.of("y", new int[] {1}, SampleFixtures.features(0, 1, DIM + 1, ElementType.FLOAT16),
            0));
    DataException width = assertThrows(DataException.class,
        () -> wide.collate(mixed, new int[] {0, 1}));
    assertTrue(width.getMessage().contains("item y") && width.getMessage().contains("width"),
        width.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new Sample("z", new int[] {1},
        FrameFeatures.empty(DIM), new int[] {0}, 0));
  }
}

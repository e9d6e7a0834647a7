package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.FrameFeatures.ElementType;
import dev.vidtag.io.DataException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class LoaderTest {
  private static final int DIM = 4;
  private static final int MAX_FRAMES = 3;

  /** Samples whose frame rows are a random choice from the seed; reads take random time. */
  static final class RandomChoiceSource implements SampleSource {
    private final int size;
    private final long maxDelayMicros;
    private final int failingIndex;

    RandomChoiceSource(int size, long maxDelayMicros, int failingIndex) {
      this.size = size;
      this.maxDelayMicros = maxDelayMicros;
      this.failingIndex = failingIndex;
    }

    @Override
    public int size() {
      return size;
    }

    @Override
    public Sample sample(int index, long seed) {
      if (maxDelayMicros > 0) {
        try {
          long micros = ThreadLocalRandom.current().nextLong(maxDelayMicros);
          Thread.sleep(micros / 1000, (int) (micros % 1000) * 1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted", e);
        }
      }
      if (index == failingIndex) {
        throw DataException.at(java.nio.file.Path.of("feats.zip"), "video" + index, "frames",
            "truncated member");
      }
      SplittableRandom random = new SplittableRandom(seed);
      int stored = 1 + index % 6;
      int[] rows = random.ints(0, stored).distinct().limit(Math.min(stored, MAX_FRAMES))
          .sorted().toArray();
      return new Sample("video" + index, SampleFixtures.ids(index, 1 + index % 7),
          SampleFixtures.features(index, stored, DIM, ElementType.FLOAT16), rows, index % 200);
    }
  }

  /** What a consumer can observe of a batch: ids, frames, masks, labels. */
  private static String signature(Batch batch) {
    float[] frames = new float[(int) batch.frames().numel()];
    batch.frames().contiguous().data_ptr_float().get(frames);
    long[] ids = new long[(int) batch.textIds().numel()];
    batch.textIds().contiguous().data_ptr_long().get(ids);
    return batch.videoIds() + Arrays.toString(ids) + Arrays.hashCode(frames)
        + Arrays.toString(batch.frameCounts());
  }

  private static List<List<String>> run(int workers, int prefetch, BatchPlan plan,
      SampleSource source, int epochs) {
    List<List<String>> result = new ArrayList<>();
    Collator collator = new Collator(Collator.Padding.DYNAMIC, 8, MAX_FRAMES, 0);
    try (Loader loader = new Loader(source, plan, collator,
        new Loader.Options(workers, prefetch, 42))) {
      for (int e = 0; e < epochs; e++) {
        List<String> epoch = new ArrayList<>();
        for (Batch batch : (Iterable<Batch>) loader::iterator) {
          try (batch) {
            epoch.add(signature(batch));
          }
        }
        result.add(epoch);
      }
    }
    return result;
  }

  @Test
  void theSameBatchesWhateverTheThreadCount() {
    SampleSource source = new RandomChoiceSource(45, 2000, -1);
    BatchPlan plan = BatchPlan.shuffled(45, 4, 7, true);
    List<List<String>> one = run(1, 1, plan, source, 2);
    List<List<String>> four = run(4, 6, plan, source, 2);
    assertEquals(one, four);
    assertEquals(11, one.get(0).size(), "45 samples in batches of 4, the last 1 dropped");
    assertNotEquals(one.get(0), one.get(1), "each epoch is shuffled anew");
  }

  @Test
  void shuffledEpochsCoverEverySampleOnce() {
    BatchPlan plan = BatchPlan.shuffled(10, 4, 3, false);
    for (int epoch = 0; epoch < 3; epoch++) {
      List<int[]> batches = plan.batches(epoch);
      assertEquals(List.of(4, 4, 2), batches.stream().map(b -> b.length).toList());
      assertArrayEquals(IntStream.range(0, 10).toArray(),
          batches.stream().flatMapToInt(Arrays::stream).sorted().toArray());
      assertArrayEquals(plan.batches(epoch).get(0), batches.get(0), "repeatable");
    }
    assertEquals(2, BatchPlan.shuffled(10, 4, 3, true).batches(0).size());
    assertFalse(Arrays.equals(plan.batches(0).get(0), plan.batches(1).get(0)));
  }

  @Test
  void lengthBucketingSortsWithinWindowsAndKeepsIndices() {
    int[] lengths = {5, 1, 9, 3, 7, 2, 8, 4, 6, 10};
    List<int[]> batches = BatchPlan.lengthBucketed(lengths, 2, 2).batches(0);
    // windows of 4: {5,1,9,3} -> 9,5 | 3,1 ; {7,2,8,4} -> 8,7 | 4,2 ; {6,10} -> 10,6
    List<int[]> expected = List.of(new int[] {2, 0}, new int[] {3, 1}, new int[] {6, 4},
        new int[] {7, 5}, new int[] {9, 8});
    assertEquals(expected.size(), batches.size());
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.get(i), batches.get(i), "batch " + i);
    }
    Collator collator = new Collator(Collator.Padding.DYNAMIC, 8, MAX_FRAMES, 0);
    try (Loader loader = new Loader(new RandomChoiceSource(10, 0, -1),
        BatchPlan.lengthBucketed(lengths, 2, 2), collator, new Loader.Options(2, 2, 1))) {
      Loader.Epoch epoch = loader.epoch(0);
      try (Batch first = epoch.next()) {
        assertArrayEquals(new int[] {2, 0}, first.sampleIndices());
        assertEquals(List.of("video2", "video0"), first.videoIds());
      }
    }
  }

  @Test
  void closeWithAFullQueueStopsEveryThreadAndFreesTheBatches() throws Exception {
    Loader loader = new Loader(new RandomChoiceSource(400, 3000, -1),
        BatchPlan.inOrder(400, 4), new Collator(Collator.Padding.FIXED, 8, MAX_FRAMES, 0),
        new Loader.Options(3, 5, 1));
    Iterator<Batch> batches = loader.iterator();
    batches.next().close();
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (loader.undeliveredBatches() < 5 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(5, loader.undeliveredBatches(), "the queue is full");
    long start = System.nanoTime();
    loader.close();
    assertTrue(System.nanoTime() - start < 5_000_000_000L, "close is prompt");
    assertEquals(0, loader.undeliveredBatches(), "batches never taken are freed");
    assertTrue(Thread.getAllStackTraces().keySet().stream()
        .noneMatch(t -> t.getName().startsWith(loader.threadPrefix()) && t.isAlive()),
        "no worker thread left");
    assertFalse(batches.hasNext());
    assertThrows(IllegalStateException.class, batches::next);
    loader.close();
  }

  @Test
  void closeMidEpochWhileWorkersAreBusy() {
    Loader loader = new Loader(new RandomChoiceSource(1000, 50_000, -1),
        BatchPlan.inOrder(1000, 8), new Collator(Collator.Padding.FIXED, 8, MAX_FRAMES, 0),
        new Loader.Options(4, 8, 1));
    loader.iterator();
    long start = System.nanoTime();
    loader.close();
    assertTrue(System.nanoTime() - start < 5_000_000_000L, "close is prompt");
    assertTrue(Thread.getAllStackTraces().keySet().stream()
        .noneMatch(t -> t.getName().startsWith(loader.threadPrefix()) && t.isAlive()));
    assertEquals(0, loader.undeliveredBatches());
  }

  @Test
  void aWorkersErrorReachesTheConsumerWithItsMessage() {
    try (Loader loader = new Loader(new RandomChoiceSource(12, 0, 6), BatchPlan.inOrder(12, 4),
        new Collator(Collator.Padding.FIXED, 8, MAX_FRAMES, 0), new Loader.Options(2, 3, 1))) {
      Iterator<Batch> batches = loader.iterator();
      batches.next().close();
      DataException error = assertThrows(DataException.class, batches::next);
      assertEquals("feats.zip: item video6: field 'frames': truncated member", error.getMessage());
      assertTrue(error.getCause() instanceof DataException);
      try (Batch last = batches.next()) {
        assertEquals(List.of("video8", "video9", "video10", "video11"), last.videoIds());
      }
      assertFalse(batches.hasNext());
    }
  }

  @Test
  void startingAnEpochAbandonsThePreviousOne() {
    try (Loader loader = new Loader(new RandomChoiceSource(40, 0, -1), BatchPlan.inOrder(40, 4),
        new Collator(Collator.Padding.FIXED, 8, MAX_FRAMES, 0), new Loader.Options(2, 4, 1))) {
      Loader.Epoch first = loader.epoch(0);
      first.next().close();
      Loader.Epoch second = loader.epoch(1);
      assertThrows(IllegalStateException.class, first::next);
      assertEquals(10, second.size());
      int count = 0;
      while (second.hasNext()) {
        second.next().close();
        count++;
      }
      assertEquals(10, count);
      assertEquals(1, second.epoch());
    }
  }
}

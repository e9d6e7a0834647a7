package dev.vidtag.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.runtime.TorchRuntime;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Batches of concurrent submissions: same answers, bounded queue, deadlines, draining. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BatchingClassifierTest {
  /** Fixed padding: a row of a batch differs from the same row alone by rounding only. */
  static final double LOGIT_TOLERANCE = 1e-5;
  /** The confident model's logits are large: rounding moves its probabilities more. */
  static final double PROBABILITY_TOLERANCE = 1e-4;

  @TempDir Path dir;

  @Test
  void concurrentSubmittersGetTheDirectBatchPredictions() throws Exception {
    TorchRuntime.initialize();
    Path data = TinyModels.synth(dir.resolve("data"), 0, 16, 21);
    Path model = ServingFixtures.confidentModel(dir.resolve("model"), data);
    List<Video> videos = TinyModels.videos(data, "test_a");
    try (VideoClassifier classifier = VideoClassifier.open(model);
         BatchingClassifier batcher = new BatchingClassifier(classifier,
             new BatchingClassifier.Options(8, Duration.ofMillis(20), 256))) {
      List<Prediction> expected = classifier.classifyBatch(videos);
      int threads = 6;
      CyclicBarrier start = new CyclicBarrier(threads);
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        List<Future<List<String>>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          long seed = t;
          results.add(pool.submit(() -> {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < videos.size(); i++) {
              order.add(i);
            }
            Collections.shuffle(order, new Random(seed));
            start.await();
            List<CompletableFuture<Prediction>> futures = new ArrayList<>();
            for (int i : order) {
              futures.add(batcher.submit(videos.get(i), Optional.empty()));
            }
            List<String> mismatches = new ArrayList<>();
            for (int k = 0; k < order.size(); k++) {
              compare(expected.get(order.get(k)), futures.get(k).get(60, TimeUnit.SECONDS),
                  mismatches);
            }
            return mismatches;
          }));
        }
        for (Future<List<String>> result : results) {
          assertEquals(List.of(), result.get());
        }
      } finally {
        pool.shutdownNow();
      }
      BatchingClassifier.Statistics stats = batcher.statistics();
      assertEquals(threads * videos.size(), stats.completed());
      long batchedVideos = 0;
      for (int size = 2; size < stats.batchSizeCounts().length; size++) {
        batchedVideos += size * stats.batchSizeCounts()[size];
      }
      assertTrue(batchedVideos > 0, "no batch held more than one video: "
          + java.util.Arrays.toString(stats.batchSizeCounts()));
      assertEquals(stats.completed(), stats.latency().count());
    }
  }

  @Test
  void aFullQueueRefusesAtOnceAndQueuesNothing() throws Exception {
    BlockingBackend backend = new BlockingBackend();
    try (BatchingClassifier batcher = new BatchingClassifier(backend,
        new BatchingClassifier.Options(1, Duration.ZERO, 2))) {
      CompletableFuture<Prediction> running = batcher.submit(v("running"), Optional.empty());
      backend.awaitEntered();
      CompletableFuture<Prediction> first = batcher.submit(v("q1"), Optional.empty());
      // two more do not fit in the one place left: neither is queued
      QueueFullException full = assertThrows(QueueFullException.class,
          () -> batcher.submitAll(List.of(v("q2"), v("q3")), Optional.empty()));
      assertTrue(full.getMessage().contains("1 of 2 places taken, 2 asked"), full.getMessage());
      assertEquals(1, batcher.queueLength());
      CompletableFuture<Prediction> second = batcher.submit(v("q2"), Optional.empty());
      assertThrows(QueueFullException.class, () -> batcher.submit(v("q3"), Optional.empty()));
      backend.release();
      assertEquals("running", running.get(10, TimeUnit.SECONDS).videoId());
      assertEquals("q1", first.get(10, TimeUnit.SECONDS).videoId());
      assertEquals("q2", second.get(10, TimeUnit.SECONDS).videoId());
      assertFalse(backend.seen().contains("q3"));
      assertEquals(3, batcher.statistics().rejectedQueueFull());
    }
  }

  @Test
  void aDeadlinePassingInTheQueueFailsWithoutRunning() throws Exception {
    BlockingBackend backend = new BlockingBackend();
    try (BatchingClassifier batcher = new BatchingClassifier(backend,
        new BatchingClassifier.Options(4, Duration.ZERO, 16))) {
      CompletableFuture<Prediction> running = batcher.submit(v("running"), Optional.empty());
      backend.awaitEntered();
      CompletableFuture<Prediction> late = batcher.submit(v("late"),
          Optional.of(Deadline.after(Duration.ofMillis(30))));
      CompletableFuture<Prediction> patient = batcher.submit(v("patient"), Optional.empty());
      // the worker is still blocked: the timer, not the worker, fails the late one
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> late.get(10, TimeUnit.SECONDS));
      assertInstanceOf(DeadlineExceededException.class, e.getCause());
      assertTrue(e.getCause().getMessage().contains("late"), e.getCause().getMessage());
      assertEquals(1, batcher.queueLength());
      backend.release();
      running.get(10, TimeUnit.SECONDS);
      assertEquals("patient", patient.get(10, TimeUnit.SECONDS).videoId());
      assertFalse(backend.seen().contains("late"));
      assertEquals(1, batcher.statistics().deadlineExceeded());
    }
  }

  @Test
  void aDeadlineShorterThanTheExpectedBatchTimeFailsWithoutRunning() throws Exception {
    List<String> seen = Collections.synchronizedList(new ArrayList<>());
    BatchingClassifier.Backend slow = videos -> {
      videos.forEach(video -> seen.add(video.id()));
      sleep(200);
      return videos.stream().map(video -> ServingFixtures.prediction(video.id(), 0)).toList();
    };
    try (BatchingClassifier batcher = new BatchingClassifier(slow,
        new BatchingClassifier.Options(4, Duration.ZERO, 16))) {
      batcher.submit(v("teaches-the-estimate"), Optional.empty()).get(10, TimeUnit.SECONDS);
      CompletableFuture<Prediction> hopeless = batcher.submit(v("hopeless"),
          Optional.of(Deadline.after(Duration.ofMillis(150))));
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> hopeless.get(10, TimeUnit.SECONDS));
      assertInstanceOf(DeadlineExceededException.class, e.getCause());
      assertTrue(e.getCause().getMessage().contains("expected to take"),
          e.getCause().getMessage());
      assertEquals(List.of("teaches-the-estimate"), seen);
      // a deadline the batch fits in runs
      assertEquals("roomy", batcher.submit(v("roomy"),
          Optional.of(Deadline.after(Duration.ofSeconds(30)))).get(10, TimeUnit.SECONDS)
          .videoId());
    }
  }

  @Test
  void anExpiredDeadlineFailsAtOnce() {
    List<String> seen = Collections.synchronizedList(new ArrayList<>());
    try (BatchingClassifier batcher = new BatchingClassifier(recording(seen),
        BatchingClassifier.Options.defaults())) {
      CompletableFuture<Prediction> f = batcher.submit(v("expired"),
          Optional.of(new Deadline(System.nanoTime() - 1)));
      assertTrue(f.isCompletedExceptionally());
      assertEquals(List.of(), seen);
    }
  }

  @Test
  void closeRunsEverythingQueuedThenRefuses() throws Exception {
    BlockingBackend backend = new BlockingBackend();
    BatchingClassifier batcher = new BatchingClassifier(backend,
        new BatchingClassifier.Options(2, Duration.ofSeconds(5), 64));
    List<CompletableFuture<Prediction>> futures = new ArrayList<>();
    futures.add(batcher.submit(v("v0"), Optional.empty()));
    futures.add(batcher.submit(v("v1"), Optional.empty()));
    backend.awaitEntered();
    for (int i = 2; i < 9; i++) {
      futures.add(batcher.submit(v("v" + i), Optional.empty()));
    }
    CountDownLatch closed = new CountDownLatch(1);
    Thread closer = new Thread(() -> {
      batcher.close();
      closed.countDown();
    });
    closer.start();
    // close waits for the queued work, which waits for the blocked batch
    assertFalse(closed.await(200, TimeUnit.MILLISECONDS));
    backend.release();
    assertTrue(closed.await(10, TimeUnit.SECONDS));
    for (int i = 0; i < futures.size(); i++) {
      // done before close returned, not later: nothing is left behind
      assertTrue(futures.get(i).isDone());
      assertEquals("v" + i, futures.get(i).get().videoId());
    }
    assertThrows(IllegalStateException.class, () -> batcher.submit(v("after"), Optional.empty()));
    // closing skipped the 5 s wait for company: the last, odd video ran alone at once
    assertEquals(9, batcher.statistics().completed());
  }

  @Test
  void aFullQueueIsBatchedByLengthAndTheOldestGoesFirst() throws Exception {
    BlockingBackend backend = new BlockingBackend();
    try (BatchingClassifier batcher = new BatchingClassifier(backend,
        new BatchingClassifier.Options(4, Duration.ZERO, 64))) {
      CompletableFuture<Prediction> blocker = batcher.submit(v("blocker"), Optional.empty());
      backend.awaitEntered();
      List<CompletableFuture<Prediction>> futures = new ArrayList<>();
      // lengths alternate short (1-4 characters) and long (500-503) in arrival order
      for (int i = 0; i < 8; i++) {
        int length = i % 2 == 0 ? 1 + i / 2 : 500 + i / 2;
        futures.add(batcher.submit(ServingFixtures.video("len" + length, length, 1),
            Optional.empty()));
      }
      backend.release();
      blocker.get(10, TimeUnit.SECONDS);
      for (CompletableFuture<Prediction> f : futures) {
        f.get(10, TimeUnit.SECONDS);
      }
      List<List<String>> batches = backend.batches();
      assertEquals(List.of(List.of("blocker"), List.of("len1", "len2", "len3", "len4"),
          List.of("len500", "len501", "len502", "len503")), batches);
    }
  }

  @Test
  void aFailingVideoFailsAloneAndTheWorkerGoesOn() throws Exception {
    BatchingClassifier.Backend picky = videos -> {
      if (videos.stream().anyMatch(video -> video.id().equals("bad"))) {
        throw new IllegalArgumentException("bad video");
      }
      return videos.stream().map(video -> ServingFixtures.prediction(video.id(), 1)).toList();
    };
    try (BatchingClassifier batcher = new BatchingClassifier(picky,
        new BatchingClassifier.Options(8, Duration.ofMillis(200), 16))) {
      List<CompletableFuture<Prediction>> futures = batcher.submitAll(
          List.of(v("good1"), v("bad"), v("good2")), Optional.empty());
      assertEquals("good1", futures.get(0).get(10, TimeUnit.SECONDS).videoId());
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> futures.get(1).get(10, TimeUnit.SECONDS));
      assertEquals("bad video", e.getCause().getMessage());
      assertEquals("good2", futures.get(2).get(10, TimeUnit.SECONDS).videoId());
      assertEquals("next", batcher.submit(v("next"), Optional.empty())
          .get(10, TimeUnit.SECONDS).videoId());
      assertEquals(1, batcher.statistics().failed());
    }
  }

  @Test
  void aLoneVideoAtLowLoadDoesNotWaitForCompany() throws Exception {
    List<String> seen = Collections.synchronizedList(new ArrayList<>());
    try (BatchingClassifier batcher = new BatchingClassifier(recording(seen),
        new BatchingClassifier.Options(8, Duration.ofSeconds(1), 16))) {
      // nothing is known about the load yet: the first video waits for company
      long start = System.nanoTime();
      batcher.submit(v("first"), Optional.empty()).get(10, TimeUnit.SECONDS);
      assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(900));
      Thread.sleep(2100);
      // submissions 2 s apart: no company is expected within the 1 s wait, so none is awaited
      start = System.nanoTime();
      batcher.submit(v("second"), Optional.empty()).get(10, TimeUnit.SECONDS);
      long waited = System.nanoTime() - start;
      assertTrue(waited < TimeUnit.MILLISECONDS.toNanos(500), "waited " + waited / 1e6 + " ms");
      assertEquals(List.of("first", "second"), seen);
    }
  }

  @Test
  void optionsAreCheckedWithClearMessages() {
    assertEquals("the batch size limit must be between 1 and 1024, got 0",
        assertThrows(IllegalArgumentException.class,
            () -> new BatchingClassifier.Options(0, Duration.ZERO, 1)).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> new BatchingClassifier.Options(4, Duration.ofMillis(-1), 1)).getMessage()
        .contains("got -1 ms"));
    assertEquals("the queue capacity must be between 1 and 1048576, got 0",
        assertThrows(IllegalArgumentException.class,
            () -> new BatchingClassifier.Options(4, Duration.ZERO, 0)).getMessage());
  }

  private static Video v(String id) {
    return ServingFixtures.video(id, 3, 1);
  }

  private static BatchingClassifier.Backend recording(List<String> seen) {
    return videos -> {
      videos.forEach(video -> seen.add(video.id()));
      return videos.stream().map(video -> ServingFixtures.prediction(video.id(), 0)).toList();
    };
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void compare(Prediction expected, Prediction actual, List<String> mismatches) {
    double error = TinyModels.relativeError(actual.logits(), expected.logits());
    List<String> expectedTop = expected.top().stream().limit(5)
        .map(Prediction.ScoredCategory::categoryId).toList();
    List<String> actualTop = actual.top().stream().limit(5)
        .map(Prediction.ScoredCategory::categoryId).toList();
    if (!expected.videoId().equals(actual.videoId()) || error > LOGIT_TOLERANCE
        || !expectedTop.equals(actualTop)
        || Math.abs(expected.probability() - actual.probability()) > PROBABILITY_TOLERANCE) {
      mismatches.add(actual.videoId() + " vs " + expected.videoId() + ": top " + actualTop
          + " vs " + expectedTop + ", logits relative error " + error + ", probability "
          + actual.probability() + " vs " + expected.probability());
    }
  }

  /**
   * A backend whose first batch blocks until {@link #release()}: the queue behind it fills
   * deterministically. Records every batch.
   */
  static final class BlockingBackend implements BatchingClassifier.Backend {
    private final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);
    private final List<List<String>> batches = Collections.synchronizedList(new ArrayList<>());

    @Override
    public List<Prediction> classifyBatch(List<Video> videos) {
      batches.add(videos.stream().map(Video::id).toList());
      entered.countDown();
      try {
        if (!released.await(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException("never released");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      return videos.stream().map(video -> ServingFixtures.prediction(video.id(), 2)).toList();
    }

    void awaitEntered() throws InterruptedException {
      assertTrue(entered.await(10, TimeUnit.SECONDS), "the worker never ran a batch");
    }

    void release() {
      released.countDown();
    }

    List<String> seen() {
      synchronized (batches) {
        return batches.stream().flatMap(List::stream).toList();
      }
    }

    List<List<String>> batches() {
      synchronized (batches) {
        return List.copyOf(batches);
      }
    }
  }
}

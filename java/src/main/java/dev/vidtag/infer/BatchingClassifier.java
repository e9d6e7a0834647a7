package dev.vidtag.infer;

import dev.vidtag.data.OcrText;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Groups videos submitted one at a time by concurrent callers into batches, so that a server
 * answering single requests still gets the throughput of batched forward passes.
 *
 * <p>One worker thread takes up to {@code maxBatch} queued videos at a time, waiting at most
 * {@code maxWait} after the oldest one arrived for others to join it, and not at all while
 * submissions arrive further apart than that (on average): at low load the wait would add
 * latency and find no company. When more than a batch is
 * waiting, the batch is the oldest video plus the waiting videos of the most similar lengths
 * (text, then frames), which saves padding; the oldest video always goes, so none starves.
 *
 * <ul>
 *   <li>The queue is bounded: a submission that does not fit is refused at once with a
 *       {@link QueueFullException}, and nothing of it is queued.
 *   <li>A video with a {@link Deadline} completes with a {@link DeadlineExceededException},
 *       without running, when the deadline passes while it waits, or when the batch it would join
 *       is expected to take longer than the time left (from the times of past batches of that
 *       size).
 *   <li>When a batch fails, its videos are run one by one, so that one bad video fails alone.
 *   <li>Futures complete on the worker thread, so actions chained to them without an executor
 *       run there and hold up the next batch: give heavy ones an executor (the {@code ...Async}
 *       variants), as the HTTP server does.
 *   <li>{@link #close()} refuses new work, runs everything already queued, then stops the worker.
 *       It does not close the backend: whoever opened the {@link VideoClassifier} closes it,
 *       after this.
 * </ul>
 */
public final class BatchingClassifier implements AutoCloseable {

  /** What runs the batches: {@link VideoClassifier#classifyBatch} in production. */
  @FunctionalInterface
  public interface Backend {
    /** The predictions of the videos, in their order. */
    List<Prediction> classifyBatch(List<Video> videos);
  }

  /**
   * How videos are batched.
   *
   * @param maxBatch the most videos in one batch
   * @param maxWait how long the oldest waiting video may wait for others before its batch runs
   * @param queueCapacity the most videos waiting at once (running ones not counted)
   */
  public record Options(int maxBatch, Duration maxWait, int queueCapacity) {
    public static final int MAX_BATCH_LIMIT = 1024;
    public static final Duration MAX_WAIT_LIMIT = Duration.ofSeconds(10);
    public static final int QUEUE_CAPACITY_LIMIT = 1 << 20;

    public Options {
      if (maxBatch < 1 || maxBatch > MAX_BATCH_LIMIT) {
        throw new IllegalArgumentException("the batch size limit must be between 1 and "
            + MAX_BATCH_LIMIT + ", got " + maxBatch);
      }
      Objects.requireNonNull(maxWait, "maxWait");
      if (maxWait.isNegative() || maxWait.compareTo(MAX_WAIT_LIMIT) > 0) {
        throw new IllegalArgumentException("the longest wait for a batch to fill must be between "
            + "0 and " + MAX_WAIT_LIMIT.toSeconds() + " s, got " + maxWait.toMillis() + " ms");
      }
      if (queueCapacity < 1 || queueCapacity > QUEUE_CAPACITY_LIMIT) {
        throw new IllegalArgumentException("the queue capacity must be between 1 and "
            + QUEUE_CAPACITY_LIMIT + ", got " + queueCapacity);
      }
    }

    /** Batches of up to 16, 5 ms of waiting, 256 queued videos. */
    public static Options defaults() {
      return new Options(16, Duration.ofMillis(5), 256);
    }

    public Options withMaxBatch(int newMaxBatch) {
      return new Options(newMaxBatch, maxWait, queueCapacity);
    }

    public Options withMaxWait(Duration newMaxWait) {
      return new Options(maxBatch, newMaxWait, queueCapacity);
    }

    public Options withQueueCapacity(int newQueueCapacity) {
      return new Options(maxBatch, maxWait, newQueueCapacity);
    }
  }

  /**
   * Counters since the classifier was created, for metrics.
   *
   * @param submitted videos accepted into the queue
   * @param completed videos that got a prediction
   * @param failed videos whose run failed
   * @param rejectedQueueFull videos refused because the queue was full
   * @param deadlineExceeded videos completed with a {@link DeadlineExceededException}
   * @param batches batches run (retries of a failed batch one by one not counted)
   * @param batchSizeCounts at index {@code n}, how many batches held {@code n} videos
   * @param queueLength videos waiting now
   * @param queueCapacity the most that may wait
   * @param latency per completed video, from submission to its prediction
   * @param batchTime per batch, the backend's time
   */
  public record Statistics(long submitted, long completed, long failed, long rejectedQueueFull,
      long deadlineExceeded, long batches, long[] batchSizeCounts, int queueLength,
      int queueCapacity, LatencyHistogram.Snapshot latency, LatencyHistogram.Snapshot batchTime) {}

  /** One queued video and the future its caller holds. */
  private static final class Pending {
    final Video video;
    final Deadline deadline;
    final long submittedNanos;
    final long lengthKey;
    final CompletableFuture<Prediction> future = new CompletableFuture<>();
    ScheduledFuture<?> expiry;

    Pending(Video video, Deadline deadline, long submittedNanos) {
      this.video = video;
      this.deadline = deadline;
      this.submittedNanos = submittedNanos;
      this.lengthKey = lengthKey(video);
    }
  }

  /** Texts longer than this many characters are cut by every model's text rule anyway. */
  private static final int TEXT_LENGTH_CAP = 1024;
  private static final int FRAME_COUNT_CAP = 1023;
  private static final double ESTIMATE_SMOOTHING = 0.2;
  private static final double ARRIVAL_SMOOTHING = 0.1;

  private final Backend backend;
  private final Options options;
  private final long maxWaitNanos;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition workAvailable = lock.newCondition();
  /** Waiting videos in arrival order; guarded by {@link #lock}. */
  private final List<Pending> queue = new ArrayList<>();
  private boolean closing;
  /** Smoothed time between submissions, and the last one; guarded by {@link #lock}. */
  private double arrivalGapNanos;
  private long lastArrivalNanos;
  private boolean arrived;
  private final Thread worker;
  private final ScheduledThreadPoolExecutor deadlineTimer;
  /** Smoothed backend time of a batch, by its size; read and written by the worker only. */
  private final double[] batchNanosBySize;

  private final LongAdder submitted = new LongAdder();
  private final LongAdder completed = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder rejectedQueueFull = new LongAdder();
  private final LongAdder deadlineExceeded = new LongAdder();
  private final LongAdder batches = new LongAdder();
  private final AtomicLongArray batchSizeCounts;
  private final LatencyHistogram latency = new LatencyHistogram();
  private final LatencyHistogram batchTime = new LatencyHistogram();

  /** Batches over a classifier's {@link VideoClassifier#classifyBatch}. */
  public BatchingClassifier(VideoClassifier classifier, Options options) {
    this(Objects.requireNonNull(classifier, "classifier")::classifyBatch, options);
  }

  public BatchingClassifier(Backend backend, Options options) {
    this.backend = Objects.requireNonNull(backend, "backend");
    this.options = Objects.requireNonNull(options, "options");
    this.maxWaitNanos = options.maxWait().toNanos();
    this.batchNanosBySize = new double[options.maxBatch() + 1];
    this.batchSizeCounts = new AtomicLongArray(options.maxBatch() + 1);
    this.deadlineTimer = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread t = new Thread(runnable, "vidtag-batching-deadlines");
      t.setDaemon(true);
      return t;
    });
    deadlineTimer.setRemoveOnCancelPolicy(true);
    this.worker = new Thread(this::runWorker, "vidtag-batching");
    // a forgotten close must not keep the JVM alive; close() is what drains the queue
    worker.setDaemon(true);
    worker.start();
  }

  public Options options() {
    return options;
  }

  /**
   * Queues one video.
   *
   * @return its prediction, or a {@link DeadlineExceededException}, or the backend's failure
   * @throws QueueFullException when the queue is full
   * @throws IllegalStateException after {@link #close()}
   */
  public CompletableFuture<Prediction> submit(Video video, Optional<Deadline> deadline) {
    return submitAll(List.of(video), deadline).get(0);
  }

  /**
   * Queues several videos together: all of them, or, when they do not all fit, none.
   *
   * @return one future per video, in their order
   * @throws QueueFullException when the queue has fewer free places than videos
   * @throws IllegalStateException after {@link #close()}
   */
  public List<CompletableFuture<Prediction>> submitAll(List<Video> videos,
      Optional<Deadline> deadline) {
    Objects.requireNonNull(deadline, "deadline");
    videos.forEach(v -> Objects.requireNonNull(v, "video"));
    long now = System.nanoTime();
    Deadline due = deadline.orElse(null);
    List<Pending> pending = new ArrayList<>(videos.size());
    for (Video video : videos) {
      pending.add(new Pending(video, due, now));
    }
    lock.lock();
    try {
      if (closing) {
        throw new IllegalStateException("the batching classifier is closed");
      }
      if (queue.size() + pending.size() > options.queueCapacity()) {
        rejectedQueueFull.add(pending.size());
        throw new QueueFullException("the queue is full: " + queue.size() + " of "
            + options.queueCapacity() + " places taken, " + pending.size() + " asked");
      }
      submitted.add(pending.size());
      if (arrived) {
        // capped, so that one long idle spell does not hide a burst that follows it for long
        long gap = Math.min(now - lastArrivalNanos, 2 * maxWaitNanos);
        arrivalGapNanos = arrivalGapNanos == 0 ? gap
            : arrivalGapNanos + ARRIVAL_SMOOTHING * (gap - arrivalGapNanos);
      }
      arrived = true;
      lastArrivalNanos = now;
      if (due != null && due.hasPassed(now)) {
        for (Pending p : pending) {
          expire(p, "the deadline had passed when the video was submitted");
        }
      } else {
        queue.addAll(pending);
        if (due != null) {
          for (Pending p : pending) {
            p.expiry = deadlineTimer.schedule(() -> expireIfWaiting(p),
                due.remainingNanos(now), TimeUnit.NANOSECONDS);
          }
        }
        workAvailable.signalAll();
      }
    } finally {
      lock.unlock();
    }
    return pending.stream().map(p -> p.future).toList();
  }

  /** Videos waiting now. */
  public int queueLength() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  public Statistics statistics() {
    long[] sizes = new long[batchSizeCounts.length()];
    for (int i = 0; i < sizes.length; i++) {
      sizes[i] = batchSizeCounts.get(i);
    }
    return new Statistics(submitted.sum(), completed.sum(), failed.sum(), rejectedQueueFull.sum(),
        deadlineExceeded.sum(), batches.sum(), sizes, queueLength(), options.queueCapacity(),
        latency.snapshot(), batchTime.snapshot());
  }

  /**
   * Refuses new work, runs every video already queued, and returns when the worker has
   * stopped. Waits uninterruptibly (an interrupt is kept for the caller): returning early would
   * leave callers' futures unanswered.
   */
  @Override
  public void close() {
    lock.lock();
    try {
      closing = true;
      workAvailable.signalAll();
    } finally {
      lock.unlock();
    }
    if (Thread.currentThread() != worker) {
      boolean interrupted = false;
      while (worker.isAlive()) {
        try {
          worker.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    deadlineTimer.shutdownNow();
  }

  private void runWorker() {
    List<Pending> batch;
    while ((batch = nextBatch()) != null) {
      run(batch);
    }
  }

  /** Blocks for the next batch; null once closing and nothing is left. */
  private List<Pending> nextBatch() {
    lock.lock();
    try {
      while (true) {
        while (queue.isEmpty() && !closing) {
          workAvailable.awaitUninterruptibly();
        }
        if (queue.isEmpty()) {
          return null;
        }
        // closing flushes at once: nobody else is coming to fill the batch
        while (!closing && !queue.isEmpty() && queue.size() < options.maxBatch()
            && companyExpected()) {
          long left = queue.get(0).submittedNanos + maxWaitNanos - System.nanoTime();
          if (left <= 0) {
            break;
          }
          try {
            workAvailable.awaitNanos(left);
          } catch (InterruptedException e) {
            // only close() ends the worker; an interrupt from elsewhere is not a reason to stop
          }
        }
        if (!queue.isEmpty()) {
          List<Pending> batch = selectBatch();
          queue.removeAll(batch);
          return batch;
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /** Whether another submission is likely within the longest wait, from the recent gaps. */
  private boolean companyExpected() {
    return arrivalGapNanos <= maxWaitNanos;
  }

  /**
   * The whole queue when it fits in a batch; else the oldest video and the {@code maxBatch - 1}
   * others that give the narrowest range of lengths around it.
   */
  private List<Pending> selectBatch() {
    int maxBatch = options.maxBatch();
    if (queue.size() <= maxBatch) {
      return new ArrayList<>(queue);
    }
    Pending oldest = queue.get(0);
    List<Pending> byLength = new ArrayList<>(queue);
    byLength.sort(Comparator.comparingLong(p -> p.lengthKey)); // stable: arrival order in ties
    int position = byLength.indexOf(oldest);
    int bestStart = -1;
    long bestSpread = Long.MAX_VALUE;
    int firstStart = Math.max(0, position - maxBatch + 1);
    int lastStart = Math.min(position, byLength.size() - maxBatch);
    for (int start = firstStart; start <= lastStart; start++) {
      long spread = byLength.get(start + maxBatch - 1).lengthKey - byLength.get(start).lengthKey;
      if (spread < bestSpread) {
        bestSpread = spread;
        bestStart = start;
      }
    }
    return new ArrayList<>(byLength.subList(bestStart, bestStart + maxBatch));
  }

  private void run(List<Pending> taken) {
    long now = System.nanoTime();
    List<Pending> batch = new ArrayList<>(taken.size());
    for (Pending p : taken) {
      if (p.expiry != null) {
        p.expiry.cancel(false);
      }
      if (p.future.isDone()) {
        continue; // cancelled by its caller
      }
      if (p.deadline != null && p.deadline.hasPassed(now)) {
        expire(p, "the deadline had passed when the video was taken from the queue");
      } else {
        batch.add(p);
      }
    }
    // dropping a video shortens the batch and so its expected time: repeat until stable
    boolean dropped = true;
    while (dropped && !batch.isEmpty()) {
      long expected = expectedNanos(batch.size());
      dropped = batch.removeIf(p -> {
        if (p.deadline == null || p.deadline.remainingNanos(now) >= expected) {
          return false;
        }
        expire(p, String.format(Locale.ROOT, "a batch of %d is expected to take "
            + "%.1f ms, only %.1f ms were left", batch.size(), expected / 1e6,
            p.deadline.remainingNanos(now) / 1e6));
        return true;
      });
    }
    if (batch.isEmpty()) {
      return;
    }
    List<Video> videos = batch.stream().map(p -> p.video).toList();
    long start = System.nanoTime();
    List<Prediction> predictions;
    try {
      predictions = checkedBatch(videos);
    } catch (RuntimeException | Error e) {
      if (batch.size() == 1) {
        fail(batch.get(0), e);
      } else {
        batch.forEach(this::runAlone);
      }
      return;
    }
    long end = System.nanoTime();
    recordBatch(batch.size(), end - start);
    for (int i = 0; i < batch.size(); i++) {
      succeed(batch.get(i), predictions.get(i), end);
    }
  }

  private void runAlone(Pending p) {
    try {
      Prediction prediction = checkedBatch(List.of(p.video)).get(0);
      succeed(p, prediction, System.nanoTime());
    } catch (RuntimeException | Error e) {
      fail(p, e);
    }
  }

  private List<Prediction> checkedBatch(List<Video> videos) {
    List<Prediction> predictions = backend.classifyBatch(videos);
    if (predictions == null || predictions.size() != videos.size()) {
      throw new IllegalStateException("the backend answered a batch of " + videos.size()
          + " with " + (predictions == null ? "nothing" : predictions.size() + " predictions"));
    }
    return predictions;
  }

  private void recordBatch(int size, long nanos) {
    batches.increment();
    batchSizeCounts.incrementAndGet(size);
    batchTime.recordNanos(nanos);
    double previous = batchNanosBySize[size];
    batchNanosBySize[size] = previous == 0 ? nanos
        : previous + ESTIMATE_SMOOTHING * (nanos - previous);
  }

  /**
   * The expected backend time of a batch of {@code size}: its own smoothed history, else that of
   * the nearest size seen, scaled in proportion; 0 before any batch ran (nothing is refused on a
   * guess).
   */
  private long expectedNanos(int size) {
    if (batchNanosBySize[size] > 0) {
      return (long) batchNanosBySize[size];
    }
    for (int distance = 1; distance < batchNanosBySize.length; distance++) {
      for (int other : new int[] {size - distance, size + distance}) {
        if (other >= 1 && other < batchNanosBySize.length && batchNanosBySize[other] > 0) {
          return (long) (batchNanosBySize[other] * size / other);
        }
      }
    }
    return 0;
  }

  // Counted before the future completes, so that a caller who sees its answer also sees it in
  // the statistics. A caller's cancel in between is counted as the outcome that lost the race.
  private void succeed(Pending p, Prediction prediction, long nowNanos) {
    if (!p.future.isDone()) {
      completed.increment();
      latency.recordNanos(nowNanos - p.submittedNanos);
      p.future.complete(prediction);
    }
  }

  private void fail(Pending p, Throwable e) {
    if (!p.future.isDone()) {
      failed.increment();
      p.future.completeExceptionally(e);
    }
  }

  private void expire(Pending p, String why) {
    if (!p.future.isDone()) {
      deadlineExceeded.increment();
      p.future.completeExceptionally(new DeadlineExceededException("video " + p.video.id()
          + " not run: " + why));
    }
  }

  /** The deadline timer's task: a video still waiting at its deadline leaves the queue. */
  private void expireIfWaiting(Pending p) {
    lock.lock();
    try {
      if (!queue.remove(p)) {
        return; // already taken by the worker, which checks the deadline itself
      }
    } finally {
      lock.unlock();
    }
    expire(p, "the deadline passed while it waited in the queue");
  }

  /** Sorts by text length, then frame count; both capped where the models cut anyway. */
  private static long lengthKey(Video video) {
    long text = (long) video.annotation().title().length() + video.annotation().asr().length();
    for (OcrText ocr : video.annotation().ocr()) {
      text += ocr.text().length();
    }
    return Math.min(text, TEXT_LENGTH_CAP) * (FRAME_COUNT_CAP + 1)
        + Math.min(video.frames().frames(), FRAME_COUNT_CAP);
  }
}

package dev.vidtag.data;

import dev.vidtag.io.DataException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and collates batches on background threads while the consumer trains or predicts.
 *
 * <p>Repeatable: batch k of an epoch holds the samples the {@link BatchPlan} lists for (epoch,
 * k), each read with a seed derived from (seed, epoch, sample index), and batches are handed out
 * in plan order. Threads change only when work happens, never what it produces, so 1 worker and
 * 8 give the same sequence.
 *
 * <p>Bounded: at most {@code prefetch} batches are being built or waiting for the consumer.
 *
 * <p>Ownership: the consumer owns every batch {@link Iterator#next()} returns and closes it.
 * Batches built but never taken (an epoch left early, or the loader closed) are closed here.
 *
 * <p>Errors: a failure in a worker is thrown by {@code next()} in the consumer's thread, with
 * the worker's message and the worker's exception as its cause.
 *
 * <p>{@link #close()} stops the workers: queued work is skipped, a batch in progress is finished
 * and freed, and the threads are gone when it returns. The loader does not own its source (a
 * split's feature store may serve several loaders): close the source after the loader, which is
 * safe because no worker reads from it any more.
 */
public final class Loader implements Iterable<Batch>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Loader.class);
  private static final AtomicInteger LOADERS = new AtomicInteger();
  private static final long GRACEFUL_STOP_SECONDS = 10;

  /**
   * @param workers background threads (at least 1)
   * @param prefetch batches in flight at most (at least 1)
   * @param seed the seed of the samples' random choices
   */
  public record Options(int workers, int prefetch, long seed) {
    public Options {
      if (workers < 1 || prefetch < 1) {
        throw new IllegalArgumentException("workers and prefetch must be at least 1, got "
            + workers + " and " + prefetch);
      }
    }
  }

  private final SampleSource source;
  private final BatchPlan plan;
  private final Collator collator;
  private final Options options;
  private final ExecutorService workers;
  private final String threadPrefix;
  private final AtomicInteger undelivered = new AtomicInteger();
  private Epoch current;
  private int nextEpoch;
  private boolean closed;

  public Loader(SampleSource source, BatchPlan plan, Collator collator, Options options) {
    this.source = source;
    this.plan = plan;
    this.collator = collator;
    this.options = options;
    this.threadPrefix = "vidtag-loader-" + LOADERS.incrementAndGet() + "-";
    AtomicInteger threadCount = new AtomicInteger();
    ThreadFactory threads = task -> {
      Thread thread = new Thread(task, threadPrefix + threadCount.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
    this.workers = Executors.newFixedThreadPool(options.workers(), threads);
  }

  /** The batches of the next epoch (0, 1, 2, ... in the order of calls). */
  @Override
  public synchronized Iterator<Batch> iterator() {
    return epoch(nextEpoch);
  }

  /**
   * The batches of an epoch, starting the workers on them. Starting an epoch abandons the
   * previous one: its batches not yet taken are freed.
   */
  public synchronized Epoch epoch(int epoch) {
    if (closed) {
      throw new IllegalStateException("loader closed");
    }
    if (current != null) {
      current.abandon();
    }
    nextEpoch = epoch + 1;
    current = new Epoch(epoch, plan.batches(epoch));
    current.fill();
    return current;
  }

  /** Threads of this loader are named with this prefix. */
  String threadPrefix() {
    return threadPrefix;
  }

  /** Batches built and neither handed out nor freed (0 after close). */
  int undeliveredBatches() {
    return undelivered.get();
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (current != null) {
        current.abandon();
      }
    }
    workers.shutdown();
    try {
      if (!workers.awaitTermination(GRACEFUL_STOP_SECONDS, TimeUnit.SECONDS)) {
        log.warn("loader workers still busy after {} s; interrupting them", GRACEFUL_STOP_SECONDS);
        workers.shutdownNow();
        workers.awaitTermination(GRACEFUL_STOP_SECONDS, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      workers.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** One pass over a plan's batches, in order. */
  public final class Epoch implements Iterator<Batch> {
    private final int epoch;
    private final List<int[]> batches;
    private final ArrayDeque<Pending> inFlight = new ArrayDeque<>();
    private int submitted;
    private int taken;

    private Epoch(int epoch, List<int[]> batches) {
      this.epoch = epoch;
      this.batches = batches;
    }

    public int epoch() {
      return epoch;
    }

    /** The number of batches in this epoch. */
    public int size() {
      return batches.size();
    }

    @Override
    public boolean hasNext() {
      synchronized (Loader.this) {
        return taken < batches.size() && !closed && current == this;
      }
    }

    @Override
    public Batch next() {
      Pending head;
      synchronized (Loader.this) {
        if (closed || current != this) {
          throw new IllegalStateException(closed ? "loader closed" : "epoch " + epoch
              + " was abandoned when another epoch started");
        }
        if (taken >= batches.size()) {
          throw new NoSuchElementException("epoch " + epoch + " has " + batches.size()
              + " batches");
        }
        head = inFlight.poll();
        taken++;
        fill();
      }
      return head.await();
    }

    /** Keeps {@code prefetch} batches in flight. */
    private void fill() {
      while (inFlight.size() < options.prefetch() && submitted < batches.size()) {
        Pending pending = new Pending(epoch, submitted, batches.get(submitted));
        inFlight.add(pending);
        submitted++;
        workers.execute(pending);
      }
    }

    private void abandon() {
      for (Pending pending : inFlight) {
        pending.abandon();
      }
      inFlight.clear();
    }
  }

  /** One batch being built: the hand-over between a worker and the consumer. */
  private final class Pending implements Runnable {
    private final int epoch;
    private final int position;
    private final int[] indices;
    private Batch batch;
    private Throwable error;
    private boolean done;
    private boolean abandoned;

    Pending(int epoch, int position, int[] indices) {
      this.epoch = epoch;
      this.position = position;
      this.indices = indices;
    }

    @Override
    public void run() {
      synchronized (this) {
        if (abandoned) {
          return;
        }
      }
      Batch built = null;
      Throwable failure = null;
      try {
        List<Sample> samples = new ArrayList<>(indices.length);
        for (int index : indices) {
          samples.add(source.sample(index, Seeds.mix(options.seed(), epoch, index)));
        }
        built = collator.collate(samples, indices);
      } catch (Throwable e) {
        failure = e;
      }
      synchronized (this) {
        if (abandoned) {
          if (built != null) {
            built.close();
          }
          return;
        }
        batch = built;
        error = failure;
        done = true;
        if (built != null) {
          undelivered.incrementAndGet();
        }
        notifyAll();
      }
    }

    synchronized Batch await() {
      try {
        while (!done && !abandoned) {
          wait();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        abandon();
        throw new IllegalStateException("interrupted while waiting for batch " + position
            + " of epoch " + epoch, e);
      }
      if (abandoned) {
        throw new IllegalStateException("loader closed while waiting for batch " + position);
      }
      if (error != null) {
        throw rethrown(error);
      }
      undelivered.decrementAndGet();
      Batch result = batch;
      batch = null;
      return result;
    }

    synchronized void abandon() {
      abandoned = true;
      if (batch != null) {
        batch.close();
        batch = null;
        undelivered.decrementAndGet();
      }
      notifyAll();
    }
  }

  /** The worker's failure for the consumer's thread: same kind and message where possible. */
  private static RuntimeException rethrown(Throwable error) {
    String message = error.getMessage() != null ? error.getMessage() : error.toString();
    if (error instanceof DataException) {
      return new DataException(message, error);
    }
    if (error instanceof IllegalArgumentException) {
      return new IllegalArgumentException(message, error);
    }
    return new IllegalStateException(message, error);
  }
}

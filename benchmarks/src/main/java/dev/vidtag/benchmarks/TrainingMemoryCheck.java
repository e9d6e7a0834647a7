package dev.vidtag.benchmarks;

import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.runtime.TorchRuntime;
import dev.vidtag.train.ParameterGroups;
import dev.vidtag.train.TrainOptions;
import dev.vidtag.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Checks that native memory stays flat over a long training run: trains the tiny single-stream
 * model of a generated dataset for at least 2,000 steps (EMA and PGD on, states saved every 500
 * steps) while a thread samples the process's resident set size, and fails when the largest RSS
 * after warm-up (the first fifth of the run) exceeds the RSS at the end of warm-up by 5% or more.
 *
 * <p>Run it with {@code benchmarks/training-rss.sh [STEPS] [WORK_DIR]}, which fixes the Java heap
 * and touches it up front: otherwise the heap growing towards its maximum shows in the RSS too.
 */
public final class TrainingMemoryCheck {
  private static final double LIMIT = 0.05;
  private static final double WARM_UP = 0.2;

  private TrainingMemoryCheck() {}

  record Sample(long nanos, long rssKb) {}

  public static void main(String[] args) throws Exception {
    int steps = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    Path work = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("vidtag-rss");
    TorchRuntime.initialize();
    TorchRuntime.setThreads(2);
    Path data = work.resolve("data");
    int labeled = 600;
    int batch = 8;
    new SyntheticDataset(new SyntheticDataset.Options(labeled, 0, 0, 32,
        SyntheticDataset.FrameKind.NPY, 5))
        .write(data, (directory, config, seed) -> HuggingFaceBert.writeRandomWeights(directory, seed));
    int stepsPerEpoch = (labeled - labeled / 10) / batch;
    int epochs = (steps + stepsPerEpoch - 1) / stepsPerEpoch;
    long total = (long) epochs * stepsPerEpoch;
    TrainOptions options = TrainOptions.builder(data, dev.vidtag.model.Architecture.SINGLE,
        data.resolve(SyntheticDataset.TEXT_MODEL), work.resolve("run"))
        .epochs(epochs).batchSize(batch).maxFrames(8).maxText(48)
        .learningRates(new ParameterGroups.LearningRates(1e-3, 2e-3, 2e-3)).emaDecay(0.99)
        .pgd(3, 0.05, 0.02).fgmEpsilon(0.05).evaluateEvery(total).evaluateFrom(total).build();

    List<Sample> samples = new ArrayList<>();
    Thread sampler = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        synchronized (samples) {
          samples.add(new Sample(System.nanoTime(), residentKb()));
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "rss-sampler");
    long start = System.nanoTime();
    sampler.start();
    Trainer.Result result = new Trainer(options).run();
    sampler.interrupt();
    sampler.join();
    long end = System.nanoTime();

    long warmEnd = start + (long) (WARM_UP * (end - start));
    long atWarmUp = 0;
    long peakAfter = 0;
    for (Sample s : samples) {
      if (s.nanos() <= warmEnd) {
        atWarmUp = s.rssKb();
      } else {
        peakAfter = Math.max(peakAfter, s.rssKb());
      }
    }
    StringBuilder profile = new StringBuilder("RSS (MB) at each tenth of the run:");
    int tenth = 1;
    for (Sample s : samples) {
      if (s.nanos() >= start + tenth * (end - start) / 10) {
        profile.append(String.format(Locale.ROOT, " %.1f", s.rssKb() / 1024.0));
        tenth++;
      }
    }
    System.out.println(profile);
    double growth = (double) (peakAfter - atWarmUp) / atWarmUp;
    System.out.printf(Locale.ROOT, "%d steps in %.1f s; RSS after warm-up (%.0f%% of the run) %.1f MB, "
        + "largest later %.1f MB: %+.2f%% (limit %+.0f%%)%n", result.steps(), (end - start) / 1e9,
        100 * WARM_UP, atWarmUp / 1024.0, peakAfter / 1024.0, 100 * growth, 100 * LIMIT);
    if (growth >= LIMIT) {
      System.out.println("FAILED: native memory grows during training");
      System.exit(1);
    }
    System.out.println("passed");
  }

  /** The resident set, after the memory the allocator keeps for reuse is given back. */
  private static long residentKb() {
    TorchRuntime.releaseFreeNativeMemory();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read /proc/self/status", e);
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }
}

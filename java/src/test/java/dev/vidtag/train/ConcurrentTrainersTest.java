package dev.vidtag.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.runtime.TorchRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each trainer owns the generator its model's dropout draws from: two runs training at once in
 * one JVM end with the weights each reaches alone. Were dropout drawing from LibTorch's
 * process-wide generator, each run's reseeding would move the other's masks.
 */
class ConcurrentTrainersTest {
  @TempDir Path dir;

  @Test
  void twoTrainersInOneJvmEachTrainAsTheyWouldAlone() throws Exception {
    TorchRuntime.initialize();
    Path data = dir.resolve("data");
    new SyntheticDataset(new SyntheticDataset.Options(400, 0, 0, 16,
        SyntheticDataset.FrameKind.NPY, 3))
        .write(data, (directory, config, seed) -> HuggingFaceBert.writeRandomWeights(directory, seed));
    int threads = torch.get_num_threads();
    // one intra-op thread, so that every reduction runs in the same order in every run
    TorchRuntime.setThreads(1);
    try {
      new Trainer(options(data, dir.resolve("alone-a"), 1)).run();
      new Trainer(options(data, dir.resolve("alone-b"), 2)).run();
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Future<Trainer.Result> a = pool.submit(
            () -> new Trainer(options(data, dir.resolve("together-a"), 1)).run());
        Future<Trainer.Result> b = pool.submit(
            () -> new Trainer(options(data, dir.resolve("together-b"), 2)).run());
        a.get();
        b.get();
      } finally {
        pool.shutdownNow();
      }
    } finally {
      TorchRuntime.setThreads(threads);
    }
    byte[] aloneA = weights(dir.resolve("alone-a"));
    byte[] aloneB = weights(dir.resolve("alone-b"));
    assertTrue(!Arrays.equals(aloneA, aloneB), "the two seeds train differently");
    assertArrayEquals(aloneA, weights(dir.resolve("together-a")), "run a");
    assertArrayEquals(aloneB, weights(dir.resolve("together-b")), "run b");
  }

  /** A short run with dropout and PGD, whose last state holds its final weights. */
  private static TrainOptions options(Path data, Path out, long seed) {
    return TrainOptions.builder(data, Architecture.SINGLE, data.resolve("text-model"), out)
        .epochs(1).batchSize(16).maxFrames(4).maxText(24)
        .learningRates(new ParameterGroups.LearningRates(1e-3, 2e-3, 2e-3))
        .pgd(2, 0.05, 0.02).evaluateEvery(1000).evaluateFrom(1000).seed(seed).build();
  }

  private static byte[] weights(Path run) throws Exception {
    return Files.readAllBytes(run.resolve("state/weights.safetensors"));
  }
}

package dev.vidtag.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inference calls free what they allocate: the resident set stays flat over 10,000 calls. Tensor
 * memory is invisible to the garbage collector, so a call that leaked its tensors to the GC would
 * grow the process by megabytes per thousand calls. Free memory that the C allocator keeps is
 * given back before each reading, so it does not count as growth.
 */
class NativeMemoryTest {
  static final int WARM_UP_CALLS = 1_000;
  static final int CALLS = 10_000;
  static final double MAX_GROWTH = 0.05;
  /** Classifiers opened and closed after the first, each loading the model afresh. */
  static final int REOPENS = 100;

  @TempDir Path dir;

  @Test
  void residentSetStaysFlatOverTenThousandCalls() throws IOException {
    Assumptions.assumeTrue(Files.isReadable(Path.of("/proc/self/status")), "Linux only");
    TorchRuntime.initialize();
    Path data = TinyModels.synth(dir.resolve("data"), 0, 10, 9);
    Path model = TinyModels.modelDirectory(dir.resolve("model"), data, Architecture.SINGLE,
        Pooling.MEAN_MASKED, 8, 32, 1);
    List<Video> videos = TinyModels.videos(data, "test_a");
    try (VideoClassifier classifier = VideoClassifier.open(model)) {
      for (int i = 0; i < WARM_UP_CALLS; i++) {
        classifier.classify(videos.get(i % videos.size()));
      }
      System.gc();
      long before = residentKilobytes();
      long start = System.nanoTime();
      for (int i = 0; i < CALLS; i++) {
        classifier.classify(videos.get(i % videos.size()));
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      System.gc();
      long after = residentKilobytes();
      double growth = (after - before) / (double) before;
      System.out.printf("RSS %d kB after %d warm-up calls, %d kB after %d more (%+.2f%%, "
          + "%.1f bytes per call); %.0f calls/s%n", before, WARM_UP_CALLS, after, CALLS,
          growth * 100, (after - before) * 1024.0 / CALLS, CALLS / seconds);
      assertTrue(growth < MAX_GROWTH, "resident set grew from " + before + " kB to " + after
          + " kB over " + CALLS + " calls");
    }
  }

  /**
   * close() frees the models' weights itself, and loading unmaps the weight file: a hundred
   * classifiers of a 7 MB model opened and closed in turn leave the resident set where the first
   * left it. Left to the garbage collector, which feels no pressure from tensor memory or file
   * mappings, the weights piled up (about 0.4 GB over fifty of them here). The loop runs in a
   * child JVM whose heap is committed and touched up front, so that only native memory can move
   * the resident set.
   */
  @Test
  void openingAndClosingAClassifierAHundredTimesKeepsTheResidentSetFlat() throws Exception {
    Assumptions.assumeTrue(Files.isReadable(Path.of("/proc/self/status")), "Linux only");
    TorchRuntime.initialize();
    Path data = TinyModels.synth(dir.resolve("data"), 0, 4, 9);
    int vocabulary = HuggingFaceBert.config(data.resolve("text-model")).vocabSize();
    BertConfig bert = new BertConfig(vocabulary, 256, 2, 4, 1024, 64, 2, 1e-12, 0.1, 0.1,
        "gelu");
    ModelConfig config = new ModelConfig(Architecture.SINGLE, 200, TinyModels.FRAME_DIM, 8, 32,
        Pooling.MEAN_MASKED, null, bert);
    Path model = dir.resolve("model");
    ModelDirectory.save(model, VideoClassifierModel.create(config), data.resolve("text-model"));
    Path out = dir.resolve("probe.txt");
    Process probe = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch", "-cp", System.getProperty("java.class.path"),
        "-Dvidtag.cache.dir=" + TorchRuntime.cacheRoot(), ClassifierReopenProbe.class.getName(),
        model.toString(), data.toString(), String.valueOf(REOPENS))
        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    assertTrue(probe.waitFor(300, TimeUnit.SECONDS), "the probe finished in time");
    String output = Files.readString(out);
    assertEquals(0, probe.exitValue(), output);
    String[] readings = output.lines().filter(l -> l.startsWith("rss-kb ")).reduce((a, b) -> b)
        .orElseThrow(() -> new AssertionError(output)).split(" ");
    long before = Long.parseLong(readings[1]);
    long after = Long.parseLong(readings[2]);
    double growth = (after - before) / (double) before;
    System.out.printf("RSS %d kB after one classifier, %d kB after %d more opened and closed "
        + "(%+.2f%%)%n", before, after, REOPENS, growth * 100);
    assertTrue(growth < MAX_GROWTH, "resident set grew from " + before + " kB to " + after
        + " kB over " + REOPENS + " classifiers");
  }

  static long residentKilobytes() throws IOException {
    TorchRuntime.releaseFreeNativeMemory();
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }
}

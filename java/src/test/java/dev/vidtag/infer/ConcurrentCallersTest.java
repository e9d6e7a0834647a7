package dev.vidtag.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vidtag.model.Architecture;
import dev.vidtag.model.Pooling;
import dev.vidtag.runtime.TorchRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many threads sharing one classifier get what one thread gets. */
class ConcurrentCallersTest {
  static final int THREADS = 8;
  static final int ROUNDS = 3;
  /**
   * The same call gives the same padding, so only the intra-op split of the work could differ
   * between runs: logits agree to float rounding.
   */
  static final double TOLERANCE = 1e-6;

  @TempDir Path dir;

  @Test
  void eightThreadsGetTheSingleThreadedPredictions() throws Exception {
    TorchRuntime.initialize();
    Path data = TinyModels.synth(dir.resolve("data"), 0, 16, 5);
    Path single = TinyModels.modelDirectory(dir.resolve("single"), data, Architecture.SINGLE,
        Pooling.MEAN_MASKED, 8, 32, 3);
    Path doubleStream = TinyModels.modelDirectory(dir.resolve("double"), data,
        Architecture.DOUBLE, Pooling.MEAN_ALL, 8, 24, 4);
    List<Video> videos = TinyModels.videos(data, "test_a");
    try (VideoClassifier classifier = VideoClassifier.open(List.of(
        new EnsembleMember(single, 0.5), new EnsembleMember(doubleStream, 0.5)),
        VideoClassifier.Options.defaults().withFuse(Fuse.PROBS))) {
      List<Prediction> reference = videos.stream().map(classifier::classify).toList();
      List<Prediction> referenceBatch = classifier.classifyBatch(videos.subList(0, 4));

      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      try {
        List<Future<List<String>>> results = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
          int thread = t;
          results.add(pool.submit(() -> {
            List<String> mismatches = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
              for (int k = 0; k < videos.size(); k++) {
                int i = (k + thread * 5) % videos.size();
                compare(reference.get(i), classifier.classify(videos.get(i)), mismatches);
              }
              if (thread % 2 == 0) {
                List<Prediction> batch = classifier.classifyBatch(videos.subList(0, 4));
                for (int i = 0; i < 4; i++) {
                  compare(referenceBatch.get(i), batch.get(i), mismatches);
                }
              }
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
    }
  }

  private static void compare(Prediction expected, Prediction actual, List<String> mismatches) {
    List<String> expectedTop = expected.top().stream().map(Prediction.ScoredCategory::categoryId)
        .toList();
    List<String> actualTop = actual.top().stream().map(Prediction.ScoredCategory::categoryId)
        .toList();
    double error = TinyModels.relativeError(actual.logits(), expected.logits());
    if (!expected.videoId().equals(actual.videoId()) || !expectedTop.equals(actualTop)
        || error > TOLERANCE) {
      mismatches.add(actual.videoId() + ": top " + actualTop + " vs " + expectedTop
          + ", logits relative error " + error);
    }
  }
}

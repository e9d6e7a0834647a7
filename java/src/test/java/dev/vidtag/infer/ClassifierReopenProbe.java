package dev.vidtag.infer;

import java.nio.file.Path;
import java.util.List;

/**
 * Child-JVM entry of {@link NativeMemoryTest}: opens a model, classifies, closes, N times, and
 * prints the resident set after the first round and after the last ({@code rss-kb A B}).
 */
public final class ClassifierReopenProbe {
  private ClassifierReopenProbe() {}

  public static void main(String[] args) throws Exception {
    Path model = Path.of(args[0]);
    List<Video> videos = TinyModels.videos(Path.of(args[1]), "test_a");
    int rounds = Integer.parseInt(args[2]);
    round(model, videos.get(0));
    long before = NativeMemoryTest.residentKilobytes();
    for (int i = 0; i < rounds; i++) {
      round(model, videos.get(i % videos.size()));
    }
    System.out.println("rss-kb " + before + " " + NativeMemoryTest.residentKilobytes());
  }

  private static void round(Path model, Video video) {
    try (VideoClassifier classifier = VideoClassifier.open(model)) {
      classifier.classify(video);
    }
  }
}

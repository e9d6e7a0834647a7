package dev.vidtag.infer.budget;

import dev.vidtag.data.FrameFeatureSource;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.infer.Precision;
import dev.vidtag.infer.VideoClassifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Measures what each member costs per video in each allowed precision and at each frame count
 * an allowed limit gives it, on a small sample of the split spread over it. Each classifier
 * predicts the whole sample twice per frame count and only the second pass is timed: the first
 * forward passes at each batch shape allocate and pick kernels, and a warm-up on fewer videos
 * (other shapes) left the first member measured at several times its cost.
 */
final class Calibration {
  private Calibration() {}

  /** {@code size} videos spread evenly over the split, in split order. */
  static List<VideoAnnotation> sample(List<VideoAnnotation> videos, int size) {
    int n = videos.size();
    int k = Math.min(n, Math.max(size, 1));
    List<VideoAnnotation> sample = new ArrayList<>(k);
    for (int i = 0; i < k; i++) {
      sample.add(videos.get((int) ((long) i * n / k)));
    }
    return sample;
  }

  /**
   * The costs of the members that allowed plans run (the best-ranked ones up to the largest
   * allowed count).
   *
   * @param maxFrames each member's own max_frames, by ensemble position
   */
  static CostModel measure(MemberClassifiers classifiers, MemberRanking ranking,
      Allowance allowance, int[] maxFrames, List<VideoAnnotation> sample,
      FrameFeatureSource features, int batchSize, LongSupplier clock, Consumer<String> log) {
    if (sample.isEmpty()) {
      throw new IllegalArgumentException("calibration needs at least one video");
    }
    int used = allowance.memberCounts().get(0);
    Map<CostModel.Key, Double> costs = new HashMap<>();
    for (int member : ranking.bestFirst().subList(0, used)) {
      Set<Integer> frameCounts = new LinkedHashSet<>();
      for (int limit : allowance.frameLimits()) {
        frameCounts.add(Math.min(limit, maxFrames[member]));
      }
      for (Precision precision : allowance.precisions()) {
        VideoClassifier classifier = classifiers.classifier(member, precision);
        for (int frames : frameCounts) {
          FrameFeatureSource limited = frames >= maxFrames[member] ? features
              : new FrameLimitedFeatures(features, frames);
          classifier.logits(sample, limited, batchSize);
          long start = clock.getAsLong();
          classifier.logits(sample, limited, batchSize);
          double perVideo = (clock.getAsLong() - start) / 1e9 / sample.size();
          costs.put(new CostModel.Key(member, precision, frames), perVideo);
          log.accept(String.format(Locale.ROOT, "calibration: %s, %s, %d frames: %.4f s/video",
              classifiers.members().get(member).modelDirectory(), precision.optionName(), frames,
              perVideo));
        }
      }
    }
    return new CostModel(ranking.bestFirst(), maxFrames, costs);
  }
}

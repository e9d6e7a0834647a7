package dev.vidtag.infer.budget;

import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Precision;
import dev.vidtag.infer.VideoClassifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One single-model classifier per member and precision, opened on first use and kept until
 * {@link #close()}: calibration measures each member alone, and a plan then runs any subset
 * without loading a model twice. Not thread-safe.
 */
final class MemberClassifiers implements AutoCloseable {
  private record Key(int member, Precision precision) {}

  private final List<EnsembleMember> members;
  private final VideoClassifier.Options options;
  private final Map<Key, VideoClassifier> open = new LinkedHashMap<>();

  /** @param options device and fusion for every classifier; the precision is per call */
  MemberClassifiers(List<EnsembleMember> members, VideoClassifier.Options options) {
    this.members = List.copyOf(members);
    // the fused logits stay unadjusted: a tail adjustment is the caller's, after fusion
    this.options = options.withTailAdjustment(null);
  }

  List<EnsembleMember> members() {
    return members;
  }

  VideoClassifier classifier(int member, Precision precision) {
    Key key = new Key(member, precision);
    VideoClassifier classifier = open.get(key);
    if (classifier == null) {
      classifier = VideoClassifier.open(List.of(members.get(member)),
          options.withPrecision(precision));
      open.put(key, classifier);
    }
    return classifier;
  }

  /** Closes every classifier, each even when another fails to close. */
  @Override
  public void close() {
    RuntimeException failure = null;
    for (VideoClassifier c : new ArrayList<>(open.values())) {
      try {
        c.close();
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    open.clear();
    if (failure != null) {
      throw failure;
    }
  }
}

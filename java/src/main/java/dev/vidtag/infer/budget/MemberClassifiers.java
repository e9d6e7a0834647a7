package dev.vidtag.infer.budget;

import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Fuse;
import dev.vidtag.infer.Precision;
import dev.vidtag.infer.VideoClassifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One single-model classifier per member and precision, opened on first use and kept until
 * {@link #close()}: calibration measures each member alone, and a plan then runs any subset
 * without loading a model twice. Not thread-safe.
 */
final class MemberClassifiers implements AutoCloseable {
  /** A member (by ensemble position) in a precision. */
  record Key(int member, Precision precision) {}

  private final List<EnsembleMember> members;
  private final VideoClassifier.Options options;
  private final Map<Key, VideoClassifier> open = new LinkedHashMap<>();

  /** @param options the device of every classifier; the precision is per call */
  MemberClassifiers(List<EnsembleMember> members, VideoClassifier.Options options) {
    this.members = List.copyOf(members);
    // each classifier returns its model's raw logits: weights, fusion and a tail adjustment
    // are applied once, over the members a plan runs
    this.options = options.withTailAdjustment(null).withFuse(Fuse.LOGITS);
  }

  List<EnsembleMember> members() {
    return members;
  }

  VideoClassifier classifier(int member, Precision precision) {
    Key key = new Key(member, precision);
    VideoClassifier classifier = open.get(key);
    if (classifier == null) {
      EnsembleMember alone = EnsembleMember.of(members.get(member).modelDirectory());
      classifier = VideoClassifier.open(List.of(alone), options.withPrecision(precision));
      open.put(key, classifier);
    }
    return classifier;
  }

  /** What is loaded now. */
  Set<Key> loaded() {
    return Set.copyOf(open.keySet());
  }

  /**
   * Closes the classifiers that are not in {@code keep}: a run never moves back up, so what no
   * plan left to it uses frees its memory at once.
   */
  void retainOnly(Set<Key> keep) {
    for (Key key : new ArrayList<>(open.keySet())) {
      if (!keep.contains(key)) {
        open.remove(key).close();
      }
    }
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

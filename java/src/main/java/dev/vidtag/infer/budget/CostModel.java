package dev.vidtag.infer.budget;

import dev.vidtag.infer.Precision;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What each member costs per video in each precision and at each frame count, as measured by a
 * {@link Calibration} (or given by hand), and so what a {@link Plan} costs.
 */
public final class CostModel {
  /**
   * One measured configuration of one member.
   *
   * @param member the member's position in the ensemble as given
   * @param frames the frames it reads: the smaller of a plan's limit and its own max_frames
   */
  public record Key(int member, Precision precision, int frames) {}

  private final List<Integer> membersBestFirst;
  private final int[] maxFrames;
  private final Map<Key, Double> secondsPerVideo;

  /**
   * @param membersBestFirst the ensemble positions of the members, best first (a plan of k
   *     members runs the first k)
   * @param maxFrames each member's own max_frames, by ensemble position
   * @param secondsPerVideo a cost for every member, precision and frame count a plan may use
   */
  public CostModel(List<Integer> membersBestFirst, int[] maxFrames,
      Map<Key, Double> secondsPerVideo) {
    this.membersBestFirst = List.copyOf(membersBestFirst);
    this.maxFrames = maxFrames.clone();
    this.secondsPerVideo = Map.copyOf(secondsPerVideo);
    if (this.membersBestFirst.size() != maxFrames.length) {
      throw new IllegalArgumentException(membersBestFirst.size() + " ranked members for "
          + maxFrames.length + " frame limits");
    }
    secondsPerVideo.forEach((k, v) -> {
      if (!(v >= 0) || Double.isInfinite(v)) {
        throw new IllegalArgumentException("the cost of " + k + " must be finite and not "
            + "negative, got " + v);
      }
    });
  }

  public int ensembleSize() {
    return maxFrames.length;
  }

  /** The ensemble positions a plan runs, best first. */
  public List<Integer> membersOf(Plan plan) {
    if (plan.members() > membersBestFirst.size()) {
      throw new IllegalArgumentException(plan + " needs more than the " + membersBestFirst.size()
          + " members of the ensemble");
    }
    return membersBestFirst.subList(0, plan.members());
  }

  /** The frames a member reads under a limit. */
  public int framesOf(int member, int limit) {
    return Math.min(limit, maxFrames[member]);
  }

  /** The measured configurations a plan uses. */
  public List<Key> keysOf(Plan plan) {
    List<Key> keys = new ArrayList<>();
    for (int m : membersOf(plan)) {
      keys.add(new Key(m, plan.precision(), framesOf(m, plan.maxFrames())));
    }
    return keys;
  }

  /** The plan's seconds per video: its members' costs added up (they run one after another). */
  public double secondsPerVideo(Plan plan) {
    double total = 0;
    for (Key key : keysOf(plan)) {
      Double cost = secondsPerVideo.get(key);
      if (cost == null) {
        throw new IllegalArgumentException("no cost for member " + key.member() + " in "
            + key.precision().optionName() + " at " + key.frames() + " frames");
      }
      total += cost;
    }
    return total;
  }

  /** Every measured cost, for the report. */
  public Map<Key, Double> costs() {
    return new LinkedHashMap<>(secondsPerVideo);
  }
}

package dev.vidtag.infer;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.eval.OfficialScore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The ensemble weights that score best on held-out logits (a k-fold's out-of-fold logits of each
 * member): every point of a grid on the simplex, {@code step} apart, fused as the prediction
 * fuses them and scored with the official score. Equal weights are scored first and a point
 * replaces the best only when it scores strictly higher, so ties keep equal weights.
 */
public final class EnsembleFit {
  /** More grid points than this is a step too fine for the number of members. */
  public static final int MAX_CANDIDATES = 200_000;

  /**
   * The outcome.
   *
   * @param weights the best point, one weight per member, summing to 1 (zero: leave it out)
   * @param score its official score on the held-out logits
   * @param equalWeights the score of equal weights
   * @param candidates how many points were scored
   */
  public record Result(double[] weights, OfficialScore score, OfficialScore equalWeights,
      int candidates) {}

  private EnsembleFit() {}

  /**
   * @param members each member's held-out logits, of the same videos in the same order
   * @param truthLv2 each video's true lv2 class
   * @param step the grid's spacing, 1 / step a whole number
   */
  public static Result fit(List<SplitLogits> members, int[] truthLv2, Fuse fuse, double step,
      CategoryMap categories) {
    if (members.isEmpty()) {
      throw new IllegalArgumentException("no members to weigh");
    }
    int n = members.get(0).size();
    if (truthLv2.length != n) {
      throw new IllegalArgumentException(truthLv2.length + " true labels for " + n + " videos");
    }
    long parts = Math.round(1.0 / step);
    if (!(step > 0 && step <= 1) || Math.abs(parts * step - 1.0) > 1e-9) {
      throw new IllegalArgumentException("the step must divide 1 (0.1, 0.05, 0.02...), got "
          + step);
    }
    long count = compositions((int) parts, members.size());
    if (count > MAX_CANDIDATES) {
      throw new IllegalArgumentException(count + " weightings of " + members.size()
          + " members at step " + step + " are too many to score (at most " + MAX_CANDIDATES
          + "); take a coarser step");
    }
    double[] equal = new double[members.size()];
    Arrays.fill(equal, 1.0 / members.size());
    OfficialScore equalScore = score(members, equal, truthLv2, fuse, categories);
    double[] best = equal;
    OfficialScore bestScore = equalScore;
    int[] units = new int[members.size()];
    int candidates = 1;
    for (boolean more = first(units, (int) parts); more; more = next(units)) {
      double[] weights = new double[units.length];
      for (int i = 0; i < units.length; i++) {
        weights[i] = units[i] / (double) parts;
      }
      OfficialScore s = score(members, weights, truthLv2, fuse, categories);
      candidates++;
      if (s.mean() > bestScore.mean()) {
        best = weights;
        bestScore = s;
      }
    }
    return new Result(best, bestScore, equalScore, candidates);
  }

  /** The fused prediction of the members with a nonzero weight, scored. */
  private static OfficialScore score(List<SplitLogits> members, double[] weights, int[] truth,
      Fuse fuse, CategoryMap categories) {
    List<SplitLogits> used = new ArrayList<>();
    List<Double> usedWeights = new ArrayList<>();
    for (int i = 0; i < weights.length; i++) {
      if (weights[i] > 0) {
        used.add(members.get(i));
        usedWeights.add(weights[i]);
      }
    }
    SplitLogits fused = fuse.combineLogits(used,
        usedWeights.stream().mapToDouble(Double::doubleValue).toArray());
    return OfficialScore.of(truth, fused.argmax(), categories);
  }

  /** The ways of writing {@code total} as an ordered sum of {@code k} whole numbers >= 0. */
  private static long compositions(int total, int k) {
    // C(total + k - 1, k - 1), saturating well above MAX_CANDIDATES
    double c = 1;
    for (int i = 1; i < k; i++) {
      c = c * (total + i) / i;
      if (c > Long.MAX_VALUE / 4.0) {
        return Long.MAX_VALUE;
      }
    }
    return Math.round(c);
  }

  /** The first composition: everything on the last member. */
  private static boolean first(int[] units, int total) {
    Arrays.fill(units, 0);
    units[units.length - 1] = total;
    return true;
  }

  /**
   * Steps to the next composition with the same total (all of them, each once), false after the
   * last: moves one unit from the last nonzero place but the first to the place before it and
   * gathers everything after that place at the end.
   */
  private static boolean next(int[] units) {
    int last = units.length - 1;
    int i = last;
    while (i > 0 && units[i] == 0) {
      i--;
    }
    if (i == 0) {
      return false;
    }
    int rest = units[i] - 1;
    units[i] = 0;
    units[i - 1]++;
    units[last] += rest;
    return true;
  }
}

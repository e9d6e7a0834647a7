package dev.vidtag.data;

import java.util.Arrays;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Class frequencies shaped like the official labeled split: 200 classes whose shares, sorted,
 * fall from 10.66% (the largest class, 10,656 of 100k) through a median of 0.168% (168) to
 * 0.014% (14). The log-share is piecewise linear in the rank through those three anchors plus
 * one at rank 10, whose height is solved so that the shares sum to one. Which official id gets
 * which rank is a fixed shuffle, the same for every seed.
 */
public final class LongTailDistribution {
  static final double LARGEST = 0.10656;
  static final double MEDIAN = 0.00168;
  static final double SMALLEST = 0.00014;
  private static final int KNEE_RANK = 10;
  private static final long RANK_SHUFFLE_SEED = 2022;

  private final double[] shareByLv2;
  private final double[] cumulative;

  private LongTailDistribution(double[] shareByLv2) {
    this.shareByLv2 = shareByLv2;
    this.cumulative = new double[shareByLv2.length];
    double total = 0;
    for (int i = 0; i < shareByLv2.length; i++) {
      total += shareByLv2[i];
      cumulative[i] = total;
    }
    cumulative[cumulative.length - 1] = 1.0;
  }

  /** The distribution over the official categories, indexed by lv2. */
  public static LongTailDistribution official() {
    int classes = CategoryMap.official().size();
    double[] byRank = sharesByRank(classes);
    int[] lv2OfRank = new int[classes];
    for (int i = 0; i < classes; i++) {
      lv2OfRank[i] = i;
    }
    Random shuffle = new Random(RANK_SHUFFLE_SEED);
    for (int i = classes - 1; i > 0; i--) {
      int j = shuffle.nextInt(i + 1);
      int swap = lv2OfRank[i];
      lv2OfRank[i] = lv2OfRank[j];
      lv2OfRank[j] = swap;
    }
    double[] byLv2 = new double[classes];
    for (int rank = 0; rank < classes; rank++) {
      byLv2[lv2OfRank[rank]] = byRank[rank];
    }
    return new LongTailDistribution(byLv2);
  }

  /** Shares in decreasing order, summing to one. */
  static double[] sharesByRank(int classes) {
    double low = Math.log(MEDIAN);
    double high = Math.log(LARGEST);
    for (int iteration = 0; iteration < 200; iteration++) {
      double knee = (low + high) / 2;
      if (Arrays.stream(curve(classes, knee)).sum() > 1) {
        high = knee;
      } else {
        low = knee;
      }
    }
    double[] shares = curve(classes, (low + high) / 2);
    double total = Arrays.stream(shares).sum();
    for (int i = 0; i < classes; i++) {
      shares[i] /= total; // removes the last 1e-15 of bisection error
    }
    return shares;
  }

  private static double[] curve(int classes, double logKnee) {
    double medianRank = (classes - 1) / 2.0;
    double[] ranks = {0, KNEE_RANK, medianRank, classes - 1};
    double[] logs = {Math.log(LARGEST), logKnee, Math.log(MEDIAN), Math.log(SMALLEST)};
    double[] shares = new double[classes];
    for (int rank = 0; rank < classes; rank++) {
      int segment = rank < KNEE_RANK ? 0 : rank < medianRank ? 1 : 2;
      double t = (rank - ranks[segment]) / (ranks[segment + 1] - ranks[segment]);
      shares[rank] = Math.exp(logs[segment] + t * (logs[segment + 1] - logs[segment]));
    }
    return shares;
  }

  /** The share of a class. */
  public double share(int lv2) {
    return shareByLv2[lv2];
  }

  public int size() {
    return shareByLv2.length;
  }

  /** A class drawn with these shares. */
  public int sample(SplittableRandom random) {
    int index = Arrays.binarySearch(cumulative, random.nextDouble());
    return index >= 0 ? index + 1 : -index - 1;
  }
}

package dev.vidtag.infer;

import java.util.List;

/**
 * What a classifier says about one video: its most probable categories, best first, and the lv1
 * group of the best one.
 *
 * @param videoId the video's id
 * @param top the {@code k} most probable lv2 categories, best first
 * @param lv1Probability the probability of the best category's lv1 group: the sum over its lv2
 *     categories
 * @param logits the fused (and tail-adjusted, when the classifier has an adjustment) logits of
 *     every class, in lv2 order; their softmax gives the probabilities
 */
public record Prediction(String videoId, List<ScoredCategory> top, double lv1Probability,
    float[] logits) {

  /**
   * One lv2 category with its probability.
   *
   * @param categoryId the official 4-digit id
   * @param lv2Index its position in the sorted list of the 200 ids
   * @param lv1Id the lv1 group (the first two digits)
   * @param lv1Index the group's index among the 23
   */
  public record ScoredCategory(String categoryId, int lv2Index, String lv1Id, int lv1Index,
      double probability) {}

  public Prediction {
    top = List.copyOf(top);
    if (top.isEmpty()) {
      throw new IllegalArgumentException("a prediction holds at least one category");
    }
  }

  /** The predicted category (what the result file holds). */
  public ScoredCategory best() {
    return top.get(0);
  }

  public String categoryId() {
    return best().categoryId();
  }

  public int lv2Index() {
    return best().lv2Index();
  }

  public String lv1Id() {
    return best().lv1Id();
  }

  public int lv1Index() {
    return best().lv1Index();
  }

  public double probability() {
    return best().probability();
  }
}

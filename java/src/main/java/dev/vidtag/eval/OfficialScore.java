package dev.vidtag.eval;

import dev.vidtag.data.CategoryMap;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The competition's score: the mean of micro-F1 and macro-F1 over the 23 lv1 groups and over the
 * 200 lv2 categories. Macro-F1 averages over the classes present in the truth or the predictions
 * (scikit-learn's default); micro-F1 of a single-label task is the accuracy.
 */
public record OfficialScore(double lv1MicroF1, double lv1MacroF1, double lv2MicroF1,
    double lv2MacroF1) {

  public double mean() {
    return (lv1MicroF1 + lv1MacroF1 + lv2MicroF1 + lv2MacroF1) / 4.0;
  }

  /**
   * The score of always predicting the most frequent class of the training counts (the first
   * such class on a tie), against {@code truthLv2}: the floor any model must clear.
   */
  public static OfficialScore majorityBaseline(int[] trainCountsLv2, int[] truthLv2,
      CategoryMap categories) {
    int majority = 0;
    for (int c = 1; c < trainCountsLv2.length; c++) {
      majority = trainCountsLv2[c] > trainCountsLv2[majority] ? c : majority;
    }
    int[] predicted = new int[truthLv2.length];
    Arrays.fill(predicted, majority);
    return of(truthLv2, predicted, categories);
  }

  /** The five numbers under the keys the official scorer printed, in its order. */
  public Map<String, Double> toMap() {
    Map<String, Double> values = new LinkedHashMap<>();
    values.put("lv1_micro_f1", lv1MicroF1);
    values.put("lv1_macro_f1", lv1MacroF1);
    values.put("lv2_micro_f1", lv2MicroF1);
    values.put("lv2_macro_f1", lv2MacroF1);
    values.put("mean_f1", mean());
    return values;
  }

  /**
   * Scores predictions against the truth, both as lv2 indices of {@code categories}.
   *
   * @throws IllegalArgumentException when the arrays differ in length, are empty, or hold an
   *     index outside the category map
   */
  public static OfficialScore of(int[] truthLv2, int[] predictedLv2, CategoryMap categories) {
    ClassCounts lv2 = ClassCounts.count(truthLv2, predictedLv2, categories.size());
    int[] truthLv1 = toLv1(truthLv2, categories);
    int[] predictedLv1 = toLv1(predictedLv2, categories);
    ClassCounts lv1 = ClassCounts.count(truthLv1, predictedLv1, categories.lv1Count());
    return new OfficialScore(lv1.microF1(), lv1.macroF1(), lv2.microF1(), lv2.macroF1());
  }

  static int[] toLv1(int[] lv2, CategoryMap categories) {
    int[] lv1 = new int[lv2.length];
    for (int i = 0; i < lv2.length; i++) {
      if (lv2[i] < 0 || lv2[i] >= categories.size()) {
        throw new IllegalArgumentException("lv2 index " + lv2[i] + " at " + i
            + " is outside 0.." + (categories.size() - 1));
      }
      lv1[i] = categories.lv1Index(lv2[i]);
    }
    return lv1;
  }
}

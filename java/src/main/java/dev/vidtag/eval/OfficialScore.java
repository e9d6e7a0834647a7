package dev.vidtag.eval;

import dev.vidtag.data.CategoryMap;

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

package dev.vidtag.eval;

/** True positives, false positives and false negatives per class of a single-label task. */
public final class ClassCounts {
  private final long[] truePositives;
  private final long[] falsePositives;
  private final long[] falseNegatives;
  private final long[][] confusion;
  private final long total;

  private ClassCounts(int classes, long total) {
    truePositives = new long[classes];
    falsePositives = new long[classes];
    falseNegatives = new long[classes];
    confusion = new long[classes][classes];
    this.total = total;
  }

  /** Counts predictions against the truth; both hold class indices in [0, classes). */
  public static ClassCounts count(int[] truth, int[] predicted, int classes) {
    if (truth.length != predicted.length) {
      throw new IllegalArgumentException(truth.length + " true labels but " + predicted.length
          + " predictions");
    }
    if (truth.length == 0) {
      throw new IllegalArgumentException("nothing to score");
    }
    ClassCounts counts = new ClassCounts(classes, truth.length);
    for (int i = 0; i < truth.length; i++) {
      int t = checked(truth[i], classes, "true label", i);
      int p = checked(predicted[i], classes, "prediction", i);
      counts.confusion[t][p]++;
      if (t == p) {
        counts.truePositives[t]++;
      } else {
        counts.falsePositives[p]++;
        counts.falseNegatives[t]++;
      }
    }
    return counts;
  }

  private static int checked(int label, int classes, String what, int index) {
    if (label < 0 || label >= classes) {
      throw new IllegalArgumentException(what + " " + label + " at " + index + " is outside 0.."
          + (classes - 1));
    }
    return label;
  }

  public int classes() {
    return truePositives.length;
  }

  /** Whether the class occurs in the truth or the predictions (the classes macro-F1 averages). */
  public boolean present(int c) {
    return truePositives[c] + falsePositives[c] + falseNegatives[c] > 0;
  }

  public long support(int c) {
    return truePositives[c] + falseNegatives[c];
  }

  public double precision(int c) {
    long predicted = truePositives[c] + falsePositives[c];
    return predicted == 0 ? 0.0 : (double) truePositives[c] / predicted;
  }

  public double recall(int c) {
    long actual = truePositives[c] + falseNegatives[c];
    return actual == 0 ? 0.0 : (double) truePositives[c] / actual;
  }

  /** 2TP / (2TP + FP + FN); 0 for a class absent from both truth and predictions. */
  public double f1(int c) {
    long denominator = 2 * truePositives[c] + falsePositives[c] + falseNegatives[c];
    return denominator == 0 ? 0.0 : 2.0 * truePositives[c] / denominator;
  }

  /** Accuracy, which is micro-F1 when every item has exactly one label and one prediction. */
  public double microF1() {
    long correct = 0;
    for (long tp : truePositives) {
      correct += tp;
    }
    return (double) correct / total;
  }

  public double macroF1() {
    double sum = 0;
    int present = 0;
    for (int c = 0; c < classes(); c++) {
      if (present(c)) {
        sum += f1(c);
        present++;
      }
    }
    return sum / present;
  }

  /** How often class {@code truth} was predicted as {@code predicted}. */
  public long confusions(int truth, int predicted) {
    return confusion[truth][predicted];
  }
}

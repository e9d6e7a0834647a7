package dev.vidtag.infer;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.ValidationSplit;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.io.DataException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A per-class correction of the fused scores in favour of rare classes, the cheapest gain on the
 * macro-F1 terms of the score (reference solution, section 7). Every kind adds one bias per class
 * to the logits, which is the same as multiplying the class probabilities by {@code exp(bias)}
 * and renormalising:
 *
 * <ul>
 *   <li>{@link Kind#NONE}: nothing.
 *   <li>{@link Kind#MULTIPLIERS}: probabilities times {@code m_c = scale / n_c + 1}, where
 *       {@code n_c} is the class's training count; the reference family is {@code scale = 10}.
 *   <li>{@link Kind#LOGIT_ADJUSTMENT}: logits minus {@code tau * log prior_c}, with
 *       {@code prior_c = n_c / sum n} (Menon et al., 2021): positive {@code tau} lifts rare classes.
 * </ul>
 *
 * A class with no training video counts as one in both formulas. {@link #fit} picks the kind and
 * its strength that score best on a validation split.
 *
 * <p>Saved as JSON ({@link TailAdjustmentFile}), whose per-class array is what is applied, so it
 * may be edited by hand.
 */
public final class TailAdjustment {
  /** The scales of the multiplier family tried by {@link #fit}; 10 is the reference's. */
  public static final List<Double> MULTIPLIER_SCALES =
      List.of(1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0);
  /** The values of tau tried by {@link #fit}: 0.1 to 2.0 in steps of 0.1. */
  public static final List<Double> TAUS = taus();

  /** What kind of correction. */
  public enum Kind {
    NONE("none"),
    MULTIPLIERS("multipliers"),
    LOGIT_ADJUSTMENT("logit_adjustment");

    private final String jsonName;

    Kind(String jsonName) {
      this.jsonName = jsonName;
    }

    public String jsonName() {
      return jsonName;
    }

    static Kind fromJsonName(String name) {
      for (Kind k : values()) {
        if (k.jsonName.equals(name)) {
          return k;
        }
      }
      return null;
    }
  }

  private final Kind kind;
  private final double strength;
  private final int[] trainCounts;
  private final double[] logitBias;

  private TailAdjustment(Kind kind, double strength, int[] trainCounts, double[] logitBias) {
    this.kind = kind;
    this.strength = strength;
    this.trainCounts = trainCounts;
    this.logitBias = logitBias;
  }

  /** No correction, for {@code classes} classes. */
  public static TailAdjustment none(int classes) {
    if (classes < 1) {
      throw new IllegalArgumentException("classes must be at least 1, got " + classes);
    }
    return new TailAdjustment(Kind.NONE, 0.0, null, new double[classes]);
  }

  /** Probabilities times {@code scale / n_c + 1} ({@code n_c} at least 1). */
  public static TailAdjustment multipliers(int[] trainCounts, double scale) {
    if (!(scale >= 0) || Double.isInfinite(scale)) {
      throw new IllegalArgumentException("multiplier scale must be >= 0 and finite, got " + scale);
    }
    int[] counts = checkedCounts(trainCounts);
    double[] bias = new double[counts.length];
    for (int c = 0; c < counts.length; c++) {
      bias[c] = Math.log(scale / Math.max(counts[c], 1) + 1.0);
    }
    return new TailAdjustment(Kind.MULTIPLIERS, scale, counts, bias);
  }

  /** Logits minus {@code tau * log prior_c}, the prior from the training counts. */
  public static TailAdjustment logitAdjustment(int[] trainCounts, double tau) {
    if (!Double.isFinite(tau)) {
      throw new IllegalArgumentException("tau must be finite, got " + tau);
    }
    int[] counts = checkedCounts(trainCounts);
    double total = 0;
    for (int n : counts) {
      total += Math.max(n, 1);
    }
    double[] bias = new double[counts.length];
    for (int c = 0; c < counts.length; c++) {
      bias[c] = -tau * Math.log(Math.max(counts[c], 1) / total);
    }
    return new TailAdjustment(Kind.LOGIT_ADJUSTMENT, tau, counts, bias);
  }

  public Kind kind() {
    return kind;
  }

  /** The multiplier scale, or tau; 0 for {@link Kind#NONE}. */
  public double strength() {
    return strength;
  }

  public int classes() {
    return logitBias.length;
  }

  /** What is added to each class's logit. */
  public double[] logitBias() {
    return logitBias.clone();
  }

  /** The equivalent factors on probabilities, {@code exp(bias)}. */
  public double[] multipliers() {
    double[] m = new double[logitBias.length];
    for (int c = 0; c < m.length; c++) {
      m[c] = Math.exp(logitBias[c]);
    }
    return m;
  }

  /** The training counts it was derived from; empty for {@link Kind#NONE}. */
  public int[] trainCounts() {
    return trainCounts == null ? new int[0] : trainCounts.clone();
  }

  /** The adjusted logits. */
  public SplitLogits apply(SplitLogits logits) {
    requireClasses(logits.classes());
    if (kind == Kind.NONE) {
      return logits;
    }
    float[] values = logits.values().clone();
    int classes = logits.classes();
    for (int offset = 0; offset < values.length; offset += classes) {
      for (int c = 0; c < classes; c++) {
        values[offset + c] += (float) logitBias[c];
      }
    }
    return new SplitLogits(logits.videoIds(), classes, values);
  }

  /** The predicted lv2 index of each video after the adjustment. */
  public int[] predict(SplitLogits logits) {
    return apply(logits).argmax();
  }

  void requireClasses(int classes) {
    if (classes != classes()) {
      throw new IllegalArgumentException("the tail adjustment is for " + classes()
          + " classes, the scores have " + classes);
    }
  }

  /** One setting tried by {@link #fit} and its validation score. */
  public record Candidate(Kind kind, double strength, OfficialScore score) {}

  /**
   * The outcome of {@link #fit}.
   *
   * @param adjustment the best setting (possibly {@link Kind#NONE})
   * @param before the validation score without adjustment
   * @param after the validation score with {@code adjustment}
   * @param candidates every setting tried, in the order tried
   */
  public record Fit(TailAdjustment adjustment, OfficialScore before, OfficialScore after,
      List<Candidate> candidates) {

    /** Writes the adjustment with its validation scores (see {@link TailAdjustment#write}). */
    public void write(Path file) {
      TailAdjustmentFile.write(file, adjustment, this);
    }
  }

  /**
   * Chooses among no adjustment, the multiplier family ({@link #MULTIPLIER_SCALES}) and logit
   * adjustment ({@link #TAUS}) by the official mean F1 on a validation split. A setting replaces
   * the best so far only when it scores strictly higher, so ties keep the simpler one (none, then
   * smaller strengths).
   *
   * @param validation the fused logits of the validation videos
   * @param truthLv2 their true lv2 indices, in the same order
   * @param trainCounts the training videos per lv2 class (the part of the labeled split the models
   *     were trained on)
   */
  public static Fit fit(SplitLogits validation, int[] truthLv2, int[] trainCounts,
      CategoryMap categories) {
    if (truthLv2.length != validation.size()) {
      throw new IllegalArgumentException(truthLv2.length + " true labels for "
          + validation.size() + " validation videos");
    }
    if (validation.classes() != categories.size() || trainCounts.length != categories.size()) {
      throw new IllegalArgumentException("scores of " + validation.classes()
          + " classes and " + trainCounts.length + " training counts, but "
          + categories.size() + " categories");
    }
    List<TailAdjustment> settings = new ArrayList<>();
    settings.add(none(categories.size()));
    for (double scale : MULTIPLIER_SCALES) {
      settings.add(multipliers(trainCounts, scale));
    }
    for (double tau : TAUS) {
      settings.add(logitAdjustment(trainCounts, tau));
    }
    List<Candidate> candidates = new ArrayList<>();
    TailAdjustment best = null;
    OfficialScore bestScore = null;
    for (TailAdjustment setting : settings) {
      OfficialScore score = OfficialScore.of(truthLv2, setting.predict(validation), categories);
      candidates.add(new Candidate(setting.kind, setting.strength, score));
      if (bestScore == null || score.mean() > bestScore.mean()) {
        best = setting;
        bestScore = score;
      }
    }
    return new Fit(best, candidates.get(0).score(), bestScore, List.copyOf(candidates));
  }

  /**
   * Fits on labeled videos the models did not train on: scores the split's validation part with
   * the classifier and takes the class prior from its training part, the videos the models were
   * trained on.
   */
  public static Fit fitOnValidation(VideoClassifier classifier, Dataset dataset,
      ValidationSplit split, int batchSize, CategoryMap categories) {
    SplitLogits logits;
    try (ZipFeatureStore features = dataset.openFeatures(Dataset.LABELED)) {
      logits = classifier.logits(split.validation(), features, batchSize);
    }
    int[] truth = split.validation().stream().mapToInt(categories::lv2Of).toArray();
    return fit(logits, truth, categories.lv2Counts(split.training()), categories);
  }

  /** Writes the JSON form atomically ({@link TailAdjustmentFile}). */
  public void write(Path file) {
    TailAdjustmentFile.write(file, this, null);
  }

  /**
   * Reads the JSON form; the per-class array is what will be applied.
   *
   * @throws DataException naming the file and the field when it is malformed
   */
  public static TailAdjustment read(Path file) {
    return TailAdjustmentFile.read(file);
  }

  /** An adjustment of a kind with its per-class bias, as read back from its file. */
  static TailAdjustment of(Kind kind, double strength, int[] trainCounts, double[] logitBias) {
    return kind == Kind.NONE ? none(logitBias.length)
        : new TailAdjustment(kind, strength, checkedCounts(trainCounts), logitBias.clone());
  }

  private static int[] checkedCounts(int[] trainCounts) {
    if (trainCounts.length == 0) {
      throw new IllegalArgumentException("no training counts");
    }
    for (int c = 0; c < trainCounts.length; c++) {
      if (trainCounts[c] < 0) {
        throw new IllegalArgumentException("training count of class " + c + " is negative: "
            + trainCounts[c]);
      }
    }
    return trainCounts.clone();
  }

  private static List<Double> taus() {
    List<Double> taus = new ArrayList<>();
    for (int i = 1; i <= 20; i++) {
      taus.add(i / 10.0);
    }
    return List.copyOf(taus);
  }

  @Override
  public String toString() {
    return kind == Kind.NONE ? "none"
        : String.format(Locale.ROOT, "%s %s", kind.jsonName(), strength);
  }
}

package dev.vidtag.infer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.io.DataException;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
 * <p>JSON form: {@code {"kind": "multipliers", "strength": 10.0, "classes": 200,
 * "train_counts": [...], "multipliers": [...]}}; a {@code logit_adjustment} holds
 * {@code "logit_bias"} instead of {@code "multipliers"}. The per-class array is what is applied,
 * so it may be edited by hand; the other fields record where it came from.
 */
public final class TailAdjustment {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

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
      ObjectNode json = adjustment.toJson();
      ObjectNode validation = json.putObject("validation");
      validation.set("before", scoreJson(before));
      validation.set("after", scoreJson(after));
      validation.put("candidates", candidates.size());
      writeJson(file, json);
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
   * Fits on labeled videos the models did not train on: scores {@code validation} with the
   * classifier (frames from the dataset's {@code zip_feats/labeled.zip}) and takes the class
   * prior from {@code training}, the part of the labeled split the models were trained on.
   */
  public static Fit fitOnValidation(VideoClassifier classifier, Path data,
      List<VideoAnnotation> training, List<VideoAnnotation> validation, int batchSize,
      CategoryMap categories) {
    SplitLogits logits;
    try (ZipFeatureStore features = ZipFeatureStore.open(data.resolve("zip_feats/labeled.zip"),
        ZipFeatureStore.MissingPolicy.EMPTY)) {
      logits = classifier.logits(validation, features, batchSize);
    }
    int[] truth = validation.stream().mapToInt(v -> lv2(v, categories)).toArray();
    return fit(logits, truth, classCounts(training, categories), categories);
  }

  /** Labeled videos per lv2 class. */
  public static int[] classCounts(List<VideoAnnotation> videos, CategoryMap categories) {
    int[] counts = new int[categories.size()];
    for (VideoAnnotation video : videos) {
      counts[lv2(video, categories)]++;
    }
    return counts;
  }

  private static int lv2(VideoAnnotation video, CategoryMap categories) {
    return categories.lv2Index(video.categoryId().orElseThrow()).getAsInt();
  }

  /** Writes the JSON form atomically. */
  public void write(Path file) {
    writeJson(file, toJson());
  }

  ObjectNode toJson() {
    ObjectNode json = JSON.createObjectNode();
    json.put("kind", kind.jsonName());
    json.put("strength", strength);
    json.put("classes", classes());
    if (kind != Kind.NONE) {
      ArrayNode counts = json.putArray("train_counts");
      Arrays.stream(trainCounts).forEach(counts::add);
      ArrayNode values = json.putArray(kind == Kind.MULTIPLIERS ? "multipliers" : "logit_bias");
      if (kind == Kind.MULTIPLIERS) {
        for (double m : multipliers()) {
          values.add(m);
        }
      } else {
        for (double b : logitBias) {
          values.add(b);
        }
      }
    }
    return json;
  }

  /**
   * Reads the JSON form; the per-class array is what will be applied.
   *
   * @throws DataException naming the file and the field when it is malformed
   */
  public static TailAdjustment read(Path file) {
    JsonNode json;
    try {
      json = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw DataException.at(file, null, null, "not readable JSON: " + e.getMessage(), e);
    }
    if (json == null || !json.isObject()) {
      throw DataException.at(file, null, null, "expected a JSON object");
    }
    Kind kind = Kind.fromJsonName(json.path("kind").asText(""));
    if (kind == null) {
      throw DataException.at(file, null, "kind", "expected \"none\", \"multipliers\" or "
          + "\"logit_adjustment\", got " + json.get("kind"));
    }
    JsonNode classesNode = json.get("classes");
    if (classesNode == null || !classesNode.canConvertToInt() || classesNode.intValue() < 1) {
      throw DataException.at(file, null, "classes", "expected a positive whole number, got "
          + classesNode);
    }
    int classes = classesNode.intValue();
    if (kind == Kind.NONE) {
      return none(classes);
    }
    double strength = json.path("strength").asDouble(Double.NaN);
    int[] counts = new int[classes];
    double[] counted = numbers(file, json, "train_counts", classes);
    for (int c = 0; c < classes; c++) {
      if (counted[c] < 0 || counted[c] != Math.rint(counted[c])) {
        throw DataException.at(file, null, "train_counts[" + c + "]",
            "expected a whole number >= 0, got " + counted[c]);
      }
      counts[c] = (int) counted[c];
    }
    double[] bias = new double[classes];
    if (kind == Kind.MULTIPLIERS) {
      double[] m = numbers(file, json, "multipliers", classes);
      for (int c = 0; c < classes; c++) {
        if (!(m[c] > 0) || Double.isInfinite(m[c])) {
          throw DataException.at(file, null, "multipliers[" + c + "]",
              "expected a positive finite number, got " + m[c]);
        }
        bias[c] = Math.log(m[c]);
      }
    } else {
      bias = numbers(file, json, "logit_bias", classes);
    }
    return new TailAdjustment(kind, strength, counts, bias);
  }

  private static double[] numbers(Path file, JsonNode json, String field, int length) {
    JsonNode node = json.get(field);
    if (node == null || !node.isArray() || node.size() != length) {
      throw DataException.at(file, null, field, "expected an array of " + length
          + " numbers (one per class), got " + (node == null ? "nothing"
          : node.isArray() ? node.size() + " values" : node.getNodeType().toString()));
    }
    double[] values = new double[length];
    for (int i = 0; i < length; i++) {
      JsonNode value = node.get(i);
      if (!value.isNumber() || !Double.isFinite(value.doubleValue())) {
        throw DataException.at(file, null, field + "[" + i + "]", "expected a finite number, got "
            + value);
      }
      values[i] = value.doubleValue();
    }
    return values;
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

  private static ObjectNode scoreJson(OfficialScore score) {
    ObjectNode json = JSON.createObjectNode();
    json.put("lv1_micro_f1", score.lv1MicroF1());
    json.put("lv1_macro_f1", score.lv1MacroF1());
    json.put("lv2_micro_f1", score.lv2MicroF1());
    json.put("lv2_macro_f1", score.lv2MacroF1());
    json.put("mean_f1", score.mean());
    return json;
  }

  private static void writeJson(Path file, ObjectNode json) {
    AtomicFiles.write(file, out -> JSON.writeValue(out, json));
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

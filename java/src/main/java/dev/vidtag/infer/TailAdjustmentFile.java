package dev.vidtag.infer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.infer.TailAdjustment.Kind;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The JSON form of a {@link TailAdjustment}: {@code {"kind": "multipliers", "strength": 10.0,
 * "classes": 200, "train_counts": [...], "multipliers": [...]}}; a {@code logit_adjustment}
 * holds {@code "logit_bias"} instead of {@code "multipliers"}, and {@code none} only its kind and
 * classes. The per-class array is what is applied, so it may be edited by hand; the other fields
 * record where it came from, with the validation scores of the fit that chose it.
 */
final class TailAdjustmentFile {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

  private TailAdjustmentFile() {}

  /** Writes the adjustment atomically, with the fit's validation scores when {@code fit} is set. */
  static void write(Path file, TailAdjustment adjustment, TailAdjustment.Fit fit) {
    ObjectNode json = JSON.createObjectNode();
    Kind kind = adjustment.kind();
    json.put("kind", kind.jsonName());
    json.put("strength", adjustment.strength());
    json.put("classes", adjustment.classes());
    if (kind != Kind.NONE) {
      ArrayNode counts = json.putArray("train_counts");
      for (int count : adjustment.trainCounts()) {
        counts.add(count);
      }
      ArrayNode values = json.putArray(kind == Kind.MULTIPLIERS ? "multipliers" : "logit_bias");
      for (double value : kind == Kind.MULTIPLIERS ? adjustment.multipliers()
          : adjustment.logitBias()) {
        values.add(value);
      }
    }
    if (fit != null) {
      ObjectNode validation = json.putObject("validation");
      validation.set("before", JSON.valueToTree(fit.before().toMap()));
      validation.set("after", JSON.valueToTree(fit.after().toMap()));
      validation.put("candidates", fit.candidates().size());
    }
    AtomicFiles.write(file, out -> JSON.writeValue(out, json));
  }

  /**
   * Reads an adjustment back.
   *
   * @throws DataException naming the file and the field when it is malformed
   */
  static TailAdjustment read(Path file) {
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
      return TailAdjustment.none(classes);
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
    return TailAdjustment.of(kind, strength, counts, bias);
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
}

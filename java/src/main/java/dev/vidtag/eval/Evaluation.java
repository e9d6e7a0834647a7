package dev.vidtag.eval;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.io.DataException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A result file scored against the truth as the official scorer did: the files must hold the
 * same number of lines and the same ids (in any order); anything else is an error, not a
 * lower score.
 */
public record Evaluation(OfficialScore score, ClassCounts lv1, ClassCounts lv2,
    CategoryMap categories) {

  public static Evaluation of(Path predictions, Path truth, CategoryMap categories) {
    List<ResultFile.Entry> predicted = ResultFile.read(predictions, categories);
    List<ResultFile.Entry> expected = ResultFile.read(truth, categories);
    if (predicted.size() != expected.size()) {
      throw new DataException(predictions + ": " + predicted.size() + " lines, but " + truth
          + " has " + expected.size());
    }
    Map<String, Integer> truthById = new HashMap<>();
    for (ResultFile.Entry e : expected) {
      truthById.put(e.videoId(), categories.lv2Index(e.categoryId()).getAsInt());
    }
    int[] truthLv2 = new int[predicted.size()];
    int[] predictedLv2 = new int[predicted.size()];
    for (int i = 0; i < predicted.size(); i++) {
      ResultFile.Entry entry = predicted.get(i);
      Integer t = truthById.get(entry.videoId());
      if (t == null) {
        throw DataException.at(predictions, "line " + (i + 1), "id",
            "unknown id " + entry.videoId() + " (not in " + truth + ")");
      }
      truthLv2[i] = t;
      predictedLv2[i] = categories.lv2Index(entry.categoryId()).getAsInt();
    }
    return of(truthLv2, predictedLv2, categories);
  }

  public static Evaluation of(int[] truthLv2, int[] predictedLv2, CategoryMap categories) {
    OfficialScore score = OfficialScore.of(truthLv2, predictedLv2, categories);
    ClassCounts lv2 = ClassCounts.count(truthLv2, predictedLv2, categories.size());
    ClassCounts lv1 = ClassCounts.count(OfficialScore.toLv1(truthLv2, categories),
        OfficialScore.toLv1(predictedLv2, categories), categories.lv1Count());
    return new Evaluation(score, lv1, lv2, categories);
  }

  /** The five numbers, under the keys the official scorer printed. */
  public Map<String, Double> scoreJson() {
    return score.toMap();
  }

  /** The score, per-class precision, recall, F1 and support, and the most frequent confusions. */
  public Map<String, Object> report(int confusionCount) {
    Map<String, Object> report = new LinkedHashMap<>(scoreJson());
    report.put("lv1", perClass(lv1, c -> String.format("%02d", c)));
    report.put("lv2", perClass(lv2, categories::categoryId));
    record Confusion(int truth, int predicted, long count) {}
    List<Confusion> confusions = new ArrayList<>();
    for (int t = 0; t < lv2.classes(); t++) {
      for (int p = 0; p < lv2.classes(); p++) {
        if (t != p && lv2.confusions(t, p) > 0) {
          confusions.add(new Confusion(t, p, lv2.confusions(t, p)));
        }
      }
    }
    confusions.sort(Comparator.comparingLong(Confusion::count).reversed()
        .thenComparingInt(Confusion::truth).thenComparingInt(Confusion::predicted));
    List<Map<String, Object>> top = new ArrayList<>();
    for (Confusion c : confusions.subList(0, Math.min(confusionCount, confusions.size()))) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("truth", categories.categoryId(c.truth()));
      row.put("predicted", categories.categoryId(c.predicted()));
      row.put("count", c.count());
      top.add(row);
    }
    report.put("top_confusions", top);
    return report;
  }

  private static List<Map<String, Object>> perClass(ClassCounts counts,
      java.util.function.IntFunction<String> name) {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (int c = 0; c < counts.classes(); c++) {
      if (!counts.present(c)) {
        continue;
      }
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("class", name.apply(c));
      row.put("precision", counts.precision(c));
      row.put("recall", counts.recall(c));
      row.put("f1", counts.f1(c));
      row.put("support", counts.support(c));
      rows.add(row);
    }
    return rows;
  }
}

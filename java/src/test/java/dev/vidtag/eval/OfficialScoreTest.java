package dev.vidtag.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.data.CategoryMap;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

class OfficialScoreTest {
  private static final CategoryMap CATEGORIES = CategoryMap.official();

  private static int firstOfGroup(int lv1) {
    for (int c = 0; c < CATEGORIES.size(); c++) {
      if (CATEGORIES.lv1Index(c) == lv1) {
        return c;
      }
    }
    throw new AssertionError("no group " + lv1);
  }

  /**
   * Truth A A B C, predicted A B B A, with A and B in group 0 and C in group 1. By hand:
   * lv2 F1 A = 2/(2+1+1) = 1/2, B = 2/(2+1) = 2/3, C = 0, macro 7/18, micro 2/4;
   * lv1 F1 group 0 = 6/(6+1) = 6/7, group 1 = 0, macro 3/7, micro 3/4.
   */
  @Test
  void matchesAHandComputedExample() {
    int a = 0;
    int b = 1;
    int c = firstOfGroup(1);
    OfficialScore score = OfficialScore.of(new int[] {a, a, b, c}, new int[] {a, b, b, a}, CATEGORIES);
    assertEquals(0.5, score.lv2MicroF1(), 1e-12);
    assertEquals(7.0 / 18.0, score.lv2MacroF1(), 1e-12);
    assertEquals(0.75, score.lv1MicroF1(), 1e-12);
    assertEquals(3.0 / 7.0, score.lv1MacroF1(), 1e-12);
    assertEquals((0.75 + 3.0 / 7.0 + 0.5 + 7.0 / 18.0) / 4, score.mean(), 1e-12);
  }

  @Test
  void perfectPredictionsScoreOne() {
    int[] labels = {0, 5, 5, 199, 42};
    assertEquals(1.0, OfficialScore.of(labels, labels.clone(), CATEGORIES).mean(), 0.0);
  }

  /** scikit-learn's f1_score on the same labels (make_score_fixtures.py). */
  @Test
  void matchesScikitLearn() throws Exception {
    JsonNode cases;
    try (InputStream in = getClass().getResourceAsStream("/dev/vidtag/eval/score_cases.json")) {
      cases = new ObjectMapper().readTree(in);
    }
    assertEquals(4, cases.size());
    for (JsonNode testCase : cases) {
      int n = testCase.get("truth").size();
      int[] truth = new int[n];
      int[] predicted = new int[n];
      for (int i = 0; i < n; i++) {
        truth[i] = CATEGORIES.lv2Index(testCase.get("truth").get(i).asText()).getAsInt();
        predicted[i] = CATEGORIES.lv2Index(testCase.get("pred").get(i).asText()).getAsInt();
      }
      OfficialScore score = OfficialScore.of(truth, predicted, CATEGORIES);
      JsonNode expected = testCase.get("expected");
      String name = testCase.get("name").asText();
      assertEquals(expected.get("lv1_micro_f1").asDouble(), score.lv1MicroF1(), 1e-12, name);
      assertEquals(expected.get("lv1_macro_f1").asDouble(), score.lv1MacroF1(), 1e-12, name);
      assertEquals(expected.get("lv2_micro_f1").asDouble(), score.lv2MicroF1(), 1e-12, name);
      assertEquals(expected.get("lv2_macro_f1").asDouble(), score.lv2MacroF1(), 1e-12, name);
    }
  }

  @Test
  void rejectsMismatchedOrEmptyInput() {
    assertThrows(IllegalArgumentException.class,
        () -> OfficialScore.of(new int[] {1, 2}, new int[] {1}, CATEGORIES));
    assertThrows(IllegalArgumentException.class,
        () -> OfficialScore.of(new int[0], new int[0], CATEGORIES));
    assertThrows(IllegalArgumentException.class,
        () -> OfficialScore.of(new int[] {200}, new int[] {0}, CATEGORIES));
  }
}

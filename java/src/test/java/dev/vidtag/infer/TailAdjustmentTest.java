package dev.vidtag.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tail-class adjustments on cases small enough to work out by hand. */
class TailAdjustmentTest {
  static final CategoryMap CATEGORIES = CategoryMap.official();
  static final int HEAD = 0;
  static final int TAIL = 1;

  @TempDir Path dir;

  @Test
  void multipliersFollowTheReferenceFormula() {
    TailAdjustment tail = TailAdjustment.multipliers(new int[] {1, 10, 100, 0}, 10);
    // 10 / n + 1, a class never seen counting as one
    assertArrayEquals(new double[] {11, 2, 1.1, 11}, tail.multipliers(), 1e-12);
    assertArrayEquals(new double[] {Math.log(11), Math.log(2), Math.log(1.1), Math.log(11)},
        tail.logitBias(), 1e-12);
  }

  @Test
  void logitAdjustmentSubtractsTauTimesTheLogPrior() {
    // priors 1/4 and 3/4
    TailAdjustment tail = TailAdjustment.logitAdjustment(new int[] {1, 3}, 0.5);
    assertArrayEquals(new double[] {-0.5 * Math.log(0.25), -0.5 * Math.log(0.75)},
        tail.logitBias(), 1e-12);
    SplitLogits logits = new SplitLogits(List.of("a", "b"), 2, new float[] {0.6f, 1.0f, 0.4f, 1.0f});
    // bias difference 0.5 * ln 3 = 0.549: row a flips (gap 0.4), row b does not (gap 0.6)
    assertArrayEquals(new int[] {1, 1}, logits.argmax());
    assertArrayEquals(new int[] {0, 1}, tail.predict(logits));
    float[] adjusted = tail.apply(logits).values();
    assertEquals(0.6 + 0.5 * Math.log(4), adjusted[0], 1e-6);
    assertEquals(1.0 + 0.5 * Math.log(4.0 / 3), adjusted[1], 1e-6);
  }

  /**
   * A head class (1000 training videos, like the 198 others) against a tail class (1). The gap
   * between the tail's bias and the head's is ln 3 - ln 1.002 = 1.097 for multipliers of scale 2,
   * ln 6 - ln 1.005 = 1.787 for scale 5, and tau * ln 1000 = 6.908 tau for logit adjustment
   * (1.382 at tau 0.2, 2.072 at 0.3). Validation: head videos with the head ahead by 2.0 and 1.5,
   * tail videos with the head ahead by 1.0 and 1.3. Only a gap in (1.3, 1.5) gets all four right:
   * tau = 0.2; the best multipliers (scale 2) miss the 1.3 one.
   */
  @Test
  void fitKeepsTheBestOfNoneMultipliersAndLogitAdjustment() {
    int[] counts = new int[200];
    Arrays.fill(counts, 1000);
    counts[TAIL] = 1;
    float[] gaps = {2.0f, 1.0f, 1.3f, 1.5f};
    int[] truth = {HEAD, TAIL, TAIL, HEAD};
    SplitLogits validation = rows(gaps);

    TailAdjustment.Fit fit = TailAdjustment.fit(validation, truth, counts, CATEGORIES);

    assertEquals(TailAdjustment.Kind.LOGIT_ADJUSTMENT, fit.adjustment().kind());
    assertEquals(0.2, fit.adjustment().strength(), 1e-12);
    // before: every video predicted HEAD; lv1 is always right (0000 and 0001 share group 00)
    // lv2 micro 2/4; lv2 macro: HEAD F1 = 2*2 / (2*2 + 2) = 2/3, TAIL 0 -> 1/3
    assertEquals(new OfficialScore(1, 1, 0.5, 1.0 / 3), fit.before());
    assertEquals((1 + 1 + 0.5 + 1.0 / 3) / 4, fit.before().mean(), 1e-12);
    assertEquals(new OfficialScore(1, 1, 1, 1), fit.after());
    assertEquals(1 + TailAdjustment.MULTIPLIER_SCALES.size() + TailAdjustment.TAUS.size(),
        fit.candidates().size());
    TailAdjustment.Candidate scale2 = fit.candidates().get(2);
    assertEquals(TailAdjustment.Kind.MULTIPLIERS, scale2.kind());
    assertEquals(2.0, scale2.strength());
    // scale 2 flips only the 1.0 gap: HEAD TP 2, FP 1 (F1 4/5); TAIL TP 1, FN 1 (F1 2/3)
    assertEquals(new OfficialScore(1, 1, 0.75, (4.0 / 5 + 2.0 / 3) / 2), scale2.score());
  }

  @Test
  void fitKeepsNoAdjustmentWhenNothingHelps() {
    int[] counts = new int[200];
    Arrays.fill(counts, 1000);
    counts[TAIL] = 1;
    // the model is right already; any flip of a head video toward the tail loses
    TailAdjustment.Fit fit = TailAdjustment.fit(rows(new float[] {0.3f, -1f}),
        new int[] {HEAD, TAIL}, counts, CATEGORIES);
    assertEquals(TailAdjustment.Kind.NONE, fit.adjustment().kind());
    assertEquals(fit.before(), fit.after());
    assertEquals(new OfficialScore(1, 1, 1, 1), fit.after());
  }

  @Test
  void jsonRoundTripAppliesTheSameBias() throws IOException {
    int[] counts = new int[200];
    Arrays.fill(counts, 50);
    counts[TAIL] = 2;
    for (TailAdjustment tail : List.of(TailAdjustment.multipliers(counts, 10),
        TailAdjustment.logitAdjustment(counts, 0.7), TailAdjustment.none(200))) {
      Path file = dir.resolve(tail.kind().jsonName() + ".json");
      tail.write(file);
      TailAdjustment read = TailAdjustment.read(file);
      assertEquals(tail.kind(), read.kind());
      assertEquals(tail.strength(), read.strength());
      assertArrayEquals(tail.logitBias(), read.logitBias(), 1e-12);
      assertArrayEquals(tail.trainCounts(), read.trainCounts());
    }
    TailAdjustment.Fit fit = TailAdjustment.fit(rows(new float[] {1.0f}), new int[] {TAIL},
        counts, CATEGORIES);
    Path file = dir.resolve("fit.json");
    fit.write(file);
    var json = new ObjectMapper().readTree(file.toFile());
    assertEquals(fit.before().mean(), json.at("/validation/before/mean_f1").asDouble(), 1e-12);
    assertEquals(fit.after().mean(), json.at("/validation/after/mean_f1").asDouble(), 1e-12);
    assertEquals(fit.adjustment().kind(), TailAdjustment.read(file).kind());
  }

  @Test
  void malformedFilesNameTheField() throws IOException {
    Path file = dir.resolve("bad.json");
    Files.writeString(file, "{\"kind\": \"multipliers\", \"strength\": 10, \"classes\": 3, "
        + "\"train_counts\": [1, 2, 3], \"multipliers\": [1.0, 2.0]}");
    DataException e = assertThrows(DataException.class, () -> TailAdjustment.read(file));
    assertTrue(e.getMessage().contains("bad.json") && e.getMessage().contains("multipliers")
        && e.getMessage().contains("3"), e.getMessage());
    Files.writeString(file, "{\"kind\": \"multipliers\", \"strength\": 10, \"classes\": 2, "
        + "\"train_counts\": [1, 2], \"multipliers\": [1.0, -2.0]}");
    e = assertThrows(DataException.class, () -> TailAdjustment.read(file));
    assertTrue(e.getMessage().contains("multipliers[1]"), e.getMessage());
    Files.writeString(file, "{\"kind\": \"boost\", \"classes\": 2}");
    e = assertThrows(DataException.class, () -> TailAdjustment.read(file));
    assertTrue(e.getMessage().contains("kind"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> TailAdjustment.none(3).apply(rows(new float[] {1f})));
  }

  /** One row per gap: HEAD at the gap, TAIL at 0, every other class far below. */
  private static SplitLogits rows(float[] gaps) {
    float[] values = new float[gaps.length * 200];
    Arrays.fill(values, -20f);
    for (int i = 0; i < gaps.length; i++) {
      values[i * 200 + HEAD] = gaps[i];
      values[i * 200 + TAIL] = 0f;
    }
    return new SplitLogits(IntStream.range(0, gaps.length).mapToObj(i -> "v" + i).toList(), 200,
        values);
  }
}

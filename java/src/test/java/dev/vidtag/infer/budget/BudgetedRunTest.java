package dev.vidtag.infer.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.infer.Precision;
import dev.vidtag.infer.SplitLogits;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The monitor, driven by a fake clock that a fake predictor advances by the calibrated cost
 * times a slowdown: deterministic, no models.
 */
class BudgetedRunTest {
  static final List<String> IDS = IntStream.range(0, 100).mapToObj(i -> "v" + i).toList();

  /** A predictor that takes {@code slowdown} times the calibrated time and marks each row. */
  record Fake(Planner planner, AtomicLong clock, double slowdown, List<Plan> used)
      implements BudgetedRun.ChunkPredictor {
    @Override
    public SplitLogits predict(Plan plan, int from, int to) {
      used.add(plan);
      clock.addAndGet((long) (planner.estimatedSeconds(plan, to - from) * slowdown * 1e9));
      float[] rows = new float[to - from];
      java.util.Arrays.fill(rows, planner.candidates().indexOf(plan));
      return new SplitLogits(IDS.subList(from, to), 1, rows);
    }
  }

  static Fake fake(double slowdown) {
    return new Fake(BudgetPlannerTest.planner(), new AtomicLong(), slowdown, new ArrayList<>());
  }

  static BudgetedRun.Outcome run(Fake fake, double budgetSeconds, List<String> log) {
    Plan initial = fake.planner().choose(IDS.size(), budgetSeconds, 0.1).plan();
    return new BudgetedRun(fake.planner(), fake.clock()::get, 0, (long) (budgetSeconds * 1e9),
        0.1, log::add).run(IDS, initial, 10, fake);
  }

  @Test
  void aRunOnPaceKeepsItsPlan() {
    Fake fake = fake(1.0);
    List<String> log = new ArrayList<>();
    BudgetedRun.Outcome outcome = run(fake, 4.0, log);
    assertEquals(List.of(), outcome.changes());
    assertEquals(1, outcome.segments().size());
    assertEquals(fake.planner().best(), outcome.segments().get(0).plan());
    assertEquals(3.0, outcome.finishedAtSeconds(), 1e-6);
    assertEquals(List.of(), log);
  }

  @Test
  void aRunThatFallsBehindDegradesOnceItKnowsAndSaysSo() {
    Fake fake = fake(2.0);
    List<String> log = new ArrayList<>();
    BudgetedRun.Outcome outcome = run(fake, 4.0, log);
    // after 10 videos (0.6 s), 90 more at twice the calibrated time need 5.4 s under the full
    // plan and 3.6 s under one member, of 3.06 s usable: one member with 8 frames needs 2.7 s
    assertEquals(1, outcome.changes().size());
    BudgetedRun.Change change = outcome.changes().get(0);
    assertEquals(10, change.videosDone());
    assertEquals(0.6, change.atSeconds(), 1e-6);
    assertEquals(new Plan(2, Precision.FP32, Plan.TRAINED_FRAMES), change.from());
    assertEquals(new Plan(1, Precision.FP32, 8), change.to());
    assertEquals(1, log.size());
    assertTrue(log.get(0).startsWith("degraded "), log.get(0));
    assertEquals(List.of(10, 90), outcome.segments().stream()
        .map(BudgetedRun.Segment::videos).toList());
    assertTrue(outcome.finishedAtSeconds() <= 4.0, "finished at " + outcome.finishedAtSeconds());
    assertEquals(List.of(), outcome.warnings());
    assertEveryVideoHasARowOfItsPlan(fake, outcome);
  }

  @Test
  void aHopelessRunEndsOnTheCheapestPlanWithAWarningAndEveryVideoPredicted() {
    Fake fake = fake(10.0);
    List<String> log = new ArrayList<>();
    BudgetedRun.Outcome outcome = run(fake, 4.0, log);
    Plan last = outcome.segments().get(outcome.segments().size() - 1).plan();
    assertEquals(fake.planner().cheapest(), last);
    assertEquals(1, outcome.warnings().size());
    assertTrue(outcome.warnings().get(0).contains("will be exceeded"), outcome.warnings().get(0));
    assertTrue(log.stream().anyMatch(l -> l.startsWith("warning: ")), log.toString());
    assertEveryVideoHasARowOfItsPlan(fake, outcome);
  }

  @Test
  void aPredictorReturningOtherVideosIsAnError() {
    Fake fake = fake(1.0);
    BudgetedRun run = new BudgetedRun(fake.planner(), fake.clock()::get, 0, 4_000_000_000L, 0.1,
        s -> { });
    assertThrows(IllegalStateException.class, () -> run.run(IDS, fake.planner().best(), 10,
        (plan, from, to) -> new SplitLogits(IDS.subList(0, to - from), 1, new float[to - from])));
  }

  /** Rows in order, each marked by the plan in force; plans only ever get cheaper and worse. */
  private static void assertEveryVideoHasARowOfItsPlan(Fake fake, BudgetedRun.Outcome outcome) {
    assertEquals(IDS, outcome.logits().videoIds());
    for (int i = 1; i < fake.used().size(); i++) {
      Plan before = fake.used().get(i - 1);
      Plan after = fake.used().get(i);
      assertTrue(after.atMost(before), after + " after " + before);
    }
    for (BudgetedRun.Segment s : outcome.segments()) {
      float mark = fake.planner().candidates().indexOf(s.plan());
      for (int v = s.from(); v < s.to(); v++) {
        assertEquals(mark, outcome.logits().values()[v], "video " + v);
      }
    }
    assertEquals(IDS.size(), outcome.segments().stream()
        .mapToInt(BudgetedRun.Segment::videos).sum());
  }
}

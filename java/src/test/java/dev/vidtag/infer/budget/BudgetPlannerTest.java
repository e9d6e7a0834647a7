package dev.vidtag.infer.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Precision;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The planner, budgets and allowances on hand-made costs: no models, no clock. */
class BudgetPlannerTest {
  /**
   * Two members trained with 14 frames; member 1 ranks first. Costs per video: member 1 is
   * twice member 0; int8 costs 0.6 of fp32; 8 frames cost 0.75 of 14.
   */
  static CostModel costs() {
    Map<CostModel.Key, Double> costs = new HashMap<>();
    double[] base = {0.010, 0.020};
    for (int m = 0; m < 2; m++) {
      for (Precision p : List.of(Precision.FP32, Precision.INT8)) {
        for (int frames : List.of(14, 8)) {
          costs.put(new CostModel.Key(m, p, frames),
              base[m] * (p == Precision.INT8 ? 0.6 : 1) * (frames == 8 ? 0.75 : 1));
        }
      }
    }
    return new CostModel(List.of(1, 0), new int[] {14, 14}, costs);
  }

  static Allowance allowance() {
    return Allowance.parse(List.of("precision=fp32,int8", "frames=trained,8", "members=all,best"),
        2, Precision.FP32, true);
  }

  static Planner planner() {
    return new Planner(allowance(), costs());
  }

  @Test
  void aGenerousBudgetGetsTheBestPlan() {
    Planner.Choice choice = planner().choose(100, 10, 0.1);
    assertTrue(choice.fits());
    assertEquals(new Plan(2, Precision.FP32, Plan.TRAINED_FRAMES), choice.plan());
    assertEquals(3.0, choice.estimatedSeconds(), 1e-9);
    assertEquals(9.0, choice.usableSeconds(), 1e-9);
  }

  @Test
  void theBestPlanThatFitsIsChosenAndATighterBudgetGivesACheaperOne() {
    Planner planner = planner();
    // full: 3.0 s; 2 members fp32 8 frames: 2.25 s; 2 members int8 trained: 1.8 s
    Planner.Choice justUnder = planner.choose(100, 2.9 / 0.9, 0.1);
    assertEquals(new Plan(2, Precision.FP32, 8), justUnder.plan());
    Planner.Choice tighter = planner.choose(100, 2.0 / 0.9, 0.1);
    assertEquals(new Plan(2, Precision.INT8, Plan.TRAINED_FRAMES), tighter.plan());
    Planner.Choice tightest = planner.choose(100, 1.0, 0.0);
    // one member (the best ranked: member 1, 0.020 s/video) at fp32 is 2.0 s: too much;
    // its int8 at 8 frames is 0.9 s
    assertEquals(new Plan(1, Precision.INT8, 8), tightest.plan());
    assertEquals(List.of(1), planner.costs().membersOf(tightest.plan()));
    assertTrue(planner.costs().secondsPerVideo(tighter.plan())
        < planner.costs().secondsPerVideo(justUnder.plan()));
  }

  @Test
  void anImpossibleBudgetGetsTheCheapestPlanWithAWarning() {
    Planner.Choice choice = planner().choose(100, 0.1, 0.1);
    assertFalse(choice.fits());
    assertEquals(new Plan(1, Precision.INT8, 8), choice.plan());
    assertNotNull(choice.warning());
    assertTrue(choice.warning().contains("no allowed plan fits"), choice.warning());
    Planner.Choice past = planner().choose(100, -5, 0.1);
    assertEquals(0.0, past.usableSeconds());
    assertFalse(past.fits());
  }

  @Test
  void theMarginIsKeptFree() {
    assertNull(planner().choose(100, 3.0, 0.0).warning());
    assertEquals(new Plan(2, Precision.FP32, 8), planner().choose(100, 3.0, 0.1).plan());
  }

  @Test
  void degradingDropsAMemberThenFramesThenPrecisionAndNeverUpgrades() {
    Planner planner = planner();
    Plan plan = planner.best();
    assertEquals(Optional.of(new Plan(1, Precision.FP32, Plan.TRAINED_FRAMES)),
        planner.degrade(plan));
    assertEquals(Optional.of(new Plan(1, Precision.FP32, 8)),
        planner.degrade(new Plan(1, Precision.FP32, Plan.TRAINED_FRAMES)));
    assertEquals(Optional.of(new Plan(1, Precision.INT8, 8)),
        planner.degrade(new Plan(1, Precision.FP32, 8)));
    assertEquals(Optional.empty(), planner.degrade(new Plan(1, Precision.INT8, 8)));
    for (Plan p : planner.candidates()) {
      planner.degrade(p).ifPresent(next -> {
        assertTrue(next.atMost(p), next + " after " + p);
        assertTrue(planner.costs().secondsPerVideo(next) < planner.costs().secondsPerVideo(p));
      });
    }
  }

  @Test
  void aStepThatSavesNothingIsPassedOver() {
    Map<CostModel.Key, Double> costs = new HashMap<>();
    // int8 is no faster here (as on some CPUs); only dropping frames saves time
    for (Precision p : List.of(Precision.FP32, Precision.INT8)) {
      costs.put(new CostModel.Key(0, p, 14), 0.01);
      costs.put(new CostModel.Key(0, p, 8), 0.005);
    }
    Planner planner = new Planner(Allowance.parse(List.of("precision=fp32,int8 frames=trained,8"),
        1, Precision.FP32, true), new CostModel(List.of(0), new int[] {14}, costs));
    assertEquals(Optional.of(new Plan(1, Precision.FP32, 8)),
        planner.degrade(new Plan(1, Precision.FP32, Plan.TRAINED_FRAMES)));
    assertEquals(Optional.empty(), planner.degrade(new Plan(1, Precision.FP32, 8)));
    assertEquals(new Plan(1, Precision.FP32, 8), planner.cheapest(), "ties keep the better");
  }

  @Test
  void durationsRatesAndMarginsParseOrFailNamingTheValue() {
    assertEquals(90, Budget.parseDuration("90s").totalSeconds(10));
    assertEquals(360, Budget.parseDuration("6m").totalSeconds(10));
    assertEquals(90, Budget.parseDuration("1m30s").totalSeconds(10));
    assertEquals(3600 + 2.5, Budget.parseDuration("1h2.5s").totalSeconds(10));
    assertEquals(50, Budget.parseMinimumRate("2").totalSeconds(100));
    for (String bad : List.of("", "90", "s", "1m30", "-5s", "0s", "5x", "1s1m")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Budget.parseDuration(bad), bad);
      assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
    }
    for (String bad : List.of("0", "-1", "fast", "Infinity", "NaN")) {
      assertThrows(IllegalArgumentException.class, () -> Budget.parseMinimumRate(bad), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> Budget.requireMargin(1.0));
    assertThrows(IllegalArgumentException.class, () -> Budget.requireMargin(-0.1));
  }

  @Test
  void allowancesParseWithDefaultsAndRefuseBadItems() {
    Allowance defaults = Allowance.parse(List.of(), 3, Precision.FP32, true);
    assertEquals(List.of(Precision.FP32, Precision.INT8), defaults.precisions());
    assertEquals(List.of(Plan.TRAINED_FRAMES), defaults.frameLimits());
    assertEquals(List.of(3, 1), defaults.memberCounts());
    assertEquals(List.of(Precision.BF16),
        Allowance.parse(List.of(), 3, Precision.BF16, false).precisions());
    Allowance given = Allowance.parse(List.of("frames=8,14,trained members=2,best"), 3,
        Precision.FP32, true);
    assertEquals(List.of(Plan.TRAINED_FRAMES, 14, 8), given.frameLimits());
    assertEquals(List.of(2, 1), given.memberCounts());
    for (String bad : List.of("precision=fp16", "frames=0", "frames=many", "members=4",
        "members=some", "speed=fast", "frames", "frames=8 frames=4")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Allowance.parse(List.of(bad), 3, Precision.FP32, true), bad);
      assertFalse(e.getMessage().isBlank());
    }
  }

  @Test
  void membersRankByTheScoresInTheirCheckpointNamesElseAsGiven() {
    List<EnsembleMember> scored = List.of(
        EnsembleMember.of(Path.of("run-a/checkpoints/step-000100-score-0.5100")),
        EnsembleMember.of(Path.of("run-b/checkpoints/step-000200-score-0.6200")),
        EnsembleMember.of(Path.of("run-c/checkpoints/step-000300-score-0.5900")));
    MemberRanking ranking = MemberRanking.of(scored);
    assertTrue(ranking.byScore());
    assertEquals(List.of(1, 2, 0), ranking.bestFirst());
    List<EnsembleMember> mixed = List.of(EnsembleMember.of(Path.of("single")),
        EnsembleMember.of(Path.of("run/checkpoints/step-1-score-0.9")));
    assertFalse(MemberRanking.of(mixed).byScore());
    assertEquals(List.of(0, 1), MemberRanking.of(mixed).bestFirst());
  }
}

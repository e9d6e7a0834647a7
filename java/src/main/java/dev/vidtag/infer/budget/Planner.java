package dev.vidtag.infer.budget;

import dev.vidtag.infer.Precision;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Chooses a plan for a budget from measured costs, and the next cheaper one when a run falls
 * behind. Pure: no clock, no models.
 *
 * <p>Plans rank by how many members run (the best-ranked ones), then precision (fp32 before
 * bf16 before int8), then frames: the planner takes the best-ranked plan whose estimated time
 * fits the time left less the margin.
 */
public final class Planner {
  /** Best first: the order plans are tried in. */
  public static final Comparator<Plan> BEST_FIRST = Comparator
      .comparingInt(Plan::members).reversed()
      .thenComparingInt((Plan p) -> p.precision().ordinal())
      .thenComparing(Comparator.comparingInt(Plan::maxFrames).reversed());

  /**
   * A chosen plan.
   *
   * @param estimatedSeconds its estimated time for the videos
   * @param usableSeconds the time left less the margin
   * @param warning why no allowed plan fits, or null when one does
   */
  public record Choice(Plan plan, double estimatedSeconds, double usableSeconds, String warning) {
    public boolean fits() {
      return warning == null;
    }
  }

  private final Allowance allowance;
  private final CostModel costs;
  private final List<Plan> candidates;

  public Planner(Allowance allowance, CostModel costs) {
    this.allowance = allowance;
    this.costs = costs;
    List<Plan> plans = new ArrayList<>();
    for (int members : allowance.memberCounts()) {
      if (members > costs.ensembleSize()) {
        throw new IllegalArgumentException("allowed " + members + " members, the ensemble has "
            + costs.ensembleSize());
      }
      for (Precision precision : allowance.precisions()) {
        for (int frames : allowance.frameLimits()) {
          plans.add(new Plan(members, precision, frames));
        }
      }
    }
    plans.sort(BEST_FIRST);
    this.candidates = List.copyOf(plans);
    candidates.forEach(costs::secondsPerVideo); // every plan must have its costs now
  }

  public CostModel costs() {
    return costs;
  }

  /** Every allowed plan, best first. */
  public List<Plan> candidates() {
    return candidates;
  }

  /** The best plan: every allowed member, the best precision, the most frames. */
  public Plan best() {
    return candidates.get(0);
  }

  /** The allowed plan of least estimated cost (the better-ranked one on ties). */
  public Plan cheapest() {
    return cheapestOf(candidates);
  }

  /** The estimated seconds of a plan for {@code videos} videos. */
  public double estimatedSeconds(Plan plan, int videos) {
    return costs.secondsPerVideo(plan) * videos;
  }

  /**
   * The best-ranked plan whose estimate for {@code videos} fits {@code secondsLeft * (1 -
   * margin)}; when none does, the cheapest, with a warning that says so.
   */
  public Choice choose(int videos, double secondsLeft, double margin) {
    Budget.requireMargin(margin);
    double usable = Math.max(secondsLeft, 0) * (1 - margin);
    for (Plan plan : candidates) {
      double estimate = estimatedSeconds(plan, videos);
      if (estimate <= usable) {
        return new Choice(plan, estimate, usable, null);
      }
    }
    Plan cheapest = cheapest();
    double estimate = estimatedSeconds(cheapest, videos);
    return new Choice(cheapest, estimate, usable, String.format(Locale.ROOT,
        "no allowed plan fits the budget: the cheapest (%s) needs about %.1f s for %d videos, "
        + "%.1f s are usable; running it anyway, the budget will be exceeded", cheapest, estimate,
        videos, usable));
  }

  /**
   * The plan a run that falls behind moves to: first one member fewer, then fewer frames, then a
   * lower precision, each taken only when it is estimated cheaper; when no single step is, the
   * cheapest plan nowhere better than the current one. Empty when nothing cheaper is allowed.
   * Never better than the current plan in any of the three.
   */
  public Optional<Plan> degrade(Plan current) {
    double cost = costs.secondsPerVideo(current);
    List<Plan> steps = new ArrayList<>();
    allowance.memberCounts().stream().filter(m -> m < current.members()).findFirst()
        .ifPresent(m -> steps.add(new Plan(m, current.precision(), current.maxFrames())));
    allowance.frameLimits().stream().filter(f -> f < current.maxFrames()).findFirst()
        .ifPresent(f -> steps.add(new Plan(current.members(), current.precision(), f)));
    allowance.precisions().stream().filter(p -> p.ordinal() > current.precision().ordinal())
        .findFirst()
        .ifPresent(p -> steps.add(new Plan(current.members(), p, current.maxFrames())));
    for (Plan step : steps) {
      if (costs.secondsPerVideo(step) < cost) {
        return Optional.of(step);
      }
    }
    List<Plan> below = candidates.stream()
        .filter(p -> p.atMost(current) && costs.secondsPerVideo(p) < cost).toList();
    return below.isEmpty() ? Optional.empty() : Optional.of(cheapestOf(below));
  }

  private Plan cheapestOf(List<Plan> plans) {
    Plan cheapest = plans.get(0);
    for (Plan p : plans) {
      if (costs.secondsPerVideo(p) < costs.secondsPerVideo(cheapest)) {
        cheapest = p;
      }
    }
    return cheapest;
  }
}

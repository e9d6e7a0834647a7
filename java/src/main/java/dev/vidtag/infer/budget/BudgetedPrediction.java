package dev.vidtag.infer.budget;

import dev.vidtag.data.Dataset;
import dev.vidtag.data.FrameFeatureSource;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Fuse;
import dev.vidtag.infer.SplitLogits;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.model.ModelDirectory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The fused logits of a split within a time budget: loads each member in each allowed
 * precision, calibrates their costs on a sample, lets the {@link Planner} choose the best plan
 * that fits, and runs it chunk by chunk under a {@link BudgetedRun}, which degrades the plan when
 * the run falls behind; classifiers that no remaining plan uses are closed as soon as a plan
 * change leaves them behind. Every video gets a row.
 *
 * <pre>{@code
 * BudgetedPrediction.Result r = BudgetedPrediction.predict(members, options, Dataset.at(data),
 *     "test_a", new BudgetedPrediction.Settings(Budget.parseDuration("6m"), 0.1,
 *         Allowance.parse(List.of(), members.size(), Precision.FP32, true), 32, 128, 128),
 *     System::nanoTime, System.nanoTime(), System.err::println);
 * r.report().write(PlanReport.besideResult(result));
 * }</pre>
 */
public final class BudgetedPrediction {
  /**
   * @param margin the fraction of the time left that every estimate keeps free
   * @param batchSize videos per forward pass
   * @param chunkVideos videos between two looks at the clock
   * @param calibrationVideos the sample each configuration is timed on
   */
  public record Settings(Budget budget, double margin, Allowance allowance, int batchSize,
      int chunkVideos, int calibrationVideos) {
    public Settings {
      Budget.requireMargin(margin);
      if (batchSize < 1 || chunkVideos < 1 || calibrationVideos < 1) {
        throw new IllegalArgumentException("batch size, chunk and calibration sample must be at "
            + "least 1, got " + batchSize + ", " + chunkVideos + ", " + calibrationVideos);
      }
    }
  }

  /** The fused logits (no tail adjustment) in annotation order, and what happened. */
  public record Result(SplitLogits logits, PlanReport report) {}

  private BudgetedPrediction() {}

  /**
   * @param options device and fusion; the precision comes from the allowance
   * @param clock nanoseconds, as {@link System#nanoTime}
   * @param startNanos when the budget started on that clock (the command's start)
   * @param log progress: calibration, the plan, every degradation and warning
   */
  public static Result predict(List<EnsembleMember> members, VideoClassifier.Options options,
      Dataset dataset, String split, Settings settings, LongSupplier clock, long startNanos,
      Consumer<String> log) {
    List<VideoAnnotation> videos = dataset.annotations(split, false);
    if (videos.isEmpty()) {
      throw new IllegalArgumentException("split '" + split + "' has no videos");
    }
    long deadline = startNanos + (long) (settings.budget().totalSeconds(videos.size()) * 1e9);
    MemberRanking ranking = MemberRanking.of(members);
    int[] maxFrames = members.stream()
        .mapToInt(m -> ModelDirectory.config(m.modelDirectory()).maxFrames()).toArray();
    try (ZipFeatureStore features = dataset.openFeatures(split);
         MemberClassifiers classifiers = new MemberClassifiers(members, options)) {
      long calibrationStart = clock.getAsLong();
      CostModel costs = Calibration.measure(classifiers, ranking, settings.allowance(), maxFrames,
          Calibration.sample(videos, settings.calibrationVideos()), features,
          settings.batchSize(), clock, log);
      long planned = clock.getAsLong();
      Planner planner = new Planner(settings.allowance(), costs);
      Planner.Choice choice = planner.choose(videos.size(), (deadline - planned) / 1e9,
          settings.margin());
      log.accept(String.format(Locale.ROOT, "plan: %s, about %.1f s for %d videos (%.1f s usable "
          + "of the budget %s)", choice.plan(), choice.estimatedSeconds(), videos.size(),
          choice.usableSeconds(), settings.budget()));
      if (!choice.fits()) {
        log.accept("warning: " + choice.warning());
      }
      List<String> ids = videos.stream().map(VideoAnnotation::id).toList();
      BudgetedRun run = new BudgetedRun(planner, clock, startNanos, deadline, settings.margin(),
          log);
      Plan[] previous = {null};
      BudgetedRun.Outcome outcome = run.run(ids, choice.plan(), settings.chunkVideos(),
          (plan, from, to) -> {
            if (!plan.equals(previous[0])) {
              classifiers.retainOnly(reachable(planner, plan));
              previous[0] = plan;
            }
            return predictChunk(classifiers, costs, options.fuse(), plan,
                videos.subList(from, to), features, settings.batchSize());
          });
      PlanReport report = new PlanReport(settings, members, ranking, costs, planner,
          (calibrationStart - startNanos) / 1e9, (planned - startNanos) / 1e9, choice, outcome,
          (deadline - startNanos) / 1e9);
      return new Result(outcome.logits(), report);
    }
  }

  /** The classifiers that a plan and every plan it may degrade to use. */
  static Set<MemberClassifiers.Key> reachable(Planner planner, Plan plan) {
    Set<MemberClassifiers.Key> keys = new HashSet<>();
    for (Plan lower : planner.candidates()) {
      if (lower.atMost(plan)) {
        for (CostModel.Key k : planner.costs().keysOf(lower)) {
          keys.add(new MemberClassifiers.Key(k.member(), k.precision()));
        }
      }
    }
    return keys;
  }

  /** The plan's members' logits of some videos, fused. */
  private static SplitLogits predictChunk(MemberClassifiers classifiers, CostModel costs,
      Fuse fuse, Plan plan, List<VideoAnnotation> chunk, FrameFeatureSource features,
      int batchSize) {
    List<Integer> running = costs.membersOf(plan);
    List<SplitLogits> parts = new ArrayList<>();
    double[] weights = new double[running.size()];
    double allWeights = 0;
    for (EnsembleMember m : classifiers.members()) {
      allWeights += m.weight();
    }
    double runningWeights = 0;
    for (int m : running) {
      runningWeights += classifiers.members().get(m).weight();
    }
    for (int i = 0; i < running.size(); i++) {
      int m = running.get(i);
      int frames = costs.framesOf(m, plan.maxFrames());
      FrameFeatureSource limited = frames >= costs.framesOf(m, Plan.TRAINED_FRAMES) ? features
          : new FrameLimitedFeatures(features, frames);
      parts.add(classifiers.classifier(m, plan.precision()).logits(chunk, limited, batchSize));
      // the remaining weights are scaled up to the ensemble's total, so that summed logits keep
      // their scale (a tail adjustment fitted on the whole ensemble adds a bias of that scale)
      weights[i] = classifiers.members().get(m).weight() * allWeights / runningWeights;
    }
    return fuse.combineLogits(parts, weights);
  }
}

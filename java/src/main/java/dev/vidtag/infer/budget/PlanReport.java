package dev.vidtag.infer.budget;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.io.AtomicFiles;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a budgeted prediction planned and did: the budget, the members' ranking, the calibrated
 * costs, the chosen plan with its estimate, every degradation and warning, the segments run
 * under each plan, and the planned and achieved videos per second (both counted from the start,
 * loading included). Written as JSON beside the result file.
 */
public final class PlanReport {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

  private final Map<String, Object> content = new LinkedHashMap<>();
  private final Planner planner;
  private final Planner.Choice choice;
  private final BudgetedRun.Outcome outcome;
  private final double budgetSeconds;
  private final double plannedVideosPerSecond;
  private final double achievedVideosPerSecond;

  PlanReport(BudgetedPrediction.Settings settings, List<EnsembleMember> members,
      MemberRanking ranking, CostModel costs, Planner planner, double calibrationStartSeconds,
      double plannedAtSeconds, Planner.Choice choice, BudgetedRun.Outcome outcome,
      double budgetSeconds) {
    this.planner = planner;
    this.choice = choice;
    this.outcome = outcome;
    this.budgetSeconds = budgetSeconds;
    int videos = outcome.logits().size();
    this.plannedVideosPerSecond = videos / (plannedAtSeconds + choice.estimatedSeconds());
    this.achievedVideosPerSecond = videos / outcome.finishedAtSeconds();
    Map<String, Object> budget = new LinkedHashMap<>();
    budget.put("requested", settings.budget().toString());
    budget.put("seconds", budgetSeconds);
    budget.put("margin", settings.margin());
    content.put("budget", budget);
    content.put("videos", videos);
    content.put("ranking", ranking.byScore() ? "validation scores in the checkpoint names"
        : "the order given (no member carries a validation score)");
    content.put("members_best_first", ranking.bestFirst().stream()
        .map(i -> members.get(i).modelDirectory().toString()).toList());
    List<Map<String, Object>> calibration = new ArrayList<>();
    costs.costs().entrySet().stream()
        .sorted((a, b) -> {
          int c = Integer.compare(a.getKey().member(), b.getKey().member());
          c = c != 0 ? c : a.getKey().precision().compareTo(b.getKey().precision());
          return c != 0 ? c : Integer.compare(b.getKey().frames(), a.getKey().frames());
        })
        .forEach(e -> {
          Map<String, Object> row = new LinkedHashMap<>();
          row.put("member", members.get(e.getKey().member()).modelDirectory().toString());
          row.put("precision", e.getKey().precision().optionName());
          row.put("frames", e.getKey().frames());
          row.put("seconds_per_video", e.getValue());
          calibration.add(row);
        });
    content.put("loading_started_at_seconds", calibrationStartSeconds);
    content.put("calibration", calibration);
    content.put("planned_at_seconds", plannedAtSeconds);
    List<Map<String, Object>> candidates = new ArrayList<>();
    for (Plan p : planner.candidates()) {
      Map<String, Object> row = plan(p);
      row.put("estimated_seconds", planner.estimatedSeconds(p, videos));
      candidates.add(row);
    }
    content.put("candidates", candidates);
    Map<String, Object> chosen = plan(choice.plan());
    chosen.put("estimated_seconds", choice.estimatedSeconds());
    chosen.put("usable_seconds", choice.usableSeconds());
    chosen.put("fits", choice.fits());
    content.put("plan", chosen);
    List<Map<String, Object>> changes = new ArrayList<>();
    for (BudgetedRun.Change c : outcome.changes()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("at_seconds", c.atSeconds());
      row.put("videos_done", c.videosDone());
      row.put("from", plan(c.from()));
      row.put("to", plan(c.to()));
      row.put("reason", c.reason());
      changes.add(row);
    }
    content.put("degradations", changes);
    List<Map<String, Object>> segments = new ArrayList<>();
    for (BudgetedRun.Segment s : outcome.segments()) {
      Map<String, Object> row = plan(s.plan());
      row.put("first_video", s.from());
      row.put("videos", s.videos());
      row.put("seconds", s.seconds());
      segments.add(row);
    }
    content.put("segments", segments);
    List<String> warnings = new ArrayList<>();
    if (!choice.fits()) {
      warnings.add(choice.warning());
    }
    warnings.addAll(outcome.warnings());
    content.put("warnings", warnings);
    content.put("finished_at_seconds", outcome.finishedAtSeconds());
    content.put("within_budget", outcome.finishedAtSeconds() <= budgetSeconds);
    content.put("planned_videos_per_second", plannedVideosPerSecond);
    content.put("achieved_videos_per_second", achievedVideosPerSecond);
  }

  /** {@code <result>.plan.json} beside a result file. */
  public static Path besideResult(Path result) {
    return result.resolveSibling(result.getFileName() + ".plan.json");
  }

  /** The planner, with the calibrated costs. */
  public Planner planner() {
    return planner;
  }

  public Planner.Choice choice() {
    return choice;
  }

  public BudgetedRun.Outcome outcome() {
    return outcome;
  }

  public double budgetSeconds() {
    return budgetSeconds;
  }

  public double plannedVideosPerSecond() {
    return plannedVideosPerSecond;
  }

  public double achievedVideosPerSecond() {
    return achievedVideosPerSecond;
  }

  /** A few lines for a terminal: the plan, the degradations, the rates. */
  public List<String> summary() {
    List<String> lines = new ArrayList<>();
    lines.add(String.format(Locale.ROOT, "budget %.1f s: plan %s, estimated %.1f s of %.1f s "
        + "usable%s", budgetSeconds, choice.plan(), choice.estimatedSeconds(),
        choice.usableSeconds(), choice.fits() ? "" : " (does not fit)"));
    for (BudgetedRun.Change c : outcome.changes()) {
      lines.add(String.format(Locale.ROOT, "degraded at %.1f s after %d videos: %s -> %s",
          c.atSeconds(), c.videosDone(), c.from(), c.to()));
    }
    lines.add(String.format(Locale.ROOT, "finished at %.1f s (%s the budget): planned %.2f "
        + "videos/s, achieved %.2f videos/s", outcome.finishedAtSeconds(),
        outcome.finishedAtSeconds() <= budgetSeconds ? "within" : "over",
        plannedVideosPerSecond, achievedVideosPerSecond));
    return lines;
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(content) + "\n";
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes the JSON atomically (a temporary name, then a rename). */
  public void write(Path file) {
    AtomicFiles.writeString(file, toJson());
  }

  private static Map<String, Object> plan(Plan p) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("members", p.members());
    row.put("precision", p.precision().optionName());
    row.put("frames", p.framesName());
    return row;
  }
}

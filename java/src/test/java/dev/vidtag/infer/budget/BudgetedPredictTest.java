package dev.vidtag.infer.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.cli.CommandLineRunner;
import dev.vidtag.cli.CommandLineRunner.Output;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Precision;
import dev.vidtag.infer.SplitLogits;
import dev.vidtag.infer.TinyModels;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Budgeted prediction end to end on a synthetic split with two members: a tiny cheap one given
 * first (so the best-ranked) and a wider, deeper, longer-text one that costs several times as
 * much. The budgets are derived from this machine's own calibration.
 */
@Timeout(600)
class BudgetedPredictTest {
  static final int VIDEOS = 160;
  static final double MARGIN = 0.1;

  @TempDir static Path dir;
  static Path data;
  static Path cheap;
  static Path costly;
  static List<String> ids;

  @BeforeAll
  static void setUp() {
    TorchRuntime.initialize();
    TorchRuntime.setThreads(2);
    data = TinyModels.synth(dir.resolve("data"), 20, VIDEOS, 5);
    cheap = TinyModels.modelDirectory(dir.resolve("cheap"), data, Architecture.SINGLE,
        Pooling.MEAN_MASKED, 8, 32, 1);
    costly = widerModel(dir.resolve("costly"));
    ids = Dataset.at(data).annotations("test_a", false).stream().map(VideoAnnotation::id).toList();
  }

  /**
   * Hidden 256, 4 layers, 128 tokens: several times the tiny model's cost even where a fast CPU
   * makes both models' arithmetic small against the per-chunk cost of reading and batching
   * (with hidden 128 the two cost nearly the same per video on an AVX-512 Xeon).
   */
  static Path widerModel(Path out) {
    Path textModel = data.resolve("text-model");
    int vocabulary = HuggingFaceBert.config(textModel).vocabSize();
    BertConfig bert = new BertConfig(vocabulary, 256, 4, 4, 1024, 256, 2, 1e-12, 0.1, 0.1, "gelu");
    ModelConfig config = new ModelConfig(Architecture.SINGLE, 200, 16, 8, 128,
        Pooling.MEAN_MASKED, null, bert);
    torch.manual_seed(2);
    VideoClassifierModel model = VideoClassifierModel.create(config);
    ModelDirectory.save(out, model, textModel);
    model.release();
    return out;
  }

  static BudgetedPrediction.Result predict(Budget budget, List<String> allow) {
    List<EnsembleMember> members = List.of(new EnsembleMember(cheap, 0.5),
        new EnsembleMember(costly, 0.5));
    BudgetedPrediction.Settings settings = new BudgetedPrediction.Settings(budget, MARGIN,
        Allowance.parse(allow, 2, Precision.FP32, true), 8, 32, 16);
    List<String> log = new ArrayList<>();
    return BudgetedPrediction.predict(members, VideoClassifier.Options.defaults(),
        Dataset.at(data), "test_a", settings, System::nanoTime, System.nanoTime(), log::add);
  }

  @Test
  void aGenerousBudgetRunsTheFullEnsembleAndMatchesThePlainClassifier() {
    BudgetedPrediction.Result result = predict(Budget.ofSeconds(3600), List.of("precision=fp32"));
    assertEquals(new Plan(2, Precision.FP32, Plan.TRAINED_FRAMES), result.report().choice().plan());
    assertEquals(List.of(), result.report().outcome().changes());
    try (VideoClassifier plain = VideoClassifier.open(List.of(new EnsembleMember(cheap, 0.5),
        new EnsembleMember(costly, 0.5)), VideoClassifier.Options.defaults())) {
      SplitLogits expected = plain.logits(Dataset.at(data), "test_a", 8);
      assertEquals(expected.videoIds(), result.logits().videoIds());
      double error = TinyModels.relativeError(result.logits().values(), expected.values());
      assertTrue(error < 1e-4, "chunked, budgeted logits differ from the plain split's: " + error);
    }
  }

  @Test
  void aTightBudgetFromThisMachinesCalibrationGetsACheaperPlanAndEndsInTime() throws IOException {
    // the same command with a generous budget measures what the tight one will meet: the
    // command's own start-up, loading and calibration, and each plan's estimate
    Output generous = budgetedRun(dir.resolve("generous/result.csv"), 3600);
    assertEquals(0, generous.exitCode(), generous.err());
    JsonNode measured = new ObjectMapper().readTree(PlanReport.besideResult(
        dir.resolve("generous/result.csv")).toFile());
    double full = estimatedSeconds(measured, 2);
    double best = estimatedSeconds(measured, 1);
    assertTrue(full > 2 * best, "the costly member should dominate: " + full + " vs " + best);
    // between the two estimates (geometric mean), after the measured start-up
    double setUp = measured.get("finished_at_seconds").asDouble()
        - measured.get("segments").get(0).get("seconds").asDouble();
    double budget = setUp + Math.sqrt(full * best) / (1 - MARGIN);
    Path result = dir.resolve("tight/result.csv");
    Output out = budgetedRun(result, budget);
    assertEquals(0, out.exitCode(), out.err());
    assertTrue(out.out().contains("plan: 1 member, fp32, frames trained"), out.out());

    List<String> lines = Files.readAllLines(result);
    assertEquals(ids, lines.stream().map(l -> l.split(",")[0]).toList(), "every id, in order");
    JsonNode plan = new ObjectMapper().readTree(PlanReport.besideResult(result).toFile());
    assertEquals(1, plan.get("plan").get("members").asInt());
    assertTrue(plan.get("plan").get("fits").asBoolean(), "budget " + budget + " s (set-up "
        + setUp + " s, full " + full + " s, best member " + best + " s): " + plan);
    assertEquals(VIDEOS, plan.get("videos").asInt());
    assertEquals(2, plan.get("candidates").size());
    double finished = plan.get("finished_at_seconds").asDouble();
    assertTrue(finished <= plan.get("budget").get("seconds").asDouble() * (1 + MARGIN),
        "finished at " + finished + " s of a " + budget + " s budget");
    assertTrue(plan.get("achieved_videos_per_second").asDouble() > 0);
    int segmentVideos = 0;
    for (JsonNode s : plan.get("segments")) {
      segmentVideos += s.get("videos").asInt();
    }
    assertEquals(VIDEOS, segmentVideos);
    assertTrue(Files.list(result.getParent())
        .noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary file left");
  }

  @Test
  void classifiersThatNoRemainingPlanUsesAreClosed() {
    List<EnsembleMember> members = List.of(EnsembleMember.of(cheap), EnsembleMember.of(costly));
    Planner planner = BudgetPlannerTest.planner(); // two members, fp32 and int8, 14 and 8 frames
    try (MemberClassifiers classifiers = new MemberClassifiers(members,
        VideoClassifier.Options.defaults())) {
      classifiers.classifier(0, Precision.FP32);
      classifiers.classifier(1, Precision.FP32);
      classifiers.classifier(1, Precision.INT8);
      Plan bestMemberInt8 = new Plan(1, Precision.INT8, Plan.TRAINED_FRAMES);
      // the hand-made costs rank member 1 first
      assertEquals(java.util.Set.of(new MemberClassifiers.Key(1, Precision.INT8)),
          BudgetedPrediction.reachable(planner, bestMemberInt8));
      classifiers.retainOnly(BudgetedPrediction.reachable(planner, bestMemberInt8));
      assertEquals(java.util.Set.of(new MemberClassifiers.Key(1, Precision.INT8)),
          classifiers.loaded());
    }
  }

  @Test
  void budgetOptionsAreCheckedOnTheCommandLine() {
    String[] base = {"predict", "--data", data.toString(), "--model", cheap.toString(), "--out",
        dir.resolve("bad/result.csv").toString()};
    assertUsageError(base, "--time-budget '5x'", "--time-budget", "5x");
    assertUsageError(base, "exclude each other", "--time-budget", "90s", "--min-qps", "3");
    assertUsageError(base, "--min-qps", "--min-qps", "0");
    assertUsageError(base, "--margin", "--time-budget", "90s", "--margin", "1.5");
    assertUsageError(base, "needs --time-budget", "--margin", "0.2");
    assertUsageError(base, "--allow", "--time-budget", "90s", "--allow", "speed=fast");
    assertUsageError(base, "--allow", "--time-budget", "90s", "--allow", "members=3");
  }

  private static void assertUsageError(String[] base, String expected, String... extra) {
    List<String> args = new ArrayList<>(List.of(base));
    args.addAll(List.of(extra));
    Output out = CommandLineRunner.run(args.toArray(String[]::new));
    assertEquals(2, out.exitCode(), out.out() + out.err());
    assertTrue(out.err().contains(expected), out.err());
    assertNotEquals("", out.err());
  }

  /** {@code vidtag predict} of both members within {@code seconds}, members all or the best. */
  private static Output budgetedRun(Path result, double seconds) {
    return CommandLineRunner.run("predict", "--data", data.toString(), "--model",
        cheap + "=0.5", "--model", costly + "=0.5", "--out", result.toString(), "--batch-size",
        "8", "--threads", "2", "--time-budget", String.format(Locale.ROOT, "%.3fs", seconds),
        "--allow", "precision=fp32", "members=all,best");
  }

  /** The estimate a plan file gives the candidate of {@code members} members. */
  private static double estimatedSeconds(JsonNode plan, int members) {
    for (JsonNode candidate : plan.get("candidates")) {
      if (candidate.get("members").asInt() == members) {
        return candidate.get("estimated_seconds").asDouble();
      }
    }
    throw new AssertionError("no candidate of " + members + " members in " + plan);
  }
}

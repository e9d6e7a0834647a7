package dev.vidtag.cli;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.Shard;
import dev.vidtag.eval.ResultFile;
import dev.vidtag.infer.EnsembleFile;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Precision;
import dev.vidtag.infer.SplitLogits;
import dev.vidtag.infer.TailAdjustment;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.infer.budget.Allowance;
import dev.vidtag.infer.budget.Budget;
import dev.vidtag.infer.budget.BudgetedPrediction;
import dev.vidtag.infer.budget.PlanReport;
import dev.vidtag.io.DataException;
import dev.vidtag.runtime.DeviceSpec;
import dev.vidtag.runtime.TorchRuntime;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vidtag predict}: a result file for a split, from one model or an ensemble. */
@Command(name = "predict", mixinStandardHelpOptions = true,
    description = "Predicts the category of every video of a split and writes the official result file.")
final class PredictCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--data", required = true, paramLabel = "DIR",
      description = "A dataset in the official layout.")
  Path data;

  @Option(names = "--split", defaultValue = "test_a", paramLabel = "NAME",
      description = "The split to predict, by name (default: ${DEFAULT-VALUE}).")
  String split;

  @Option(names = "--out", required = true, paramLabel = "RESULT.csv",
      description = "The result file: one '<id>,<category_id>' line per video, in annotation order.")
  Path out;

  @Mixin EnsembleOptions models;

  @Option(names = "--logits-out", paramLabel = "FILE.npy",
      description = "Also write the fused logits (before any tail adjustment), float32 [videos, 200], annotation order.")
  Path logitsOut;

  @Option(names = "--tail-adjust", defaultValue = "none", paramLabel = "none|FILE",
      description = "A tail adjustment written by 'vidtag tail-fit' (default: ${DEFAULT-VALUE}).")
  String tailAdjust;

  @Option(names = "--batch-size", defaultValue = "32", paramLabel = "N",
      description = "Videos per forward pass (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|bf16|int8",
      description = "Number format of the models; int8: int8 weights, fp32 activations, CPU only (default: ${DEFAULT-VALUE}).")
  String precision;

  @Option(names = "--shard", paramLabel = "I/N",
      description = "Predict only part I (from 0) of N contiguous parts of the split, for "
          + "'vidtag merge-results' to join (default: the whole split).")
  String shard;

  @Option(names = "--time-budget", paramLabel = "DURATION",
      description = "Finish within this time from the command's start, loading included (e.g. 90s, 6m, 1m30s): "
          + "calibrates, plans, degrades when behind; writes RESULT.csv.plan.json.")
  String timeBudget;

  @Option(names = "--min-qps", paramLabel = "Q",
      description = "As --time-budget, with the time that Q videos per second allow for the split.")
  String minQps;

  @Option(names = "--margin", paramLabel = "F",
      description = "With a budget: the fraction of the time left that plans keep free (default: 0.1).")
  Double margin;

  @Option(names = "--allow", arity = "1..*", paramLabel = "KEY=V[,V]",
      description = "With a budget: what may be traded for time, precision=fp32,bf16,int8 frames=trained,14,8 "
          + "members=all,best,N (default: --precision and int8 on the CPU, trained frames, all and best).")
  List<String> allow;

  @Override
  public Integer call() {
    long commandStart = System.nanoTime(); // the budget counts from here, LibTorch start-up included
    if (batchSize < 1) {
      throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
    }
    Shard part = shard == null ? Shard.WHOLE : Shard.parse(shard);
    EnsembleFile chosen = models.resolve();
    List<EnsembleMember> members = chosen.members();
    BudgetedPrediction.Settings budgeted = budgetSettings(members.size());
    if (budgeted != null && shard != null) {
      throw new IllegalArgumentException("--shard and a time budget do not go together yet: "
          + "predict the whole split within the budget, or shards without one");
    }
    TorchRuntime.RuntimeInfo info = runtime.start();
    VideoClassifier.Options options = VideoClassifier.Options.defaults()
        .withDevice(runtime.deviceSpec())
        .withPrecision(Precision.parse(precision))
        .withFuse(chosen.fuse());
    CategoryMap categories = CategoryMap.official();
    try {
      TailAdjustment tail = tailAdjust.equals("none") ? null : TailAdjustment.read(Path.of(tailAdjust));
      if (budgeted != null) {
        return predictWithinBudget(budgeted, members, options, categories, tail, commandStart);
      }
      long start = System.nanoTime();
      try (VideoClassifier classifier = VideoClassifier.open(members, options)) {
        long loaded = System.nanoTime();
        SplitLogits logits = classifier.logits(Dataset.at(data), split, part, batchSize);
        long predicted = System.nanoTime();
        if (logitsOut != null) {
          logits.writeNpy(logitsOut);
        }
        int[] lv2 = tail == null ? logits.argmax() : tail.predict(logits);
        ResultFile.write(out, logits.videoIds(), lv2, categories);
        double seconds = (predicted - loaded) / 1e9;
        PrintWriter printer = spec.commandLine().getOut();
        printer.printf(Locale.ROOT, "%d videos of %s%s -> %s (%d model%s, fuse %s, %s, %s padding%s)%n",
            logits.size(), split, shard == null ? "" : " (shard " + part + ")", out,
            members.size(), members.size() == 1 ? "" : "s",
            options.fuse().optionName(), options.precision().optionName(),
            classifier.dynamicPadding() ? "dynamic" : "fixed",
            tail == null ? "" : ", tail adjustment " + tail);
        printer.printf(Locale.ROOT, "throughput: %.1f videos/s (%.2f s for the split, %.2f s to load; "
            + "batch %d, %d threads, %s)%n", logits.size() / seconds, seconds,
            (loaded - start) / 1e9, batchSize, info.threads(), options.device());
        printer.flush();
      }
      return 0;
    } catch (DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** The budget's settings, or null without --time-budget and --min-qps. */
  private BudgetedPrediction.Settings budgetSettings(int memberCount) {
    if (timeBudget != null && minQps != null) {
      throw new IllegalArgumentException("--time-budget and --min-qps exclude each other: give one");
    }
    if (timeBudget == null && minQps == null) {
      if (margin != null || allow != null) {
        throw new IllegalArgumentException((margin != null ? "--margin" : "--allow")
            + " needs --time-budget or --min-qps");
      }
      return null;
    }
    Budget budget;
    try {
      budget = timeBudget != null ? Budget.parseDuration(timeBudget) : Budget.parseMinimumRate(minQps);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException((timeBudget != null ? "--time-budget " : "--min-qps ")
          + e.getMessage(), e);
    }
    double chosenMargin;
    try {
      chosenMargin = Budget.requireMargin(margin == null ? 0.1 : margin);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--margin " + e.getMessage(), e);
    }
    Precision requested = Precision.parse(precision);
    Allowance allowance;
    try {
      allowance = Allowance.parse(allow == null ? List.of() : allow, memberCount, requested,
          runtime.deviceSpec().kind() == DeviceSpec.Kind.CPU);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--allow " + e.getMessage(), e);
    }
    // chunks of four batches: enough to bucket by length, and the clock is read often enough
    // to react; calibrating on a sample of one chunk measures what a chunk costs (one batch of
    // videos padded to the longest of a random 32 cost 1.7x the real per-video time)
    return new BudgetedPrediction.Settings(budget, chosenMargin, allowance, batchSize,
        4 * batchSize, 4 * batchSize);
  }

  private int predictWithinBudget(BudgetedPrediction.Settings settings,
      List<EnsembleMember> members, VideoClassifier.Options options, CategoryMap categories,
      TailAdjustment tail, long commandStart) {
    PrintWriter printer = spec.commandLine().getOut();
    BudgetedPrediction.Result result = BudgetedPrediction.predict(members, options,
        Dataset.at(data), split, settings, System::nanoTime, commandStart, line -> {
          printer.println(line);
          printer.flush();
        });
    if (logitsOut != null) {
      result.logits().writeNpy(logitsOut);
    }
    int[] lv2 = tail == null ? result.logits().argmax() : tail.predict(result.logits());
    ResultFile.write(out, result.logits().videoIds(), lv2, categories);
    Path planFile = PlanReport.besideResult(out);
    result.report().write(planFile);
    printer.printf(Locale.ROOT, "%d videos of %s -> %s (plan and degradations in %s)%n",
        result.logits().size(), split, out, planFile);
    result.report().summary().forEach(printer::println);
    printer.flush();
    return 0;
  }
}

package dev.vidtag.cli;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.infer.EnsembleFile;
import dev.vidtag.infer.EnsembleFit;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Fuse;
import dev.vidtag.infer.SplitLogits;
import dev.vidtag.io.DataException;
import dev.vidtag.train.KFold;
import dev.vidtag.train.Trainer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vidtag fit-ensemble}: the weights of k-fold runs that score best on their out-of-fold
 * logits, as an ensemble file of every fold model that {@code vidtag predict --ensemble} takes.
 */
@Command(name = "fit-ensemble", mixinStandardHelpOptions = true,
    description = "Weighs finished k-fold runs (each one member: the mean of its fold models) by "
        + "the official score of their fused out-of-fold logits, and writes the ensemble of "
        + "every fold model with those weights for 'vidtag predict --ensemble'.")
final class FitEnsembleCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--kfold", required = true, paramLabel = "DIR",
      description = "A finished vidtag kfold run over the same labeled videos as the others; "
          + "repeat for each member.")
  List<Path> kfolds;

  @Option(names = "--out", required = true, paramLabel = "ENSEMBLE.json",
      description = "The ensemble, for 'vidtag predict --ensemble'.")
  Path out;

  @Option(names = "--fuse", defaultValue = "logits", paramLabel = "logits|probs",
      description = "How the members' scores combine, here and in the prediction "
          + "(default: ${DEFAULT-VALUE}).")
  String fuse;

  @Option(names = "--step", defaultValue = "0.05", paramLabel = "S",
      description = "Spacing of the weights tried, a divisor of 1 (default: ${DEFAULT-VALUE}).")
  double step;

  @Override
  public Integer call() {
    runtime.start();
    Fuse fusion = Fuse.parse(fuse);
    try {
      List<KFold.OutOfFold> runs = new ArrayList<>();
      for (Path kfold : kfolds) {
        KFold.OutOfFold run = KFold.read(kfold);
        if (!runs.isEmpty() && !run.videoIds().equals(runs.get(0).videoIds())) {
          throw new IllegalArgumentException(kfold + " holds the out-of-fold logits of other "
              + "videos than " + kfolds.get(0) + ": the members must come from one dataset");
        }
        runs.add(run);
      }
      CategoryMap categories = CategoryMap.official();
      int[] truth = runs.get(0).videos().stream().mapToInt(categories::lv2Of).toArray();
      List<SplitLogits> logits = runs.stream()
          .map(r -> new SplitLogits(r.videoIds(), r.classes(), r.logits())).toList();
      EnsembleFit.Result fit = EnsembleFit.fit(logits, truth, fusion, step, categories);

      // a member's weight spread over its folds: at prediction the folds' mean stands in for
      // the one fold model each out-of-fold row came from
      List<EnsembleMember> members = new ArrayList<>();
      List<Map<String, Object>> weights = new ArrayList<>();
      for (int m = 0; m < runs.size(); m++) {
        weights.add(Map.of("kfold", kfolds.get(m).toAbsolutePath().normalize().toString(),
            "weight", fit.weights()[m]));
        if (fit.weights()[m] > 0) {
          for (int k = 0; k < runs.get(m).folds(); k++) {
            members.add(new EnsembleMember(Trainer.bestModel(KFold.directory(kfolds.get(m), k)),
                fit.weights()[m] / runs.get(m).folds()));
          }
        }
      }
      Map<String, Object> record = new LinkedHashMap<>();
      record.put("kfold_weights", weights);
      record.put("step", step);
      record.put("candidates", fit.candidates());
      record.put("out_of_fold", fit.score().toMap());
      record.put("out_of_fold_equal_weights", fit.equalWeights().toMap());
      new EnsembleFile(fusion, members).write(out, record);

      PrintWriter printer = spec.commandLine().getOut();
      printer.printf(Locale.ROOT, "%d out-of-fold videos, %d k-fold runs, %d weightings tried "
          + "(step %s, fuse %s)%n", truth.length, runs.size(), fit.candidates(), step,
          fusion.optionName());
      for (int m = 0; m < runs.size(); m++) {
        printer.printf(Locale.ROOT, "  %.3f  %s%n", fit.weights()[m], kfolds.get(m));
      }
      print(printer, "equal weights", fit.equalWeights());
      print(printer, "fitted weights", fit.score());
      printer.printf(Locale.ROOT, "wrote %s (%d fold models)%n", out, members.size());
      printer.flush();
      return 0;
    } catch (DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static void print(PrintWriter printer, String label, OfficialScore s) {
    printer.printf(Locale.ROOT, "%-16s mean F1 %.4f (lv1 %.4f / %.4f, lv2 %.4f / %.4f)%n", label,
        s.mean(), s.lv1MicroF1(), s.lv1MacroF1(), s.lv2MicroF1(), s.lv2MacroF1());
  }
}

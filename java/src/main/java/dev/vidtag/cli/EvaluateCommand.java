package dev.vidtag.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.eval.Evaluation;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The official score of a result file, as JSON on stdout. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
    description = "Scores a result file against the truth (lv1/lv2 micro and macro F1 and their mean).")
final class EvaluateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--pred", required = true, paramLabel = "RESULT.csv",
      description = "Predictions: one '<id>,<category_id>' line per video, no header.")
  Path predictions;

  @Option(names = "--truth", required = true, paramLabel = "TRUTH.csv",
      description = "The true categories, in the same format.")
  Path truth;

  @Option(names = "--report", paramLabel = "FILE.json",
      description = "Also write per-class precision, recall, F1 and support and the most frequent confusions.")
  Path report;

  @Option(names = "--confusions", defaultValue = "20", paramLabel = "N",
      description = "Confusions listed in the report (default: ${DEFAULT-VALUE}).")
  int confusions;

  @Override
  public Integer call() throws Exception {
    try {
      Evaluation evaluation = Evaluation.of(predictions, truth, CategoryMap.official());
      ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
      if (report != null) {
        AtomicFiles.write(report, out -> json.writeValue(out, evaluation.report(confusions)));
      }
      spec.commandLine().getOut().println(json.writeValueAsString(evaluation.scoreJson()));
      spec.commandLine().getOut().flush();
      return 0;
    } catch (dev.vidtag.io.DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }
}

package dev.vidtag.cli;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.eval.ResultFile;
import dev.vidtag.eval.ResultMerge;
import dev.vidtag.io.DataException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vidtag merge-results}: the result files of a split's shards as one submission. */
@Command(name = "merge-results", mixinStandardHelpOptions = true,
    description = "Merges the result files of 'vidtag predict --shard I/N' into one, in the "
        + "split's order, checking that every video of the split is in exactly one part.")
final class MergeResultsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "DIR",
      description = "The dataset the parts were predicted from.")
  Path data;

  @Option(names = "--split", defaultValue = "test_a", paramLabel = "NAME",
      description = "The split (default: ${DEFAULT-VALUE}).")
  String split;

  @Option(names = "--out", required = true, paramLabel = "RESULT.csv",
      description = "The merged result file (written under a temporary name, then renamed).")
  Path out;

  @Parameters(arity = "1..*", paramLabel = "PART.csv", description = "The shards' result files.")
  List<Path> parts;

  @Override
  public Integer call() {
    CategoryMap categories = CategoryMap.official();
    List<String> ids;
    try {
      ids = Dataset.at(data).annotations(split, false).stream().map(VideoAnnotation::id).toList();
      List<ResultFile.Entry> merged = ResultMerge.merge(parts, ids, split, categories);
      int[] lv2 = merged.stream()
          .mapToInt(e -> categories.lv2Index(e.categoryId()).getAsInt()).toArray();
      ResultFile.write(out, ids, lv2, categories);
    } catch (DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    spec.commandLine().getOut().printf("%d videos of %s from %d parts -> %s%n", ids.size(), split,
        parts.size(), out);
    spec.commandLine().getOut().flush();
    return 0;
  }
}

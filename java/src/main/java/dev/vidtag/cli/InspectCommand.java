package dev.vidtag.cli;

import dev.vidtag.data.DatasetInspector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vidtag inspect}: validates a dataset and prints its statistics. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = "Validates every file of a dataset in the official layout and prints counts, "
        + "the class histogram, text lengths, frames per video and missing modalities.")
final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "DIR",
      description = "Dataset folder (annotations/, zip_feats/, zip_frames/).")
  Path data;

  @Option(names = "--classes", defaultValue = "10", paramLabel = "N",
      description = "Head and tail classes shown (default: ${DEFAULT-VALUE}).")
  int classes;

  @Option(names = "--decode-frames",
      description = "Also decode every JPG frame through the pixel pipeline (slow on real data).")
  boolean decodeFrames;

  @Override
  public Integer call() {
    if (!Files.isDirectory(data)) {
      throw new IllegalArgumentException("--data " + data + " is not a folder");
    }
    DatasetInspector.print(DatasetInspector.inspect(data, decodeFrames), spec.commandLine().getOut(), classes);
    return 0;
  }
}

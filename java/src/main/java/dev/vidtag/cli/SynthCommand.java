package dev.vidtag.cli;

import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.data.SyntheticDataset.FrameKind;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.runtime.TorchRuntime;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vidtag synth}: a synthetic dataset in the official layout. */
@Command(name = "synth", mixinStandardHelpOptions = true,
    description = "Writes a synthetic dataset in the official layout (annotations, zip_feats, "
        + "optionally zip_frames), truth_test_a.csv and truth_unlabeled.csv (never read by training) and a tiny BERT text-model/.")
final class SynthCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--out", required = true, paramLabel = "DIR",
      description = "Output folder; must not exist or be empty.")
  Path out;

  @Option(names = "--labeled", defaultValue = "1000", paramLabel = "N",
      description = "Labeled videos (default: ${DEFAULT-VALUE}).")
  int labeled;

  @Option(names = "--unlabeled", defaultValue = "0", paramLabel = "N",
      description = "Unlabeled videos (default: ${DEFAULT-VALUE}).")
  int unlabeled;

  @Option(names = "--test", defaultValue = "200", paramLabel = "N",
      description = "test_a videos (default: ${DEFAULT-VALUE}).")
  int test;

  @Option(names = "--feature-dim", defaultValue = "768", paramLabel = "D",
      description = "Frame feature width (default: ${DEFAULT-VALUE}).")
  int featureDim;

  @Option(names = "--frames", defaultValue = "npy", paramLabel = "npy|jpg",
      description = "npy: zip_feats only; jpg: zip_feats and zip_frames with JPG images "
          + "(default: ${DEFAULT-VALUE}).")
  String frames;

  @Option(names = "--seed", defaultValue = "2022", paramLabel = "S",
      description = "Random seed; equal seeds give equal bytes (default: ${DEFAULT-VALUE}).")
  long seed;

  @Override
  public Integer call() {
    FrameKind kind = switch (frames.toLowerCase(Locale.ROOT)) {
      case "npy" -> FrameKind.NPY;
      case "jpg" -> FrameKind.JPG;
      default -> throw new IllegalArgumentException("--frames must be npy or jpg, not '" + frames + "'");
    };
    SyntheticDataset.Options options =
        new SyntheticDataset.Options(labeled, unlabeled, test, featureDim, kind, seed);
    TorchRuntime.initialize();
    SyntheticDataset.Summary summary = new SyntheticDataset(options).write(out,
        (directory, config, seed) -> HuggingFaceBert.writeRandomWeights(directory, seed));
    PrintWriter writer = spec.commandLine().getOut();
    writer.printf("wrote %s: %d labeled, %d unlabeled, %d test_a videos (%d without frames) in %.1f s%n",
        summary.directory(), summary.itemsPerSplit()[0], summary.itemsPerSplit()[1],
        summary.itemsPerSplit()[2], summary.videosWithoutFrames(), summary.seconds());
    writer.flush();
    return 0;
  }
}

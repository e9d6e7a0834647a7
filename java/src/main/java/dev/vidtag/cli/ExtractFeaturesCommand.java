package dev.vidtag.cli;

import dev.vidtag.data.Dataset;
import dev.vidtag.infer.FrameFeatureExtractor;
import dev.vidtag.model.ClipVisionTransformer;
import dev.vidtag.model.FrameEncoderDirectory;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Encodes a split's JPG frames into a feature zip with a frame encoder. */
@Command(name = "extract-features", mixinStandardHelpOptions = true,
    description = "Encodes every video's JPG frames (zip_frames) of a split with a frame encoder "
        + "(vidtag import-clip) into a feature zip in the official layout: one float16 <id>.npy "
        + "[frames, dim] per video, uncompressed.")
final class ExtractFeaturesCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--data", required = true, paramLabel = "DIR", description = "The dataset.")
  Path data;

  @Option(names = "--split", required = true, paramLabel = "S",
      description = "The split (an annotation file's name without .json).")
  String split;

  @Option(names = "--frame-encoder", required = true, paramLabel = "ENCODER_DIR",
      description = "A frame-encoder directory written by import-clip.")
  Path frameEncoder;

  @Option(names = "--out", paramLabel = "FILE.zip",
      description = "The feature zip (default: the split's feature file in the dataset).")
  Path out;

  @Option(names = "--max-frames", paramLabel = "N", defaultValue = "32",
      description = "The first N frames of each video in time order (default: ${DEFAULT-VALUE}).")
  int maxFrames;

  @Option(names = "--batch-size", paramLabel = "N", defaultValue = "32",
      description = "Frames per encoder call (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--skip-bad-frames",
      description = "Skip (and count) frames that do not decode instead of stopping.")
  boolean skipBadFrames;

  @Override
  public Integer call() {
    Dataset dataset = Dataset.at(data);
    if (!dataset.hasSplit(split)) {
      throw new IllegalArgumentException("no split '" + split + "' in " + data + ": expected "
          + dataset.annotationFile(split));
    }
    runtime.start();
    FrameEncoderDirectory.Config config = FrameEncoderDirectory.config(frameEncoder);
    ClipVisionTransformer encoder = FrameEncoderDirectory.load(frameEncoder);
    FrameFeatureExtractor extractor = new FrameFeatureExtractor(encoder, config.preprocessing(),
        maxFrames, batchSize, skipBadFrames);
    Path target = out != null ? out : dataset.featureFile(split);
    PrintWriter progress = spec.commandLine().getErr();
    FrameFeatureExtractor.Summary s = extractor.extract(dataset, split, target, progress);
    spec.commandLine().getOut().printf("extracted %d videos (%d frames, %d videos without "
        + "frames, %d bad frames skipped), dim %d, in %.1f s -> %s%n", s.videos(),
        s.framesEncoded(), s.videosWithoutFrames(), s.badFrames(), encoder.config().outputDim(),
        s.seconds(), target);
    return 0;
  }
}

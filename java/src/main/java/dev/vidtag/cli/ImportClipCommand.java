package dev.vidtag.cli;

import dev.vidtag.model.ClipCheckpoint;
import dev.vidtag.model.ClipConfig;
import dev.vidtag.model.ClipVisionTransformer;
import dev.vidtag.model.FrameEncoderDirectory;
import dev.vidtag.model.FramePreprocessing;
import dev.vidtag.model.FramePreprocessing.Normalization;
import dev.vidtag.model.FramePreprocessing.Resize;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Converts the vision tower of a CLIP checkpoint into a frame-encoder directory. */
@Command(name = "import-clip", mixinStandardHelpOptions = true,
    description = "Converts the vision tower of a CLIP checkpoint (OpenAI's TorchScript .pt, "
        + "Hugging Face CLIPVisionModel(WithProjection) or CLIPModel safetensors, or a "
        + "Chinese-CLIP torch.save checkpoint) into a frame-encoder directory. Nothing in the "
        + "file is executed.")
final class ImportClipCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--weights", required = true, paramLabel = "FILE",
      description = "The CLIP checkpoint; its format is told from its content.")
  Path weights;

  @Option(names = "--out", required = true, paramLabel = "ENCODER_DIR",
      description = "The frame-encoder directory to write (config.json, model.safetensors).")
  Path out;

  @Option(names = "--normalize", paramLabel = "imagenet|clip", defaultValue = "imagenet",
      description = "Pixel mean and std: ImageNet's, as the reference solution used "
          + "(default), or CLIP's own.")
  String normalize;

  @Option(names = "--resize", paramLabel = "shorter-256-crop-224|square-224",
      defaultValue = "shorter-256-crop-224",
      description = "Shorter side to 256 then centre crop 224, as the reference (default), or "
          + "both sides to 224, as Chinese-CLIP.")
  String resize;

  @Option(names = "--heads", paramLabel = "N",
      description = "Attention heads (the weights cannot tell them; default: num_attention_heads"
          + " of a Hugging Face config.json beside the weights, else width / 64 as OpenAI's).")
  Integer heads;

  @Override
  public Integer call() {
    Normalization normalization = Normalization.fromConfigName(normalize);
    if (normalization == null) {
      throw new IllegalArgumentException("--normalize must be one of "
          + Normalization.choices() + ", got " + normalize);
    }
    Resize resizeRule = Resize.fromConfigName(resize);
    if (resizeRule == null) {
      throw new IllegalArgumentException("--resize must be one of " + Resize.choices()
          + ", got " + resize);
    }
    if (heads != null && heads <= 0) {
      throw new IllegalArgumentException("--heads must be positive, got " + heads);
    }
    if (!Files.isRegularFile(weights)) {
      throw new IllegalArgumentException("--weights " + weights + " is not a file");
    }
    runtime.start();
    ClipCheckpoint checkpoint = ClipCheckpoint.read(weights);
    ClipVisionTransformer tower = checkpoint.load(heads);
    FrameEncoderDirectory.save(out, tower, new FramePreprocessing(resizeRule, normalization),
        checkpoint.format().configName());
    ClipConfig c = tower.config();
    spec.commandLine().getOut().printf("imported CLIP vision tower (%s): width %d, %d layers, "
        + "%d heads, patch %d, %dx%d input, %d outputs; %d tensors outside the tower ignored;"
        + " preprocessing %s, %s -> %s%n", checkpoint.format().configName(), c.width(),
        c.layers(), c.heads(), c.patchSize(), c.imageSize(), c.imageSize(), c.outputDim(),
        checkpoint.ignoredTensors(), resizeRule.configName(), normalization.configName(), out);
    return 0;
  }
}

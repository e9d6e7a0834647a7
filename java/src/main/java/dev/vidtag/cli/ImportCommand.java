package dev.vidtag.cli;

import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.ReferenceCheckpoint;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.WeightFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Converts a state dict saved by the reference solution's PyTorch code into a model directory. */
@Command(name = "import", mixinStandardHelpOptions = true,
    description = "Converts a PyTorch state dict with the reference solution's parameter names "
        + "(pytorch_model.bin zip format or safetensors) into a model directory.")
final class ImportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--state-dict", required = true, paramLabel = "FILE",
      description = "The state dict (torch.save zip format, or safetensors).")
  Path stateDict;

  @Option(names = "--arch", required = true, paramLabel = "single|double",
      description = "The architecture the state dict belongs to.")
  String arch;

  @Option(names = "--text-model", required = true, paramLabel = "HF_DIR",
      description = "The Hugging Face BERT directory the model was trained from (its config.json "
          + "sizes the text encoder; its tokenizer files are copied).")
  Path textModel;

  @Option(names = "--out", required = true, paramLabel = "MODEL_DIR",
      description = "The model directory to write.")
  Path out;

  @Option(names = "--frame-dim", paramLabel = "D",
      description = "Frame feature width (default: read from the state dict).")
  Integer frameDim;

  @Option(names = "--max-frames", paramLabel = "F", defaultValue = "14",
      description = "Frames per video (default: ${DEFAULT-VALUE}).")
  int maxFrames;

  @Option(names = "--max-text", paramLabel = "T", defaultValue = "258",
      description = "Text tokens with [CLS] and [SEP] (default: ${DEFAULT-VALUE}).")
  int maxText;

  @Option(names = "--pooling", paramLabel = "mean_all|mean_masked", defaultValue = "mean_all",
      description = "mean_all reproduces the reference's outputs with inputs padded to the fixed "
          + "lengths (default: ${DEFAULT-VALUE}); mean_masked averages real positions only.")
  String pooling;

  @Option(names = "--decoder-heads", paramLabel = "N", defaultValue = "12",
      description = "Attention heads of the double stream's decoder (default: ${DEFAULT-VALUE}). "
          + "The weights cannot tell it (the heads share one projection matrix), so give the "
          + "count the model was trained with; it must divide the text encoder's hidden size.")
  int decoderHeads;

  @Override
  public Integer call() {
    Architecture architecture = Architecture.fromConfigName(arch);
    if (architecture == null) {
      throw new IllegalArgumentException("--arch must be single or double, got " + arch);
    }
    Pooling poolingMode = Pooling.fromConfigName(pooling);
    if (poolingMode == null) {
      throw new IllegalArgumentException("--pooling must be one of " + Pooling.choices()
          + ", got " + pooling);
    }
    if (!Files.isRegularFile(stateDict)) {
      throw new IllegalArgumentException("--state-dict " + stateDict + " is not a file");
    }
    if (maxFrames <= 0 || maxText <= 0 || decoderHeads <= 0
        || (frameDim != null && frameDim <= 0)) {
      throw new IllegalArgumentException("sizes must be positive");
    }
    runtime.start();
    BertConfig text = HuggingFaceBert.config(textModel);
    ModelConfig config = ReferenceCheckpoint.inferConfig(stateDict, architecture, text, frameDim,
        maxFrames, maxText, poolingMode, decoderHeads);
    VideoClassifierModel model = VideoClassifierModel.create(config);
    WeightFiles.loadInto(model, stateDict, ReferenceCheckpoint.renaming(architecture))
        .requireComplete(stateDict);
    ModelDirectory.save(out, model, textModel);
    spec.commandLine().getOut().printf("imported %s stream model: %d classes, frame_dim %d, "
        + "pooling %s -> %s%n", architecture.configName(), config.numClasses(), config.frameDim(),
        config.pooling().configName(), out);
    return 0;
  }
}

package dev.vidtag.model;

import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import dev.vidtag.model.weights.SafetensorsWriter;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.model.weights.WeightFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A model directory: {@code config.json} ({@link ModelConfig}), {@code model.safetensors}
 * (weights under the reference's names) and the tokenizer files ({@code tokenizer.json} and/or
 * {@code vocab.txt}). Every file is written under a temporary name and renamed when complete.
 */
public final class ModelDirectory {
  public static final String WEIGHTS = "model.safetensors";

  private ModelDirectory() {}

  /**
   * Saves config, weights and the tokenizer files found in {@code tokenizerSource} (if any) as
   * the directory {@code dir}, which appears whole or not at all (an existing one is replaced).
   */
  public static void save(Path dir, VideoClassifierModel model, Path tokenizerSource) {
    AtomicFiles.writeDirectory(dir, partial -> writeInto(partial, model, tokenizerSource));
  }

  /**
   * Writes the model directory's files into {@code dir}, an empty directory that the caller
   * puts in place whole (with files of its own, as a pretraining checkpoint adds its heads).
   */
  public static void writeInto(Path dir, VideoClassifierModel model, Path tokenizerSource)
      throws IOException {
    Files.writeString(dir.resolve(ModelConfig.FILE_NAME), model.config().toJsonString(),
        StandardCharsets.UTF_8);
    SafetensorsWriter.write(dir.resolve(WEIGHTS), StateDicts.of(model),
        Map.of("format", "pt", "writer", "vidtag"));
    if (tokenizerSource != null) {
      for (Path source : HuggingFaceBert.tokenizerFiles(tokenizerSource)) {
        Files.copy(source, dir.resolve(source.getFileName()));
      }
    }
  }

  public static ModelConfig config(Path dir) {
    Path config = dir.resolve(ModelConfig.FILE_NAME);
    if (!Files.isRegularFile(config)) {
      throw DataException.at(dir, null, null, "not a model directory: no config.json");
    }
    return ModelConfig.read(config);
  }

  /**
   * Builds the model its config describes and loads its weights; any missing or unexpected
   * tensor, or any shape mismatch, is an error naming them. The model is in eval mode.
   */
  public static VideoClassifierModel load(Path dir) {
    VideoClassifierModel model = VideoClassifierModel.create(config(dir));
    Path weights = dir.resolve(WEIGHTS);
    if (!Files.isRegularFile(weights)) {
      throw DataException.at(dir, null, null, "not a model directory: no " + WEIGHTS);
    }
    WeightFiles.loadInto(model, weights, Function.identity()).requireComplete(weights);
    model.eval();
    return model;
  }

  /** The tokenizer files the directory holds. */
  public static List<Path> tokenizerFiles(Path dir) {
    return HuggingFaceBert.tokenizerFiles(dir);
  }

}

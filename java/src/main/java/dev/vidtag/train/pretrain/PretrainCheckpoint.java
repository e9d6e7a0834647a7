package dev.vidtag.train.pretrain;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.weights.SafetensorsWriter;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.model.weights.WeightFiles;
import dev.vidtag.train.OptimizerArchive;
import dev.vidtag.train.RunDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Optimizer;

/**
 * A pretraining checkpoint: a model directory ({@code config.json}, {@code model.safetensors},
 * tokenizer files; its classifier untrained) plus {@code pretraining_heads.safetensors} (the
 * heads, and for the double stream the momentum encoders, queues and temperature),
 * {@code pretraining.json} ({@link Info}) and {@code optimizer.pt} (AdamW's state). A run keeps
 * them as {@code RUN/checkpoints/step-NNNNNN/}; each appears whole under its name or not at all.
 */
public final class PretrainCheckpoint {
  public static final String HEADS = "pretraining_heads.safetensors";
  public static final String INFO = "pretraining.json";
  /** The optimizer's state in LibTorch's archive format (AdamW moments and step counts). */
  public static final String OPTIMIZER = "optimizer.pt";
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * Where the run was when it saved the checkpoint.
   *
   * @param arch the architecture's config name
   * @param step the steps trained
   * @param epoch the epoch of the last step
   * @param splits the splits pretrained on
   * @param loss the last step's loss terms
   * @param skippedSteps steps skipped so far for a non-finite loss or gradient
   * @param consecutiveSkips of those, how many in a row up to the last step
   */
  public record Info(String arch, long step, int epoch, List<String> splits,
      Map<String, Double> loss, @JsonProperty("skipped_steps") long skippedSteps,
      @JsonProperty("consecutive_skips") int consecutiveSkips) {}

  private PretrainCheckpoint() {}

  /**
   * Writes the checkpoint of {@code task} into {@code dir}, replacing one already there, with
   * the optimizer's state when {@code optimizer} is not null.
   */
  public static void save(Path dir, PretrainingTask task, Path tokenizerSource, Info info,
      Optimizer optimizer) {
    AtomicFiles.writeDirectory(dir, partial -> {
      ModelDirectory.writeInto(partial, task.model(), tokenizerSource);
      SafetensorsWriter.write(partial.resolve(HEADS), StateDicts.of(task.heads()),
          Map.of("format", "pt", "writer", "vidtag"));
      JSON.writeValue(partial.resolve(INFO).toFile(), info);
      if (optimizer != null) {
        OptimizerArchive.save(optimizer, partial.resolve(OPTIMIZER));
      }
    });
  }

  /**
   * Loads a checkpoint's weights and heads (momentum encoders and queues included, so they are
   * not reset from the live weights) into a freshly built task; returns its info.
   */
  public static Info loadInto(Path dir, PretrainingTask task) {
    Path weights = dir.resolve(ModelDirectory.WEIGHTS);
    WeightFiles.loadInto(task.model(), weights, name -> name).requireComplete(weights);
    Path heads = dir.resolve(HEADS);
    WeightFiles.loadInto(task.heads(), heads, name -> name).requireComplete(heads);
    return info(dir);
  }

  /** Where the run was when it saved the checkpoint in {@code dir}. */
  public static Info info(Path dir) {
    Path file = dir.resolve(INFO);
    try {
      Info info = JSON.readValue(file.toFile(), Info.class);
      if (info == null || info.step() < 0) {
        throw DataException.at(file, null, "step", "missing");
      }
      return info;
    } catch (IOException e) {
      throw DataException.at(file, null, null, "unreadable: " + e.getMessage());
    }
  }

  /** Loads a checkpoint's optimizer state into an optimizer over the same parameter groups. */
  public static void loadOptimizer(Path dir, Optimizer optimizer) {
    if (!Files.isRegularFile(dir.resolve(OPTIMIZER))) {
      throw DataException.at(dir, null, null, "no " + OPTIMIZER + " in this checkpoint");
    }
    OptimizerArchive.load(optimizer, dir.resolve(OPTIMIZER));
  }

  /** Whether a directory holds a pretraining checkpoint. */
  public static boolean isCheckpoint(Path dir) {
    return Files.isRegularFile(dir.resolve(HEADS)) && Files.isRegularFile(dir.resolve(
        ModelConfig.FILE_NAME)) && Files.isRegularFile(dir.resolve(ModelDirectory.WEIGHTS));
  }

  /**
   * The checkpoint a path names: the path itself when it is one, else the newest
   * {@code checkpoints/step-N} of the run it names.
   */
  public static Path resolve(Path path) {
    if (isCheckpoint(path)) {
      return path;
    }
    return RunDirectory.newestCheckpoint(path, PretrainCheckpoint::isCheckpoint)
        .orElseThrow(() -> DataException.at(path, null, null, "neither a pretraining checkpoint ("
            + HEADS + " beside a model directory) nor a pretraining run with checkpoints"));
  }
}

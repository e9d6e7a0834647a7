package dev.vidtag.train.pretrain;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.vidtag.io.DataException;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.weights.SafetensorsWriter;
import dev.vidtag.model.weights.StateDicts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;

/**
 * A pretraining checkpoint: a model directory ({@code config.json}, {@code model.safetensors},
 * tokenizer files; its classifier untrained) plus {@code pretraining_heads.safetensors} (the
 * heads, and for the double stream the momentum encoders, queues and temperature) and
 * {@code pretraining.json} (step, epoch, architecture, options). A run keeps them as
 * {@code RUN/checkpoints/step-NNNNNN/}; each appears whole under its name or not at all.
 */
public final class PretrainCheckpoint {
  public static final String HEADS = "pretraining_heads.safetensors";
  public static final String INFO = "pretraining.json";
  /** The optimizer's state in LibTorch's archive format (AdamW moments and step counts). */
  public static final String OPTIMIZER = "optimizer.pt";
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

  private PretrainCheckpoint() {}

  /**
   * Writes the checkpoint of {@code task} into {@code dir}, replacing one already there, with
   * the optimizer's state when {@code optimizer} is not null.
   */
  public static void save(Path dir, PretrainingTask task, Path tokenizerSource,
      Map<String, Object> info, Optimizer optimizer) {
    Path temporary = dir.resolveSibling("." + dir.getFileName() + ".partial");
    try {
      AtomicFiles.deleteRecursively(temporary);
      ModelDirectory.save(temporary, task.model(), tokenizerSource);
      SafetensorsWriter.write(temporary.resolve(HEADS), StateDicts.of(task.heads()),
          Map.of("format", "pt", "writer", "vidtag"));
      JSON.writeValue(temporary.resolve(INFO).toFile(), info);
      if (optimizer != null) {
        OutputArchive archive = new OutputArchive();
        optimizer.save(archive);
        archive.save_to(temporary.resolve(OPTIMIZER).toString());
      }
      AtomicFiles.replaceDirectory(temporary, dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot save pretraining checkpoint " + dir, e);
    }
  }

  /** Loads a checkpoint's optimizer state into an optimizer over the same parameter groups. */
  public static void loadOptimizer(Path dir, Optimizer optimizer) {
    Path file = dir.resolve(OPTIMIZER);
    if (!Files.isRegularFile(file)) {
      throw DataException.at(dir, null, null, "no " + OPTIMIZER + " in this checkpoint");
    }
    InputArchive archive = new InputArchive();
    archive.load_from(file.toString());
    optimizer.load(archive);
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
    Path checkpoints = path.resolve("checkpoints");
    if (Files.isDirectory(checkpoints)) {
      try (Stream<Path> listing = Files.list(checkpoints)) {
        Optional<Path> newest = listing
            .filter(p -> p.getFileName().toString().startsWith("step-") && isCheckpoint(p))
            .max(Comparator.comparing(p -> p.getFileName().toString()));
        if (newest.isPresent()) {
          return newest.get();
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list " + checkpoints, e);
      }
    }
    throw DataException.at(path, null, null, "neither a pretraining checkpoint (" + HEADS
        + " beside a model directory) nor a pretraining run with checkpoints");
  }
}

package dev.vidtag.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import dev.vidtag.model.weights.SafetensorsFile;
import dev.vidtag.model.weights.SafetensorsWriter;
import dev.vidtag.model.weights.StateDicts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;

/**
 * What a killed run needs to continue exactly where it stopped, in {@code RUN/state/}: the live
 * weights, the EMA shadow, the optimizer's moments, and the counters in {@code state.json} (step,
 * position in the epoch's batch order, best score, skipped steps). The schedule is a function of
 * the step, the data order of (seed, epoch), and dropout is reseeded from (seed, step) before
 * every step, so these files are the whole state: a resumed run computes what the uninterrupted
 * one would have.
 *
 * <p>The directory is replaced atomically: a crash while saving leaves the previous state.
 */
final class TrainingState {
  static final String DIRECTORY = "state";
  private static final String COUNTERS = "state.json";
  private static final String WEIGHTS = "weights.safetensors";
  private static final String EMA = "ema.safetensors";
  private static final String OPTIMIZER = "optimizer.pt";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The counters; {@code batchesDone} counts the batches of {@code epoch} already trained on. */
  record Counters(long step, int epoch, int batchesDone, long bestStep, OfficialScore bestScore,
      long skippedSteps, int consecutiveSkips) {
    /** Where a new run starts. */
    static final Counters START = new Counters(0, 0, 0, -1, null, 0, 0);
  }

  private TrainingState() {}

  static boolean exists(Path run) {
    return Files.isRegularFile(run.resolve(DIRECTORY).resolve(COUNTERS))
        || Files.isRegularFile(previous(run).resolve(COUNTERS));
  }

  private static Path previous(Path run) {
    return AtomicFiles.previousOf(run.resolve(DIRECTORY));
  }

  static void save(Path run, Counters counters, List<String> names, List<Tensor> weights,
      List<Tensor> ema, Optimizer optimizer) {
    AtomicFiles.writeDirectory(run.resolve(DIRECTORY), directory -> {
      SafetensorsWriter.write(directory.resolve(WEIGHTS), byName(names, weights), Map.of());
      SafetensorsWriter.write(directory.resolve(EMA), byName(names, ema), Map.of());
      OptimizerArchive.save(optimizer, directory.resolve(OPTIMIZER));
      Files.writeString(directory.resolve(COUNTERS), JSON.writeValueAsString(counters));
    });
  }

  /** Loads the saved tensors into {@code weights}, {@code ema} and the optimizer. */
  static Counters load(Path run, List<String> names, List<Tensor> weights, List<Tensor> ema,
      Optimizer optimizer) {
    Path directory = stateDirectory(run);
    copyInto(directory.resolve(WEIGHTS), names, weights);
    copyInto(directory.resolve(EMA), names, ema);
    OptimizerArchive.load(optimizer, directory.resolve(OPTIMIZER));
    return counters(run);
  }

  /** The saved counters (of a run that is not writing its state at the same time). */
  static Counters counters(Path run) {
    Path counters = stateDirectory(run).resolve(COUNTERS);
    try {
      return JSON.readValue(counters.toFile(), Counters.class);
    } catch (IOException e) {
      throw DataException.at(counters, null, null, "unreadable training state: " + e.getMessage());
    }
  }

  /**
   * The state directory; a run killed between moving the old state aside and the new one into
   * place gets the old one back, which is complete.
   */
  private static Path stateDirectory(Path run) {
    Path directory = run.resolve(DIRECTORY);
    if (!Files.isRegularFile(directory.resolve(COUNTERS))
        && Files.isRegularFile(previous(run).resolve(COUNTERS))) {
      try {
        AtomicFiles.deleteRecursively(directory);
        AtomicFiles.moveIntoPlace(previous(run), directory);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot restore the previous training state of " + run, e);
      }
    }
    if (!Files.isRegularFile(directory.resolve(COUNTERS))) {
      throw new IllegalArgumentException(run + " has no training state to resume ("
          + DIRECTORY + "/" + COUNTERS + " is missing); was it made by vidtag train?");
    }
    return directory;
  }

  private static Map<String, Tensor> byName(List<String> names, List<Tensor> tensors) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (int i = 0; i < names.size(); i++) {
      out.put(names.get(i), tensors.get(i));
    }
    return out;
  }

  private static void copyInto(Path file, List<String> names, List<Tensor> targets) {
    try (SafetensorsFile saved = SafetensorsFile.open(file);
         NoGradGuard noGrad = new NoGradGuard()) {
      if (!saved.names().containsAll(names) || saved.names().size() != names.size()) {
        throw DataException.at(file, null, null, "holds other tensors than this run's model: "
            + "was the run directory changed?");
      }
      for (int i = 0; i < names.size(); i++) {
        Tensor source = saved.view(names.get(i));
        if (!Arrays.equals(StateDicts.shape(source), StateDicts.shape(targets.get(i)))) {
          throw DataException.at(file, names.get(i), null, "shape "
              + Arrays.toString(StateDicts.shape(source)) + " does not match the model's "
              + Arrays.toString(StateDicts.shape(targets.get(i))));
        }
        targets.get(i).copy_(source);
      }
    }
  }
}

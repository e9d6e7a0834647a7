package dev.vidtag.train;

import dev.vidtag.kernels.FusedKernels;
import dev.vidtag.kernels.TensorList;
import dev.vidtag.model.CheckpointName;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.StateDicts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * SWA as the reference used it: the equal-weight average of a run's K best checkpoints by
 * validation score, folded in one model at a time with the fused kernel (one model in memory
 * besides the average).
 */
public final class CheckpointAverage {
  private CheckpointAverage() {}

  /** A checkpoint of a run, with the step and score its name records. */
  public record Checkpoint(Path directory, long step, double score) {}

  /** The run's checkpoints, best score first (ties: the later step first). */
  public static List<Checkpoint> ranked(Path run) {
    if (!Files.isDirectory(run.resolve(RunDirectory.CHECKPOINTS))) {
      throw new IllegalArgumentException(run + " has no " + RunDirectory.CHECKPOINTS
          + "/ folder: not a training run");
    }
    List<Checkpoint> checkpoints = new ArrayList<>();
    for (Path p : RunDirectory.checkpoints(run, p -> CheckpointName.of(p).isPresent())) {
      CheckpointName name = CheckpointName.of(p).orElseThrow();
      checkpoints.add(new Checkpoint(p, name.step(), name.score()));
    }
    checkpoints.sort(Comparator.comparingDouble(Checkpoint::score).reversed()
        .thenComparing(Comparator.comparingLong(Checkpoint::step).reversed()));
    return checkpoints;
  }

  /**
   * Saves the average of the checkpoints as the model directory {@code out} (with the first
   * checkpoint's tokenizer files), whole or not at all; returns the averaged model.
   */
  public static VideoClassifierModel saveAverage(List<Checkpoint> checkpoints, Path out) {
    VideoClassifierModel average = average(checkpoints);
    ModelDirectory.save(out, average, checkpoints.get(0).directory());
    return average;
  }

  /** The average of the given checkpoints' weights, in a model of the first one's config. */
  public static VideoClassifierModel average(List<Checkpoint> checkpoints) {
    if (checkpoints.isEmpty()) {
      throw new IllegalArgumentException("no checkpoints to average");
    }
    VideoClassifierModel average = ModelDirectory.load(checkpoints.get(0).directory());
    Map<String, Tensor> averageTensors = StateDicts.parameters(average);
    List<String> names = new ArrayList<>(averageTensors.keySet());
    try (TensorList averageList = TensorList.of("average", names,
        new ArrayList<>(averageTensors.values()))) {
      for (int k = 1; k < checkpoints.size(); k++) {
        Path directory = checkpoints.get(k).directory();
        if (!ModelDirectory.config(directory).equals(average.config())) {
          throw new IllegalArgumentException(directory + " has another model config than "
              + checkpoints.get(0).directory() + ": they cannot be averaged");
        }
        try (PointerScope scope = new PointerScope()) {
          Map<String, Tensor> model = StateDicts.parameters(ModelDirectory.load(directory));
          List<Tensor> tensors = new ArrayList<>();
          for (String name : names) {
            tensors.add(model.get(name));
          }
          FusedKernels.swaAccumulate(averageList, TensorList.of(directory.toString(), names, tensors), k);
        }
      }
    }
    return average;
  }
}

package dev.vidtag.train;

import dev.vidtag.io.DataException;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.LoadReport;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.model.weights.WeightFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Starts fine-tuning from a pretraining checkpoint (or any model directory of the same
 * architecture): the encoder ({@code bert.*}), the frame projection ({@code video_fc.*} or
 * {@code visual_encoder.*}) and, for the double stream, the decoder
 * ({@code multi_head_decoder.*}) are copied; the classifier keeps its fresh initialisation,
 * since pretraining never trained it.
 */
public final class PretrainedInit {
  private static final List<String> SINGLE = List.of("bert.", "video_fc.");
  private static final List<String> DOUBLE = List.of("bert.", "visual_encoder.",
      "multi_head_decoder.");

  /**
   * What was copied, by top-level part and tensor count (e.g. {@code bert: 37}), and which of
   * the model's tensors kept their initialisation.
   */
  public record Transfer(Path checkpoint, Map<String, Integer> transferred, List<String> kept) {
    public String describe() {
      StringBuilder s = new StringBuilder("initialised from " + checkpoint + ":");
      transferred.forEach((part, count) -> s.append(' ').append(part).append(".* (")
          .append(count).append(count == 1 ? " tensor)" : " tensors)"));
      if (!kept.isEmpty()) {
        s.append("; left as initialised: ").append(String.join(", ", kept));
      }
      return s.toString();
    }
  }

  private PretrainedInit() {}

  /**
   * The checkpoint a path names: a model directory (a pretraining checkpoint is one), or the
   * newest checkpoint of the run it names.
   */
  public static Path resolve(Path path) {
    if (isModelDirectory(path)) {
      return path;
    }
    return RunDirectory.newestCheckpoint(path, PretrainedInit::isModelDirectory)
        .orElseThrow(() -> DataException.at(path, null, null, "neither a model directory (a "
            + "pretraining checkpoint is one) nor a run with checkpoints"));
  }

  private static boolean isModelDirectory(Path path) {
    return Files.isRegularFile(path.resolve(ModelConfig.FILE_NAME))
        && Files.isRegularFile(path.resolve(ModelDirectory.WEIGHTS));
  }

  /** The text encoder's config the checkpoint was trained with (the fine-tuned model's too). */
  public static BertConfig textEncoder(Path path) {
    return ModelDirectory.config(resolve(path)).textEncoder();
  }

  /** Copies the transferable tensors of the checkpoint into {@code model}. */
  public static Transfer apply(VideoClassifierModel model, Path path) {
    Path checkpoint = resolve(path);
    ModelConfig source = ModelDirectory.config(checkpoint);
    Architecture arch = model.config().arch();
    if (source.arch() != arch) {
      throw new IllegalArgumentException("--init " + checkpoint + " is a "
          + source.arch().configName() + "-stream model but --arch is " + arch.configName());
    }
    if (source.frameDim() != model.config().frameDim()) {
      throw DataException.at(checkpoint, null, "frame_dim", "the checkpoint projects "
          + source.frameDim() + "-wide frame features but the data's are "
          + model.config().frameDim());
    }
    List<String> prefixes = arch == Architecture.SINGLE ? SINGLE : DOUBLE;
    LoadReport report = WeightFiles.loadInto(model, checkpoint.resolve(ModelDirectory.WEIGHTS),
        name -> prefixes.stream().anyMatch(name::startsWith) ? name : null);
    Map<String, Integer> transferred = new TreeMap<>();
    List<String> kept = new ArrayList<>();
    for (String name : StateDicts.of(model).keySet()) {
      if (report.missing().contains(name)) {
        kept.add(name);
      } else {
        transferred.merge(name.substring(0, name.indexOf('.')), 1, Integer::sum);
      }
    }
    return new Transfer(checkpoint, transferred, kept);
  }
}

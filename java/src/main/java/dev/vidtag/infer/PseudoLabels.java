package dev.vidtag.infer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.PseudoLabeledVideos;
import dev.vidtag.data.SoftLabelFile;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.eval.ResultFile;
import dev.vidtag.io.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A teacher's labels for a split's videos, for training students on them: the soft labels
 * ({@link SoftLabelFile}: top k classes and probabilities, softened by a temperature), the hard
 * labels as a result file (which {@code vidtag evaluate} scores against a truth file), and a
 * summary.
 *
 * <p>Directory: {@code labeling.json} (what labels it: written first, so that a rerun continues
 * only the same labeling), {@code soft_labels.bin} (as {@code .soft_labels.bin.partial} until
 * every video is labeled; a rerun continues after its last complete record), then
 * {@code hard_labels.csv} and {@code pseudo.json} (the labeling and the summary).
 */
public final class PseudoLabels {
  public static final String LABELING = "labeling.json";
  public static final String SOFT_LABELS = PseudoLabeledVideos.SOFT_LABELS;
  public static final String HARD_LABELS = "hard_labels.csv";
  public static final String SUMMARY = PseudoLabeledVideos.SUMMARY;
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * How to label.
   *
   * @param temperature the softmax's temperature over the fused logits (1: the teacher's own
   *     distribution; above 1 softer)
   * @param topK classes kept per video
   * @param batchSize videos per forward pass
   * @param chunk videos labeled and forced to disk at a time: what an interruption can lose
   */
  public record Options(double temperature, int topK, int batchSize, int chunk) {
    public Options {
      if (!(temperature > 0) || Double.isInfinite(temperature)) {
        throw new IllegalArgumentException("the temperature must be positive and finite, got "
            + temperature);
      }
      if (topK < 1 || batchSize < 1 || chunk < 1) {
        throw new IllegalArgumentException("top k, batch size and chunk must be at least 1, got "
            + topK + ", " + batchSize + ", " + chunk);
      }
    }
  }

  /**
   * What the labeling found.
   *
   * @param videos the split's videos, all labeled
   * @param resumedAt how many were labeled before this call (0 for a new labeling)
   * @param meanConfidence the mean probability of the hard labels
   * @param confidentShare the share of videos whose hard label has probability at least 0.9
   * @param distanceToLabeled the total variation distance between the hard labels' class
   *     distribution and the labeled split's (0: the same, 1: disjoint)
   */
  public record Summary(int videos, long resumedAt, double meanConfidence, double confidentShare,
      double distanceToLabeled) {}

  private PseudoLabels() {}

  /**
   * Labels every video of {@code split} with {@code teacher} into {@code out}, continuing a
   * labeling that was interrupted there. Progress lines go to {@code progress} (may be null).
   */
  public static Summary label(VideoClassifier teacher, Dataset dataset, String split, Path out,
      Options options, PrintWriter progress) {
    int classes = teacher.classes();
    if (options.topK() > classes) {
      throw new IllegalArgumentException("top k " + options.topK() + " is more than the "
          + classes + " classes");
    }
    if (Files.exists(out.resolve(SUMMARY))) {
      throw new IllegalArgumentException(out + " already holds a finished labeling ("
          + SUMMARY + "); choose another --out");
    }
    List<VideoAnnotation> videos = dataset.annotations(split, false);
    ObjectNode labeling = labeling(teacher, dataset, split, options);
    startOrContinue(out, labeling);
    Path partial = AtomicFiles.partialOf(out.resolve(SOFT_LABELS));
    long resumedAt;
    try (SoftLabelFile.Appender appender = SoftLabelFile.Appender.open(partial, options.topK(),
             classes);
         ZipFeatureStore features = dataset.openFeatures(split)) {
      resumedAt = appender.complete();
      if (resumedAt > videos.size()) {
        throw new IllegalStateException(partial + " holds " + resumedAt + " labels for a split of "
            + videos.size() + " videos");
      }
      long start = System.nanoTime();
      for (int from = (int) resumedAt; from < videos.size(); from += options.chunk()) {
        int to = Math.min(videos.size(), from + options.chunk());
        SplitLogits logits = teacher.logits(videos.subList(from, to), features,
            options.batchSize());
        appender.append(softmax(logits.values(), to - from, classes, options.temperature()),
            to - from);
        if (progress != null) {
          double seconds = (System.nanoTime() - start) / 1e9;
          double rate = (to - resumedAt) / seconds;
          progress.printf(Locale.ROOT, "%d/%d videos labeled, %.1f videos/s, ETA %.0f s%n", to,
              videos.size(), rate, (videos.size() - to) / rate);
          progress.flush();
        }
      }
    }
    try {
      AtomicFiles.moveIntoPlace(partial, out.resolve(SOFT_LABELS));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot rename " + partial, e);
    }
    SoftLabelFile labels = SoftLabelFile.read(out.resolve(SOFT_LABELS));
    CategoryMap categories = CategoryMap.official();
    int[] hard = new int[labels.size()];
    double confidence = 0;
    int confident = 0;
    for (int v = 0; v < hard.length; v++) {
      hard[v] = labels.classAt(v, 0);
      confidence += labels.probabilityAt(v, 0);
      confident += labels.probabilityAt(v, 0) >= 0.9f ? 1 : 0;
    }
    ResultFile.write(out.resolve(HARD_LABELS), videos.stream().map(VideoAnnotation::id).toList(),
        hard, categories);
    Summary summary = new Summary(videos.size(), resumedAt,
        hard.length == 0 ? 0 : confidence / hard.length,
        hard.length == 0 ? 0 : confident / (double) hard.length,
        distance(hard, categories.lv2Counts(dataset.labeledVideos()), classes));
    labeling.set("summary", JSON.valueToTree(summary));
    write(out.resolve(SUMMARY), labeling);
    return summary;
  }

  /** Row-wise softmax of {@code logits / temperature}, in double precision. */
  static float[] softmax(float[] logits, int rows, int classes, double temperature) {
    float[] probabilities = new float[logits.length];
    for (int r = 0; r < rows; r++) {
      int offset = r * classes;
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        max = Math.max(max, logits[offset + c] / temperature);
      }
      double sum = 0;
      for (int c = 0; c < classes; c++) {
        sum += Math.exp(logits[offset + c] / temperature - max);
      }
      for (int c = 0; c < classes; c++) {
        probabilities[offset + c] = (float) (Math.exp(logits[offset + c] / temperature - max)
            / sum);
      }
    }
    return probabilities;
  }

  /** Half the L1 distance between the class shares of {@code labels} and of {@code counts}. */
  private static double distance(int[] labels, int[] counts, int classes) {
    double[] ours = new double[classes];
    for (int label : labels) {
      ours[label] += 1.0 / labels.length;
    }
    long total = 0;
    for (int count : counts) {
      total += count;
    }
    double sum = 0;
    for (int c = 0; c < classes; c++) {
      sum += Math.abs(ours[c] - (total == 0 ? 0 : counts[c] / (double) total));
    }
    return sum / 2;
  }

  private static ObjectNode labeling(VideoClassifier teacher, Dataset dataset, String split,
      Options options) {
    ObjectNode json = JSON.createObjectNode();
    json.put("data", dataset.root().toAbsolutePath().normalize().toString());
    json.put("split", split);
    json.put("fuse", teacher.options().fuse().optionName());
    json.put("precision", teacher.options().precision().optionName());
    json.put("temperature", options.temperature());
    json.put("top_k", options.topK());
    ArrayNode members = json.putArray("teachers");
    for (EnsembleMember member : teacher.members()) {
      members.addObject().put("model", member.modelDirectory().toAbsolutePath().normalize()
          .toString()).put("weight", member.weight());
    }
    return json;
  }

  /** Writes the labeling of a new directory, or checks that a started one labels the same. */
  private static void startOrContinue(Path out, ObjectNode labeling) {
    Path file = out.resolve(LABELING);
    try {
      if (Files.exists(file)) {
        JsonNode started = JSON.readTree(file.toFile());
        if (!started.equals(labeling)) {
          throw new IllegalArgumentException(out + " holds a labeling started with other "
              + "settings (" + file + "); choose another --out, or give the same teachers, split, "
              + "fusion, precision, temperature and top k");
        }
      } else {
        Files.createDirectories(out);
        write(file, labeling);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write " + file, e);
    }
  }

  private static void write(Path file, JsonNode json) {
    try {
      AtomicFiles.writeString(file, JSON.writeValueAsString(json));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + file, e);
    }
  }
}

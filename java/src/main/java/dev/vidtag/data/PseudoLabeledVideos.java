package dev.vidtag.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The videos of a finished {@code vidtag pseudo-label} directory as training reads them: each
 * video of the labeled split with its hard label as its category, those below a confidence left
 * out.
 *
 * @param split the split the labels are of
 * @param videos the kept videos, in annotation order, each with its hard label
 * @param total how many videos the labeling holds
 */
public record PseudoLabeledVideos(String split, List<VideoAnnotation> videos, int total) {
  /** What {@code vidtag pseudo-label} writes last, when every video is labeled. */
  public static final String SUMMARY = "pseudo.json";
  public static final String SOFT_LABELS = "soft_labels.bin";
  private static final ObjectMapper JSON = new ObjectMapper();

  public PseudoLabeledVideos {
    videos = List.copyOf(videos);
  }

  /**
   * Reads the labels in {@code directory}, which must be of a split of {@code dataset} other than
   * the labeled one (whose validation part must never be trained on), keeping the videos whose
   * hard label has at least {@code minConfidence}.
   *
   * @throws DataException naming the file and the field when the labels do not fit the dataset
   */
  public static PseudoLabeledVideos read(Path directory, Dataset dataset, double minConfidence) {
    Path summary = directory.resolve(SUMMARY);
    if (!Files.isRegularFile(summary)) {
      throw new IllegalArgumentException(directory + " holds no finished labeling (no " + SUMMARY
          + "; vidtag pseudo-label writes it last)");
    }
    JsonNode json;
    try {
      json = JSON.readTree(summary.toFile());
    } catch (IOException e) {
      throw DataException.at(summary, null, null, "unreadable: " + e.getMessage(), e);
    }
    String split = json.path("split").asText("");
    if (split.isEmpty() || split.equals(Dataset.LABELED)) {
      throw DataException.at(summary, null, "split", "pseudo-labels of '" + split + "': only "
          + "another split than " + Dataset.LABELED + " may be trained on, the labeled one holds "
          + "the validation videos");
    }
    Path labeledData = Path.of(json.path("data").asText("")).toAbsolutePath().normalize();
    if (!labeledData.equals(dataset.root().toAbsolutePath().normalize())) {
      throw DataException.at(summary, null, "data", "labels videos of " + labeledData
          + ", not of " + dataset.root());
    }
    List<VideoAnnotation> annotations = dataset.annotations(split, false);
    SoftLabelFile labels = SoftLabelFile.read(directory.resolve(SOFT_LABELS));
    if (labels.size() != annotations.size()) {
      throw DataException.at(directory.resolve(SOFT_LABELS), null, null, labels.size()
          + " labels for the " + annotations.size() + " videos of split " + split);
    }
    CategoryMap categories = CategoryMap.official();
    List<VideoAnnotation> kept = new ArrayList<>();
    for (int v = 0; v < annotations.size(); v++) {
      if (labels.probabilityAt(v, 0) >= minConfidence) {
        VideoAnnotation a = annotations.get(v);
        kept.add(new VideoAnnotation(a.id(), a.title(), a.asr(), a.ocr(),
            Optional.of(categories.categoryId(labels.classAt(v, 0)))));
      }
    }
    return new PseudoLabeledVideos(split, kept, annotations.size());
  }
}

package dev.vidtag.data;

import dev.vidtag.io.DataException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * A dataset in the official layout, and the only place that knows it:
 *
 * <pre>
 * annotations/&lt;split&gt;.json                         the videos of a split (labeled carries categories)
 * zip_feats/&lt;split&gt;.zip                            one &lt;id&gt;.npy frame-feature matrix per video
 * zip_frames/&lt;split&gt;/&lt;last 3 digits&gt;/&lt;id&gt;.zip     a video's JPG frames
 * truth_&lt;split&gt;.csv                              a synthetic split's held-out categories
 * </pre>
 *
 * <p>Split names are the annotation file names without {@code .json}; {@link #LABELED} is the
 * split training reads.
 */
public final class Dataset {
  /** The split whose videos carry their categories. */
  public static final String LABELED = "labeled";

  private static final String ANNOTATIONS = "annotations";
  private static final String FEATURES = "zip_feats";
  private static final String FRAMES = "zip_frames";

  private final Path root;

  private Dataset(Path root) {
    this.root = Objects.requireNonNull(root, "root");
  }

  /** The dataset in {@code root} (nothing is read yet). */
  public static Dataset at(Path root) {
    return new Dataset(root);
  }

  public Path root() {
    return root;
  }

  public Path annotationFolder() {
    return root.resolve(ANNOTATIONS);
  }

  public Path annotationFile(String split) {
    return annotationFolder().resolve(requireName(split) + ".json");
  }

  public Path featureFolder() {
    return root.resolve(FEATURES);
  }

  public Path featureFile(String split) {
    return featureFolder().resolve(requireName(split) + ".zip");
  }

  /** The folder of a split's frame zips. */
  public Path frameFolder(String split) {
    return root.resolve(FRAMES).resolve(requireName(split));
  }

  /** Where a video's frame zip lives: its split's folder, then the id's last three digits. */
  public Path frameArchive(String split, String videoId) {
    return frameArchiveIn(frameFolder(split), videoId);
  }

  /** As {@link #frameArchive}, inside a split's frame folder given directly. */
  static Path frameArchiveIn(Path splitFolder, String videoId) {
    if (videoId.length() < 3 || videoId.contains("/") || videoId.contains("..")) {
      throw new IllegalArgumentException("bad video id for a frame path: '" + videoId + "'");
    }
    return splitFolder.resolve(videoId.substring(videoId.length() - 3)).resolve(videoId + ".zip");
  }

  /** A synthetic split's held-out truth, in the result file's format. */
  public Path truthFile(String split) {
    return root.resolve("truth_" + requireName(split) + ".csv");
  }

  public boolean hasSplit(String split) {
    return Files.isRegularFile(annotationFile(split));
  }

  public boolean hasFeatures(String split) {
    return Files.isRegularFile(featureFile(split));
  }

  /** The splits that have an annotation file, {@link #LABELED} first, then by name. */
  public List<String> splits() {
    Path folder = annotationFolder();
    if (!Files.isDirectory(folder)) {
      throw DataException.at(folder, null, null,
          "no annotations folder: not a dataset in the official layout");
    }
    try (Stream<Path> files = Files.list(folder)) {
      return files.map(p -> p.getFileName().toString())
          .filter(name -> name.endsWith(".json"))
          .map(name -> name.substring(0, name.length() - ".json".length()))
          .sorted(Comparator.comparing((String name) -> !name.equals(LABELED))
              .thenComparing(Comparator.naturalOrder()))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + folder, e);
    }
  }

  /**
   * Every video of a split, in file order; with {@code requireLabels} each must carry its
   * category.
   */
  public List<VideoAnnotation> annotations(String split, boolean requireLabels) {
    return AnnotationReader.readAll(requireSplit(split), requireLabels);
  }

  /** The labeled videos, each with its category. */
  public List<VideoAnnotation> labeledVideos() {
    return annotations(LABELED, true);
  }

  /** The labeled videos cut into training and validation by {@link ValidationSplit#of}. */
  public ValidationSplit validationSplit(double validationRatio, long seed) {
    return ValidationSplit.of(labeledVideos(), validationRatio, seed);
  }

  /** The labeled videos cut by {@link ValidationSplit#fold}, stratified by lv2 class. */
  public ValidationSplit foldSplit(int folds, int fold, long seed) {
    return ValidationSplit.fold(labeledVideos(), folds, fold, seed, CategoryMap.official()::lv2Of);
  }

  /**
   * A split's frame features; a video without a member has no frames.
   *
   * @throws DataException when the split has no feature archive
   */
  public ZipFeatureStore openFeatures(String split) {
    Path file = featureFile(split);
    if (!Files.isRegularFile(file)) {
      throw DataException.at(root, null, null, "split '" + split + "' has no frame features ("
          + root.relativize(file) + " is missing)");
    }
    return ZipFeatureStore.open(file, ZipFeatureStore.MissingPolicy.EMPTY);
  }

  private Path requireSplit(String split) {
    Path file = annotationFile(split);
    if (!Files.isRegularFile(file)) {
      throw DataException.at(root, null, null, "no split '" + split + "' ("
          + root.relativize(file) + " is missing)");
    }
    return file;
  }

  private static String requireName(String split) {
    if (split == null || split.isEmpty() || split.contains("/") || split.contains("\\")
        || split.startsWith(".")) {
      throw new IllegalArgumentException("bad split name: '" + split + "'");
    }
    return split;
  }

  @Override
  public String toString() {
    return root.toString();
  }
}

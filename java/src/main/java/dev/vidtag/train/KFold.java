package dev.vidtag.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.FrameFeatures;
import dev.vidtag.data.InputPipeline;
import dev.vidtag.data.InputPipeline.Mode;
import dev.vidtag.data.NpyReader;
import dev.vidtag.data.NpyWriter;
import dev.vidtag.data.ValidationSplit;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.VideoClassifierModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * k-fold fine-tuning: the labeled videos in {@code folds} stratified folds
 * ({@link ValidationSplit#fold}), one run per fold validating on it, and the out-of-fold logits
 * of every labeled video, each from the best checkpoint of the one run that never trained on it.
 *
 * <p>Directory: {@code options.json} (these options), {@code fold-k/} (the runs, as
 * {@link Trainer} writes them), then {@code oof_logits.npy} (float32 {@code [videos, classes]},
 * in annotation order) and {@code folds.json} (each video's fold), both written when every fold
 * is done. An interrupted k-fold continues with {@link #resuming}: finished folds are kept, the
 * interrupted one resumes from its last saved state.
 */
public final class KFold {
  public static final String OUT_OF_FOLD_LOGITS = "oof_logits.npy";
  public static final String FOLDS = "folds.json";
  private static final Logger log = LoggerFactory.getLogger(KFold.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What a k-fold run is configured by.
   *
   * @param folds the number of folds, at least 2
   * @param training every fold's options but its fold and its directory: {@code out} is the
   *     k-fold directory and the data are split by fold, not by ratio
   */
  public record Options(int folds, TrainOptions training) {
    public Options {
      Objects.requireNonNull(training, "training options");
      ValidationSplit.requireFold(folds, 0);
      if (training.data().folds() != null) {
        throw new IllegalArgumentException("k-fold chooses each run's fold itself; the training "
            + "options must not name one (fold " + training.data().fold() + " of "
            + training.data().folds() + ")");
      }
    }

    /** The options of fold {@code k}'s run. */
    public TrainOptions fold(int k) {
      return training.withFold(k, folds).withOut(directory(training.out(), k));
    }
  }

  /**
   * The outcome.
   *
   * @param folds each fold's run
   * @param videoIds the labeled videos, in annotation order
   * @param classes the logits' columns
   * @param foldOfVideo the fold each video validated in
   * @param outOfFoldLogits row-major {@code [videos, classes]}; not copied, do not change
   * @param outOfFoldScore the official score of the out-of-fold logits' top classes
   */
  public record Result(List<Trainer.Result> folds, List<String> videoIds, int classes,
      int[] foldOfVideo, float[] outOfFoldLogits, OfficialScore outOfFoldScore) {}

  /**
   * The outputs of a finished k-fold run, read back from its directory.
   *
   * @param data the dataset it was trained on
   * @param folds the number of folds
   * @param videos the dataset's labeled videos, in the order of the logits' rows
   * @param classes the logits' columns
   * @param foldOfVideo the fold each video validated in
   * @param logits row-major {@code [videos, classes]}
   */
  public record OutOfFold(Path data, int folds, List<VideoAnnotation> videos, int classes,
      int[] foldOfVideo, float[] logits) {
    public List<String> videoIds() {
      return videos.stream().map(VideoAnnotation::id).toList();
    }
  }

  private final Options options;
  private final boolean resume;

  /** A new k-fold run; its directory must not hold a run yet. */
  public KFold(Options options) {
    this(options, false);
  }

  private KFold(Options options, boolean resume) {
    this.options = options;
    this.resume = resume;
  }

  /**
   * Continues the k-fold run in {@code directory} with the options it was started with;
   * {@code workers} may differ.
   */
  public static KFold resuming(Path directory, int workers) {
    Options started = RunDirectory.readOptions(directory, Options.class, "vidtag kfold");
    return new KFold(new Options(started.folds(),
        started.training().withOut(directory).withWorkers(workers)), true);
  }

  /**
   * Reads {@code oof_logits.npy} and {@code folds.json} of the finished k-fold run in
   * {@code directory}, with the labeled videos of its dataset they must list.
   *
   * @throws DataException naming the file and the field when they are malformed, disagree with
   *     each other or with the dataset
   */
  public static OutOfFold read(Path directory) {
    Options started = RunDirectory.readOptions(directory, Options.class, "vidtag kfold");
    Path logitsFile = directory.resolve(OUT_OF_FOLD_LOGITS);
    Path foldsFile = directory.resolve(FOLDS);
    if (!Files.isRegularFile(logitsFile) || !Files.isRegularFile(foldsFile)) {
      throw new IllegalArgumentException(directory + " has no " + OUT_OF_FOLD_LOGITS + " and "
          + FOLDS + " yet: the k-fold has not finished (continue it with vidtag kfold --resume)");
    }
    List<String> ids = new ArrayList<>();
    List<Integer> folds = new ArrayList<>();
    try {
      JsonNode videos;
      try {
        videos = JSON.readTree(foldsFile.toFile()).path("videos");
      } catch (JsonProcessingException e) {
        throw DataException.at(foldsFile, null, null, "not JSON: " + e.getOriginalMessage(), e);
      }
      if (!videos.isArray()) {
        throw DataException.at(foldsFile, null, "videos", "missing or not an array");
      }
      for (JsonNode video : videos) {
        String id = video.path("id").asText(null);
        if (id == null || !video.path("fold").canConvertToInt()
            || video.get("fold").asInt() < 0 || video.get("fold").asInt() >= started.folds()) {
          throw DataException.at(foldsFile, id, "fold", "needs an id and a fold from 0 to "
              + (started.folds() - 1) + ", got " + video);
        }
        ids.add(id);
        folds.add(video.get("fold").asInt());
      }
      FrameFeatures npy = NpyReader.read(ByteBuffer.wrap(Files.readAllBytes(logitsFile)),
          logitsFile, null, true);
      if (npy.type() != FrameFeatures.ElementType.FLOAT32 || npy.frames() != ids.size()) {
        throw DataException.at(logitsFile, null, null, "expected float32 [" + ids.size()
            + ", classes] for the " + ids.size() + " videos of " + FOLDS + ", got "
            + npy.type() + " [" + npy.frames() + ", " + npy.dim() + "]");
      }
      float[] logits = new float[Math.multiplyExact(npy.frames(), npy.dim())];
      npy.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(logits);
      Path data = started.training().data().directory();
      List<VideoAnnotation> labeled = Dataset.at(data).labeledVideos();
      if (!labeled.stream().map(VideoAnnotation::id).toList().equals(ids)) {
        throw DataException.at(foldsFile, null, "videos", "lists other videos than the labeled "
            + "split of " + data + " (" + ids.size() + " against " + labeled.size()
            + "): the dataset changed since the k-fold");
      }
      return new OutOfFold(data, started.folds(), labeled, npy.dim(),
          folds.stream().mapToInt(Integer::intValue).toArray(), logits);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the outputs of " + directory, e);
    }
  }

  /** Where fold {@code k}'s run lives in the k-fold directory. */
  public static Path directory(Path kfold, int k) {
    return kfold.resolve("fold-" + k);
  }

  public Result run() {
    Path out = options.training().out();
    if (resume) {
      RunDirectory.existing(out);
    } else {
      RunDirectory.create(out, options);
    }
    List<Trainer.Result> results = new ArrayList<>();
    for (int k = 0; k < options.folds(); k++) {
      log.info("fold {} of {}", k, options.folds());
      results.add(trainer(k).run());
    }
    Result result = outOfFold(results);
    writeFolds(out.resolve(FOLDS), result);
    AtomicFiles.write(out.resolve(OUT_OF_FOLD_LOGITS), stream -> stream.write(
        NpyWriter.float32(result.outOfFoldLogits(), result.videoIds().size(), result.classes())));
    log.info("out-of-fold mean F1 {} over {} videos; wrote {} and {}",
        String.format(Locale.ROOT, "%.4f", result.outOfFoldScore().mean()),
        result.videoIds().size(), out.resolve(OUT_OF_FOLD_LOGITS), out.resolve(FOLDS));
    return result;
  }

  /** Fold {@code k}'s trainer: a new run, or the continuation of the one already started. */
  private Trainer trainer(int k) {
    TrainOptions fold = options.fold(k);
    Path dir = fold.out();
    if (TrainingState.exists(dir)) {
      TrainOptions started = Trainer.readOptions(dir).withOut(dir).withWorkers(fold.workers());
      if (!started.equals(fold)) {
        throw new IllegalArgumentException(dir + " holds a run with other options than fold " + k
            + " of this k-fold run");
      }
      return Trainer.resuming(dir, fold.workers());
    }
    if (RunDirectory.holdsRun(dir)) {
      throw new IllegalArgumentException(dir + " was started but saved no state to continue "
          + "from; remove it to train fold " + k + " again");
    }
    return new Trainer(fold);
  }

  /** Every labeled video's logits from the best checkpoint of the fold it validated in. */
  private Result outOfFold(List<Trainer.Result> results) {
    TrainOptions training = options.training();
    Dataset dataset = Dataset.at(training.data().directory());
    List<VideoAnnotation> labeled = dataset.labeledVideos();
    Map<String, Integer> row = new HashMap<>();
    for (int i = 0; i < labeled.size(); i++) {
      row.put(labeled.get(i).id(), i);
    }
    int[] foldOfVideo = new int[labeled.size()];
    Arrays.fill(foldOfVideo, -1);
    float[] logits = null;
    int classes = 0;
    try (ZipFeatureStore features = dataset.openFeatures(Dataset.LABELED)) {
      for (int k = 0; k < results.size(); k++) {
        // the split Dataset.foldSplit makes, without reading the annotations again per fold
        List<VideoAnnotation> held = ValidationSplit.fold(labeled, options.folds(), k,
            training.seed(), CategoryMap.official()::lv2Of).validation();
        Path best = results.get(k).best();
        VideoClassifierModel model = ModelDirectory.load(best);
        try (InputPipeline input = InputPipeline.open(model.config(), best)) {
          float[] foldLogits = Validation.logits(model,
              input.source(held, features, Mode.EVALUATION), input.collator(Mode.EVALUATION),
              training.optimization().batchSize(), training.workers());
          classes = model.config().numClasses();
          if (logits == null) {
            logits = new float[Math.multiplyExact(labeled.size(), classes)];
          }
          for (int i = 0; i < held.size(); i++) {
            int r = row.get(held.get(i).id());
            if (foldOfVideo[r] != -1) {
              throw new IllegalStateException(held.get(i).id() + " validates in folds "
                  + foldOfVideo[r] + " and " + k);
            }
            foldOfVideo[r] = k;
            System.arraycopy(foldLogits, i * classes, logits, r * classes, classes);
          }
        } finally {
          model.release();
        }
      }
    }
    for (int r = 0; r < foldOfVideo.length; r++) {
      if (foldOfVideo[r] == -1) {
        throw new IllegalStateException(labeled.get(r).id() + " validates in no fold");
      }
    }
    CategoryMap categories = CategoryMap.official();
    int[] truth = labeled.stream().mapToInt(categories::lv2Of).toArray();
    int[] predicted = new int[labeled.size()];
    for (int r = 0; r < predicted.length; r++) {
      predicted[r] = argmax(logits, r * classes, classes);
    }
    return new Result(List.copyOf(results), labeled.stream().map(VideoAnnotation::id).toList(),
        classes, foldOfVideo, logits, OfficialScore.of(truth, predicted, categories));
  }

  private static int argmax(float[] values, int offset, int length) {
    int best = 0;
    for (int c = 1; c < length; c++) {
      if (values[offset + c] > values[offset + best]) {
        best = c;
      }
    }
    return best;
  }

  private void writeFolds(Path file, Result result) {
    ObjectNode root = JSON.createObjectNode();
    root.put("folds", options.folds());
    root.put("seed", options.training().seed());
    ArrayNode videos = root.putArray("videos");
    for (int i = 0; i < result.videoIds().size(); i++) {
      videos.addObject().put("id", result.videoIds().get(i)).put("fold", result.foldOfVideo()[i]);
    }
    try {
      AtomicFiles.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + file, e);
    }
  }
}

package dev.vidtag.infer;

import dev.vidtag.data.Batch;
import dev.vidtag.data.BatchPlan;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Collator;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.Float16;
import dev.vidtag.data.FrameFeatureSource;
import dev.vidtag.data.FrameFeatures;
import dev.vidtag.data.Loader;
import dev.vidtag.data.Sample;
import dev.vidtag.data.Shard;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.VideoSampleSource;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.io.DataException;
import dev.vidtag.runtime.DeviceSpec;
import dev.vidtag.runtime.TorchRuntime;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

/**
 * Classifies videos with one model directory or a weighted ensemble of several (single and
 * double stream mixed), each reading a video through its own tokenizer and text rule.
 *
 * <pre>{@code
 * try (VideoClassifier classifier = VideoClassifier.open(List.of(
 *     new EnsembleMember(Path.of("single"), 0.5), new EnsembleMember(Path.of("double"), 0.5)),
 *     VideoClassifier.Options.defaults().withPrecision(Precision.BF16))) {
 *   Prediction p = classifier.classify(Video.of("v1", title, asr, ocrTexts, features, frames, dim));
 *   p.categoryId(); p.probability(); p.lv1Id(); p.top();
 * }
 * }</pre>
 *
 * <p>Thread-safe: any number of threads may call {@link #classify}, {@link #classifyBatch} and
 * {@link #logits} at once; each call runs its forward passes in the calling thread, in eval mode,
 * under its own no-grad guard and pointer scope, so nothing it allocates outlives it. Open and
 * close a classifier outside any pointer scope of the caller's (its weights are long-lived).
 * {@link #close()} waits for calls in progress.
 */
public final class VideoClassifier implements AutoCloseable {
  /**
   * How a classifier runs.
   *
   * @param device where the models run
   * @param precision their number format
   * @param fuse how an ensemble combines its models' logits
   * @param topK how many categories a {@link Prediction} lists
   * @param tailAdjustment applied to the fused logits of {@link #classify} and
   *     {@link #classifyBatch}; {@code null} for none
   */
  public record Options(DeviceSpec device, Precision precision, Fuse fuse, int topK,
      TailAdjustment tailAdjustment) {

    public Options {
      Objects.requireNonNull(device, "device");
      Objects.requireNonNull(precision, "precision");
      Objects.requireNonNull(fuse, "fuse");
      if (topK < 1) {
        throw new IllegalArgumentException("top k must be at least 1, got " + topK);
      }
    }

    /** CPU, fp32, fused logits, top 5, no tail adjustment. */
    public static Options defaults() {
      return new Options(DeviceSpec.CPU, Precision.FP32, Fuse.LOGITS, 5, null);
    }

    public Options withDevice(DeviceSpec newDevice) {
      return new Options(newDevice, precision, fuse, topK, tailAdjustment);
    }

    public Options withPrecision(Precision newPrecision) {
      return new Options(device, newPrecision, fuse, topK, tailAdjustment);
    }

    public Options withFuse(Fuse newFuse) {
      return new Options(device, precision, newFuse, topK, tailAdjustment);
    }

    public Options withTopK(int newTopK) {
      return new Options(device, precision, fuse, newTopK, tailAdjustment);
    }

    public Options withTailAdjustment(TailAdjustment newAdjustment) {
      return new Options(device, precision, fuse, topK, newAdjustment);
    }
  }

  private final Options options;
  private final List<LoadedModel> models;
  private final double[] weights;
  private final CategoryMap categories = CategoryMap.official();
  private final int classes;
  private final int topK;
  /** {@code [C]} float32: the tail adjustment's logit bias; null without one. */
  private final Tensor logitBias;
  /** {@code [C, lv1 groups]} float32, 1 where a class belongs to a group. */
  private final Tensor groupOfClass;
  private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
  private boolean closed;

  private VideoClassifier(List<LoadedModel> models, Options options) {
    this.options = options;
    this.models = List.copyOf(models);
    this.weights = models.stream().mapToDouble(m -> m.member().weight()).toArray();
    this.classes = models.get(0).config().numClasses();
    for (LoadedModel m : models) {
      if (m.config().numClasses() != classes) {
        throw new IllegalArgumentException("the models of an ensemble must share their classes: "
            + models.get(0).member().modelDirectory() + " has " + classes + ", "
            + m.member().modelDirectory() + " has " + m.config().numClasses());
      }
    }
    if (classes != categories.size()) {
      throw new IllegalArgumentException(models.get(0).member().modelDirectory() + " predicts "
          + classes + " classes, not the " + categories.size() + " official categories");
    }
    this.topK = Math.min(options.topK(), classes);
    TailAdjustment tail = options.tailAdjustment();
    if (tail != null) {
      tail.requireClasses(classes);
    }
    this.logitBias = tail == null || tail.kind() == TailAdjustment.Kind.NONE ? null
        : floatTensor(toFloats(tail.logitBias()), classes);
    float[] membership = new float[classes * categories.lv1Count()];
    for (int c = 0; c < classes; c++) {
      membership[c * categories.lv1Count() + categories.lv1Index(c)] = 1f;
    }
    this.groupOfClass = floatTensor(membership, classes, categories.lv1Count());
  }

  /** One model directory with {@link Options#defaults()}. */
  public static VideoClassifier open(Path modelDirectory) {
    return open(List.of(EnsembleMember.of(modelDirectory)), Options.defaults());
  }

  /**
   * Loads the members' model directories.
   *
   * @throws DataException when a directory is not a usable model directory
   * @throws IllegalArgumentException when the models disagree on their classes, or the device
   *     does not exist
   */
  public static VideoClassifier open(List<EnsembleMember> members, Options options) {
    if (members.isEmpty()) {
      throw new IllegalArgumentException("no model directories");
    }
    TorchRuntime.initialize(); // the threads are the process's: TorchRuntime.setThreads
    Device device = options.device().kind() == DeviceSpec.Kind.CPU ? null
        : TorchRuntime.device(options.device());
    List<LoadedModel> loaded = new ArrayList<>();
    try {
      for (EnsembleMember member : members) {
        loaded.add(LoadedModel.load(member, device, options.precision()));
      }
      return new VideoClassifier(loaded, options);
    } catch (RuntimeException e) {
      loaded.forEach(LoadedModel::close);
      throw e;
    }
  }

  public Options options() {
    return options;
  }

  public List<EnsembleMember> members() {
    return models.stream().map(LoadedModel::member).toList();
  }

  /** The number of classes (lv2 categories) the models predict. */
  public int classes() {
    return classes;
  }

  /**
   * Whether every model pads batches to their longest video (pooling over real positions only)
   * rather than to the fixed lengths.
   */
  public boolean dynamicPadding() {
    return models.stream().allMatch(m -> m.padding() == Collator.Padding.DYNAMIC);
  }

  /** The prediction for one video. */
  public Prediction classify(Video video) {
    return classifyBatch(List.of(video)).get(0);
  }

  /** The predictions for videos run as one batch, in their order. */
  public List<Prediction> classifyBatch(List<Video> videos) {
    if (videos.isEmpty()) {
      return List.of();
    }
    int n = videos.size();
    List<Video> batch = uniformFrameTypes(videos);
    lifecycle.readLock().lock();
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      requireOpen();
      Tensor fused = fusedLogits(batch);
      if (logitBias != null) {
        fused = fused.add(logitBias);
      }
      Tensor probabilities = fused.softmax(1);
      T_TensorTensor_T top = probabilities.topk(topK, 1, true, true);
      Tensor groupProbabilities = probabilities.matmul(groupOfClass);
      float[] logits = floats(fused, (long) n * classes);
      float[] topProbabilities = floats(top.get0(), (long) n * topK);
      long[] topClasses = new long[n * topK];
      top.get1().contiguous().data_ptr_long().get(topClasses);
      float[] groups = floats(groupProbabilities, (long) n * categories.lv1Count());
      List<Prediction> predictions = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        List<Prediction.ScoredCategory> ranked = new ArrayList<>(topK);
        for (int k = 0; k < topK; k++) {
          ranked.add(scored((int) topClasses[i * topK + k], topProbabilities[i * topK + k]));
        }
        int bestGroup = ranked.get(0).lv1Index();
        predictions.add(new Prediction(videos.get(i).id(), ranked,
            groups[i * categories.lv1Count() + bestGroup],
            Arrays.copyOfRange(logits, i * classes, (i + 1) * classes)));
      }
      return predictions;
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  /** The fused logits of videos run as one batch (no tail adjustment), in their order. */
  public SplitLogits logits(List<Video> videos) {
    List<String> ids = videos.stream().map(Video::id).toList();
    if (videos.isEmpty()) {
      return new SplitLogits(ids, classes, new float[0]);
    }
    List<Video> batch = uniformFrameTypes(videos);
    lifecycle.readLock().lock();
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      requireOpen();
      return new SplitLogits(ids, classes, floats(fusedLogits(batch),
          (long) videos.size() * classes));
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  /**
   * The fused logits (no tail adjustment) of a whole split, in annotation order. Each model reads
   * the split in batches of {@code batchSize} built on a background thread; with dynamic padding
   * the videos are sorted by text length first (length-bucketed batches), which changes no
   * logit beyond rounding and saves most of the padding.
   */
  public SplitLogits logits(List<VideoAnnotation> videos, FrameFeatureSource features,
      int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
    }
    List<String> ids = videos.stream().map(VideoAnnotation::id).toList();
    int n = videos.size();
    if (n == 0) {
      return new SplitLogits(ids, classes, new float[0]);
    }
    lifecycle.readLock().lock();
    try {
      requireOpen();
      List<SplitLogits> perModel = new ArrayList<>();
      for (LoadedModel model : models) {
        perModel.add(new SplitLogits(ids, classes, modelLogits(model, videos, features,
            batchSize)));
      }
      return options.fuse().combineLogits(perModel, weights);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  /**
   * The fused logits of a split of a dataset, in annotation order (a video without features has
   * no frames).
   */
  public SplitLogits logits(Dataset dataset, String split, int batchSize) {
    return logits(dataset, split, Shard.WHOLE, batchSize);
  }

  /** As {@link #logits(Dataset, String, int)}, for one contiguous part of the split. */
  public SplitLogits logits(Dataset dataset, String split, Shard shard, int batchSize) {
    List<VideoAnnotation> videos = shard.of(dataset.annotations(split, false));
    try (ZipFeatureStore features = dataset.openFeatures(split)) {
      return logits(videos, features, batchSize);
    }
  }

  /** One model's logits of a split, row-major {@code [N, C]} in annotation order. */
  private float[] modelLogits(LoadedModel model, List<VideoAnnotation> videos,
      FrameFeatureSource features, int batchSize) {
    int n = videos.size();
    VideoSampleSource source = model.source(videos, features);
    BatchPlan plan = model.padding() == Collator.Padding.DYNAMIC
        ? BatchPlan.lengthBucketed(source.textLengths(), batchSize, (n + batchSize - 1) / batchSize)
        : BatchPlan.inOrder(n, batchSize);
    float[] logits = new float[n * classes];
    try (Loader loader = new Loader(source, plan, model.collator(), new Loader.Options(1, 4, 0));
         NoGradGuard noGrad = new NoGradGuard()) {
      Loader.Epoch batches = loader.epoch(0);
      while (batches.hasNext()) {
        try (Batch batch = batches.next(); PointerScope scope = new PointerScope()) {
          float[] rows = floats(model.logits(batch), (long) batch.size() * classes);
          int[] indices = batch.sampleIndices();
          for (int i = 0; i < indices.length; i++) {
            System.arraycopy(rows, i * classes, logits, indices[i] * classes, classes);
          }
        }
      }
    }
    return logits;
  }

  /** The ensemble's fused logits {@code [B, C]} on the CPU; the caller holds scope and guard. */
  private Tensor fusedLogits(List<Video> videos) {
    int[] indices = IntStream.range(0, videos.size()).toArray();
    List<Tensor> perModel = new ArrayList<>(models.size());
    for (LoadedModel model : models) {
      List<Sample> samples = new ArrayList<>(videos.size());
      for (Video video : videos) {
        samples.add(model.sample(video));
      }
      try (Batch batch = model.collate(samples, indices)) {
        perModel.add(model.logits(batch));
      }
    }
    return options.fuse().combine(perModel, weights);
  }

  private Prediction.ScoredCategory scored(int lv2, double probability) {
    String id = categories.categoryId(lv2);
    return new Prediction.ScoredCategory(id, lv2, id.substring(0, 2), categories.lv1Index(lv2),
        probability);
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("classifier closed");
    }
  }

  /** Frees the models' weights, tokenizers and tensors now; waits for calls in progress. */
  @Override
  public void close() {
    lifecycle.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      models.forEach(LoadedModel::close);
      if (logitBias != null) {
        logitBias.close();
      }
      groupOfClass.close();
    } finally {
      lifecycle.writeLock().unlock();
    }
  }

  /**
   * The videos with every frame matrix in one element type: a batch is converted once, by its
   * type, so float16 features (zip_feats) and float32 ones (plain arrays) in one call are all
   * made float32. Rare; the usual call has one type and is returned as is.
   */
  private static List<Video> uniformFrameTypes(List<Video> videos) {
    boolean half = false;
    boolean single = false;
    for (Video v : videos) {
      if (v.frames().frames() > 0) {
        half |= v.frames().type() == FrameFeatures.ElementType.FLOAT16;
        single |= v.frames().type() == FrameFeatures.ElementType.FLOAT32;
      }
    }
    if (!(half && single)) {
      return videos;
    }
    List<Video> widened = new ArrayList<>(videos.size());
    for (Video v : videos) {
      FrameFeatures f = v.frames();
      if (f.type() == FrameFeatures.ElementType.FLOAT16 && f.frames() > 0) {
        ShortBuffer halves = f.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        ByteBuffer floats = ByteBuffer.allocate(halves.remaining() * Float.BYTES)
            .order(ByteOrder.LITTLE_ENDIAN);
        while (halves.hasRemaining()) {
          floats.putFloat(Float16.toFloat(halves.get()));
        }
        floats.flip();
        f = new FrameFeatures(floats, FrameFeatures.ElementType.FLOAT32, f.frames(), f.dim());
      }
      widened.add(new Video(v.annotation(), f));
    }
    return widened;
  }

  private static float[] toFloats(double[] values) {
    float[] out = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = (float) values[i];
    }
    return out;
  }

  /** A float32 CPU tensor holding a copy of {@code values}, of the given shape. */
  static Tensor floatTensor(float[] values, long... shape) {
    Tensor t = torch.empty(shape, new TensorOptions(ScalarType.Float), new MemoryFormatOptional());
    t.data_ptr_float().put(values, 0, values.length);
    return t;
  }

  /** The values of a float32 tensor (contiguous copy), checking the count. */
  static float[] floats(Tensor tensor, long count) {
    Tensor contiguous = tensor.contiguous();
    if (contiguous.numel() != count) {
      throw new IllegalStateException("expected " + count + " values, got " + contiguous.numel());
    }
    float[] out = new float[(int) count];
    contiguous.data_ptr_float().get(out);
    return out;
  }
}

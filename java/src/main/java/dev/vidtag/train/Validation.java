package dev.vidtag.train;

import dev.vidtag.data.Batch;
import dev.vidtag.data.BatchPlan;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Collator;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.InputPipeline;
import dev.vidtag.data.InputPipeline.Mode;
import dev.vidtag.data.Loader;
import dev.vidtag.data.SampleSource;
import dev.vidtag.data.ValidationSplit;
import dev.vidtag.data.VideoSampleSource;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.VideoClassifierModel;
import java.nio.file.Path;
import java.util.function.BiConsumer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Scoring a model on validation videos with the official score, as the trainer does. */
public final class Validation {
  private Validation() {}

  /**
   * Scores {@code model} on the validation split of the run in {@code run} (the split its
   * {@code options.json} defines), tokenizing with the tokenizer files in {@code tokenizerDir}.
   */
  public static OfficialScore ofRun(Path run, VideoClassifierModel model, Path tokenizerDir,
      int workers) {
    TrainOptions options = Trainer.readOptions(run);
    Dataset dataset = Dataset.at(options.data().directory());
    ValidationSplit split = options.validationSplit(dataset);
    try (InputPipeline input = InputPipeline.open(model.config(), tokenizerDir);
         ZipFeatureStore features = dataset.openFeatures(Dataset.LABELED)) {
      return score(model, input.source(split.validation(), features, Mode.EVALUATION),
          input.collator(Mode.EVALUATION), CategoryMap.official(),
          options.optimization().batchSize(), workers);
    }
  }

  /** The official score of the model's top class on every video of {@code source}. */
  static OfficialScore score(VideoClassifierModel model, VideoSampleSource source,
      Collator collator, CategoryMap categories, int batchSize, int workers) {
    int[] truth = new int[source.size()];
    int[] predicted = topClasses(model, source, collator, batchSize, workers, truth);
    return OfficialScore.of(truth, predicted, categories);
  }

  /**
   * The model's top class for every sample of {@code source}, in the source's order, in
   * evaluation mode (the model's mode is restored after).
   */
  public static int[] topClasses(VideoClassifierModel model, SampleSource source,
      Collator collator, int batchSize, int workers) {
    return topClasses(model, source, collator, batchSize, workers, null);
  }

  /** As above; when {@code labels} is not null, each sample's label is written into it too. */
  private static int[] topClasses(VideoClassifierModel model, SampleSource source,
      Collator collator, int batchSize, int workers, int[] labels) {
    int[] predicted = new int[source.size()];
    forEachBatch(model, source, collator, batchSize, workers, (batch, logits) -> {
      long[] argmax = new long[batch.size()];
      logits.argmax(new LongOptional(1), false).contiguous().data_ptr_long().get(argmax);
      int[] indices = batch.sampleIndices();
      for (int i = 0; i < indices.length; i++) {
        predicted[indices[i]] = (int) argmax[i];
      }
      if (labels != null) {
        long[] batchLabels = new long[batch.size()];
        batch.labels().contiguous().data_ptr_long().get(batchLabels);
        for (int i = 0; i < indices.length; i++) {
          labels[indices[i]] = (int) batchLabels[i];
        }
      }
    });
    return predicted;
  }

  /**
   * The model's float32 logits for every sample of {@code source}, row-major {@code [samples,
   * classes]} in the source's order, in evaluation mode: the scores {@link #topClasses} ranks.
   */
  public static float[] logits(VideoClassifierModel model, SampleSource source,
      Collator collator, int batchSize, int workers) {
    int classes = model.config().numClasses();
    float[] values = new float[Math.multiplyExact(source.size(), classes)];
    forEachBatch(model, source, collator, batchSize, workers, (batch, logits) -> {
      float[] rows = new float[batch.size() * classes];
      logits.to(ScalarType.Float).contiguous().data_ptr_float().get(rows);
      int[] indices = batch.sampleIndices();
      for (int i = 0; i < indices.length; i++) {
        System.arraycopy(rows, i * classes, values, indices[i] * classes, classes);
      }
    });
    return values;
  }

  /**
   * Forwards every sample of {@code source} in order, without gradients and in evaluation mode
   * (the model's mode is restored after), handing each batch and its logits {@code [B, C]} to
   * {@code consumer} inside the batch's pointer scope.
   */
  private static void forEachBatch(VideoClassifierModel model, SampleSource source,
      Collator collator, int batchSize, int workers, BiConsumer<Batch, Tensor> consumer) {
    boolean wasTraining = model.is_training();
    model.train(false);
    int n = source.size();
    try (NoGradGuard noGrad = new NoGradGuard();
         Loader loader = new Loader(source, BatchPlan.inOrder(n, batchSize), collator,
             new Loader.Options(workers, 4, 0))) {
      Loader.Epoch batches = loader.epoch(0);
      while (batches.hasNext()) {
        try (Batch batch = batches.next(); PointerScope scope = new PointerScope()) {
          consumer.accept(batch, model.forward(new ModelInputs(batch.textIds(),
              batch.textMask(), batch.frames(), batch.frameMask())).logits());
        }
      }
    } finally {
      model.train(wasTraining);
    }
  }
}

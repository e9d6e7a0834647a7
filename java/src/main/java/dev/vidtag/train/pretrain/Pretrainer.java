package dev.vidtag.train.pretrain;

import dev.vidtag.data.Batch;
import dev.vidtag.data.BatchPlan;
import dev.vidtag.data.BertTokenizer;
import dev.vidtag.data.ConcatenatedSource;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.InputPipeline;
import dev.vidtag.data.InputPipeline.Mode;
import dev.vidtag.data.Loader;
import dev.vidtag.data.Seeds;
import dev.vidtag.data.SplitFeatures;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.VideoSampleSource;
import dev.vidtag.model.DoubleStreamModel;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.SingleStreamModel;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.LoadReport;
import dev.vidtag.model.weights.WeightFiles;
import dev.vidtag.train.LinearWarmupDecay;
import dev.vidtag.train.MetricsLog;
import dev.vidtag.train.ModelFactory;
import dev.vidtag.train.Progress;
import dev.vidtag.train.RunDirectory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pretraining (reference section 5) on the CPU: the chosen splits read together through the
 * loader (labels unused), the architecture's objectives ({@link PretrainingTask}), AdamW
 * (weight decay 0.01 except biases and LayerNorm weights, eps 1e-6) with warmup and linear
 * decay sized on the steps actually run ({@link PretrainingStep}), a checkpoint every N steps, at
 * each epoch end and at the last step, and {@code metrics.jsonl} with every loss term of every
 * step.
 *
 * <p>Run directory ({@link RunDirectory}): {@code options.json},
 * {@code checkpoints/step-NNNNNN/} ({@link PretrainCheckpoint}), {@code metrics.jsonl}.
 *
 * <p>Every random choice is a function of the seed and the step (masks, pairs, dropout: its
 * generator is reseeded before every step) or of the seed, epoch and sample (frame sampling,
 * batch order). A checkpoint holds the weights, the heads with the momentum encoders and queues,
 * AdamW's state and the step, so a run resumed from it ({@link #resuming}) computes what the
 * uninterrupted run would have.
 */
public final class Pretrainer {
  private static final Logger log = LoggerFactory.getLogger(Pretrainer.class);

  /** What a run did: steps taken, the last checkpoint, the last step's loss terms. */
  public record Result(long steps, Path lastCheckpoint, Map<String, Double> lastLoss,
      double seconds, long skippedSteps) {}

  private final PretrainOptions options;
  private final boolean resume;

  /** A new run; its directory must not hold a run yet. */
  public Pretrainer(PretrainOptions options) {
    this(options, false);
  }

  private Pretrainer(PretrainOptions options, boolean resume) {
    this.options = options;
    this.resume = resume;
  }

  /**
   * Continues the run in {@code run} from its newest checkpoint with the options it was started
   * with; {@code workers} may differ, since the batches do not depend on them.
   */
  public static Pretrainer resuming(Path run, int workers) {
    PretrainOptions o = readOptions(run);
    PretrainCheckpoint.resolve(run);
    return new Pretrainer(o.withOut(run).withWorkers(workers), true);
  }

  /** The options a run was started with ({@code RUN/options.json}). */
  public static PretrainOptions readOptions(Path run) {
    return RunDirectory.readOptions(run, PretrainOptions.class, "vidtag pretrain");
  }

  public Result run() {
    long start = System.nanoTime();
    PretrainOptions o = options;
    RunDirectory run = resume ? RunDirectory.existing(o.out()) : RunDirectory.create(o.out(), o);
    Dataset dataset = Dataset.at(o.data().directory());
    List<List<VideoAnnotation>> videos = new ArrayList<>();
    for (String split : o.data().splits()) {
      videos.add(dataset.annotations(split, false));
    }
    int size = videos.stream().mapToInt(List::size).sum();
    long stepsPerEpoch = size / o.optimization().batchSize();
    if (stepsPerEpoch == 0) {
      throw new IllegalArgumentException("only " + size + " videos in " + o.data().splits()
          + " for batches of " + o.optimization().batchSize());
    }
    long totalSteps = stepsPerEpoch * o.optimization().epochs();
    if (o.optimization().maxSteps() > 0) {
      totalSteps = Math.min(totalSteps, o.optimization().maxSteps());
    }
    log.info("pretraining {} on {} videos of {}: {} steps of {} ({} per epoch)",
        o.model().arch(), size, o.data().splits(), totalSteps, o.optimization().batchSize(),
        stepsPerEpoch);
    try (SplitFeatures features = SplitFeatures.open(dataset, o.data().splits());
         MetricsLog metrics = run.openMetrics();
         InputPipeline input = InputPipeline.open(config(features.dim()), o.model().textModel());
         PretrainingTask task = createTask(input);
         PretrainingStep training = new PretrainingStep(task, o.optimization().learningRate(),
             LinearWarmupDecay.withWarmupFraction(totalSteps,
                 o.optimization().warmupFraction()), o.seed())) {
      Checkpoints checkpoints = new Checkpoints(run, task, training);
      long step = resume ? checkpoints.restore(metrics) : 0;
      Progress progress = Progress.onStderr(totalSteps, step);
      task.model().train(true);
      task.heads().train(true);
      // every epoch has stepsPerEpoch batches (the last partial one is dropped), so the step
      // says where in which epoch the run stopped
      int firstEpoch = (int) (step / stepsPerEpoch);
      BatchPlan plan = BatchPlan.shuffled(size, o.optimization().batchSize(), o.seed(), true)
          .resumingAt(firstEpoch, (int) (step % stepsPerEpoch));
      Map<String, Double> lastLoss = Map.of();
      try (Loader loader = new Loader(source(input, videos, features), plan,
          input.collator(Mode.TRAINING), new Loader.Options(o.workers(), 4, o.seed()))) {
        for (int epoch = firstEpoch; epoch < o.optimization().epochs() && step < totalSteps;
            epoch++) {
          Loader.Epoch batches = loader.epoch(epoch);
          while (batches.hasNext() && step < totalSteps) {
            try (Batch batch = batches.next(); PointerScope scope = new PointerScope()) {
              lastLoss = training.run(new ModelInputs(batch.textIds(), batch.textMask(),
                  batch.frames(), batch.frameMask()),
                  new StepContext(Seeds.mix(o.seed(), -2, step), step, stepsPerEpoch));
              step++;
              double learningRate = training.optimizer().learningRate();
              metrics.record("pretrain", record(step, epoch, lastLoss, learningRate));
              progress.step(step, batch.size(), lastLoss.get("loss"), learningRate);
            }
            boolean epochEnd = !batches.hasNext() || step == totalSteps;
            long every = o.optimization().checkpointEvery();
            if ((every > 0 && step % every == 0) || epochEnd) {
              progress.interrupt();
              checkpoints.save(step, epoch, lastLoss);
            }
          }
        }
      }
      return new Result(step, checkpoints.last, lastLoss, (System.nanoTime() - start) / 1e9,
          training.optimizer().skipped());
    }
  }

  private ModelConfig config(int frameDim) {
    return ModelFactory.config(options.model().arch(), frameDim, options.data().maxFrames(),
        options.data().maxText(), Pooling.MEAN_MASKED,
        HuggingFaceBert.config(options.model().textModel()));
  }

  /** The splits read together, frames drawn at random as training reads them. */
  private static ConcatenatedSource source(InputPipeline input,
      List<List<VideoAnnotation>> videos, SplitFeatures features) {
    List<VideoSampleSource> parts = new ArrayList<>();
    for (int s = 0; s < videos.size(); s++) {
      parts.add(input.source(videos.get(s), features.get(s), Mode.TRAINING));
    }
    return new ConcatenatedSource(parts);
  }

  private static Map<String, Object> record(long step, int epoch, Map<String, Double> loss,
      double learningRate) {
    Map<String, Object> record = new LinkedHashMap<>();
    record.put("step", step);
    record.put("epoch", epoch);
    record.putAll(loss);
    record.put("lr", learningRate);
    return record;
  }

  /**
   * The model with its text encoder from the text model, and the architecture's objectives
   * around it; their initial weights depend on the seed alone.
   */
  private PretrainingTask createTask(InputPipeline input) {
    PretrainOptions o = options;
    ModelConfig config = input.config();
    PretrainOptions.Masking masking = o.masking();
    BertTokenizer tokenizer = input.tokenizer();
    MlmMasking textMasking = new MlmMasking(config.textEncoder().vocabSize(), tokenizer.maskId(),
        new int[] {tokenizer.clsId(), tokenizer.sepId(), tokenizer.padId()},
        masking.wholeWord() ? tokenizer.continuationPieces() : null, masking.ngram(),
        masking.mlmProbability());
    PretrainingTask task = ModelFactory.seeded(o.seed(), () -> {
      VideoClassifierModel model = VideoClassifierModel.create(config);
      ModelFactory.loadTextEncoder(model, o.model().textModel());
      return switch (o.model().arch()) {
        case SINGLE -> new SingleStreamPretraining((SingleStreamModel) model, textMasking,
            new MfmMasking(masking.mfmProbability()), o.weights());
        case DOUBLE -> new DoubleStreamPretraining((DoubleStreamModel) model, textMasking,
            o.contrastive());
      };
    });
    loadMlmHead(task);
    return task;
  }

  /** A Hugging Face pretraining checkpoint's {@code cls.predictions.*} start the MLM head. */
  private void loadMlmHead(PretrainingTask task) {
    Path weights = HuggingFaceBert.weightsFile(options.model().textModel());
    MlmHead head = task.mlmHead();
    boolean present = WeightFiles.shapes(weights, name -> name).keySet().stream()
        .anyMatch(name -> name.startsWith("cls.predictions.transform."));
    if (present) {
      LoadReport report = WeightFiles.loadInto(head, weights, name ->
          name.startsWith("cls.predictions.") && !name.startsWith("cls.predictions.decoder.")
              ? name.substring("cls.".length()) : null);
      log.info("masked-token head from {}: missing {}", weights, report.missing());
    }
    task.weightsLoaded();
  }

  /** The run's checkpoints: saved as it goes, the newest restored on resume. */
  private final class Checkpoints {
    private final RunDirectory run;
    private final PretrainingTask task;
    private final PretrainingStep training;
    Path last;

    Checkpoints(RunDirectory run, PretrainingTask task, PretrainingStep training) {
      this.run = run;
      this.task = task;
      this.training = training;
    }

    void save(long step, int epoch, Map<String, Double> loss) {
      Path dir = run.checkpoint(String.format(Locale.ROOT, "step-%06d", step));
      PretrainCheckpoint.save(dir, task, options.model().textModel(),
          new PretrainCheckpoint.Info(options.model().arch().configName(), step, epoch,
              options.data().splits(), loss, training.optimizer().skipped(),
              training.optimizer().consecutiveSkips()),
          training.optimizer().optimizer());
      log.info("step {}: checkpoint {}", step, dir);
      last = dir;
    }

    /** Loads the newest checkpoint into the task and the optimizer; returns its step. */
    long restore(MetricsLog metrics) {
      last = PretrainCheckpoint.resolve(run.path());
      PretrainCheckpoint.Info info = PretrainCheckpoint.loadInto(last, task);
      training.optimizer().restoreSkips(info.skippedSteps(), info.consecutiveSkips());
      PretrainCheckpoint.loadOptimizer(last, training.optimizer().optimizer());
      metrics.record("resume", Map.of("step", info.step(), "checkpoint",
          run.path().relativize(last).toString()));
      log.info("resuming {} after step {} from {}", run.path(), info.step(), last);
      return info.step();
    }
  }
}

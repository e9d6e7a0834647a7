package dev.vidtag.train;

import dev.vidtag.data.Batch;
import dev.vidtag.data.BatchPlan;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Collator;
import dev.vidtag.data.ConcatenatedSource;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.InputPipeline;
import dev.vidtag.data.InputPipeline.Mode;
import dev.vidtag.data.Loader;
import dev.vidtag.data.PseudoLabeledVideos;
import dev.vidtag.data.SampleSource;
import dev.vidtag.data.ValidationSplit;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.VideoSampleSource;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.CheckpointName;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.VideoClassifierModel;
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
 * Fine-tuning as the reference did it (reference solution, section 6), on the CPU: a seeded
 * train/validation split of the labeled videos, AdamW over the reference's parameter groups with
 * warmup and linear decay, an EMA of the weights updated after every step, FGM or PGD on the
 * word embeddings ({@link FineTuningStep}), and an evaluation with the EMA weights every N steps
 * from step M, each saved as a checkpoint named with its step and score, {@code best/} kept up
 * to date.
 *
 * <p>Run directory ({@link RunDirectory}): {@code checkpoints/step-NNNNNN-score-0.XXXX/} and
 * {@code best/} (model directories), {@code metrics.jsonl}, {@code options.json} and the
 * resumable {@code state/} ({@link TrainingState}).
 */
public final class Trainer {
  private static final Logger log = LoggerFactory.getLogger(Trainer.class);

  /**
   * The outcome of a run; {@code majorityBaseline} is the score of always predicting the
   * training part's most frequent class, on the same validation videos.
   */
  public record Result(long steps, OfficialScore bestScore, long bestStep, Path best,
      OfficialScore majorityBaseline, long skippedSteps, List<String> skippedPerturbations) {}

  private final TrainOptions options;
  private final boolean resume;
  private PretrainedInit.Transfer transfer;

  /** A new run; its directory must not hold a run yet. */
  public Trainer(TrainOptions options) {
    this(options, false);
  }

  private Trainer(TrainOptions options, boolean resume) {
    this.options = options;
    this.resume = resume;
  }

  /**
   * Continues the run in {@code run} from its last saved state, with the options it was started
   * with ({@code options.json}); {@code workers} may differ, since the batches do not depend on
   * it.
   */
  public static Trainer resuming(Path run, int workers) {
    if (!TrainingState.exists(run)) {
      throw new IllegalArgumentException(run + " holds no resumable run (its "
          + TrainingState.DIRECTORY + "/ is written by vidtag train)");
    }
    return new Trainer(readOptions(run).withOut(run).withWorkers(workers), true);
  }

  /** Where a run keeps the model of its best evaluation ({@code RUN/best/}). */
  public static Path bestModel(Path run) {
    return run.resolve(Checkpoints.BEST);
  }

  /** The options a run was started with ({@code RUN/options.json}). */
  public static TrainOptions readOptions(Path run) {
    return RunDirectory.readOptions(run, TrainOptions.class, "vidtag train");
  }

  /** What the options' {@code init} copied, once the run has started; null otherwise. */
  public PretrainedInit.Transfer transfer() {
    return transfer;
  }

  public Result run() {
    TrainOptions o = options;
    RunDirectory run = resume ? RunDirectory.existing(o.out()) : RunDirectory.create(o.out(), o);
    Dataset dataset = Dataset.at(o.data().directory());
    ValidationSplit split = o.validationSplit(dataset);
    if (o.data().folds() != null) {
      logFold(o.data(), split);
    }
    OfficialScore baseline = majorityBaseline(split, CategoryMap.official());
    PseudoLabeledVideos pseudo = pseudoLabeled(o.data(), dataset);
    int trainingVideos = split.training().size() + (pseudo == null ? 0 : pseudo.videos().size());
    int batchSize = o.optimization().batchSize();
    if (trainingVideos < batchSize) {
      throw new IllegalArgumentException("only " + trainingVideos
          + " training videos for batches of " + batchSize);
    }
    long totalSteps = (long) (trainingVideos / batchSize) * o.optimization().epochs();
    try (ZipFeatureStore features = dataset.openFeatures(Dataset.LABELED);
         ZipFeatureStore pseudoFeatures = pseudo == null ? null
             : dataset.openFeatures(pseudo.split());
         MetricsLog metrics = run.openMetrics();
         FineTuningStep step = new FineTuningStep(createModel(features.dim()), o,
             LinearWarmupDecay.withWarmupFraction(totalSteps, o.optimization().warmupFraction()));
         InputPipeline input = InputPipeline.open(step.model().config(), o.model().textModel())) {
      Checkpoints checkpoints = new Checkpoints(run, step, metrics,
          input.source(split.validation(), features, Mode.EVALUATION),
          input.collator(Mode.EVALUATION), totalSteps);
      TrainingState.Counters start = resume ? checkpoints.restore() : TrainingState.Counters.START;
      Progress progress = Progress.onStderr(totalSteps, start.step());
      BatchPlan plan = BatchPlan.shuffled(trainingVideos, batchSize, o.seed(), true)
          .resumingAt(start.epoch(), start.batchesDone());
      SampleSource training = input.source(split.training(), features, Mode.TRAINING);
      if (pseudo != null) {
        training = new ConcatenatedSource(List.of(training,
            input.source(pseudo.videos(), pseudoFeatures, Mode.TRAINING)));
      }
      long done = start.step();
      try (Loader loader = new Loader(training, plan, input.collator(Mode.TRAINING),
          new Loader.Options(o.workers(), 4, o.seed()))) {
        for (int epoch = start.epoch(); epoch < o.optimization().epochs(); epoch++) {
          Loader.Epoch batches = loader.epoch(epoch);
          int batchInEpoch = epoch == start.epoch() ? start.batchesDone() : 0;
          while (batches.hasNext()) {
            try (Batch batch = batches.next(); PointerScope scope = new PointerScope()) {
              double loss = step.run(batch, ++done, epoch);
              progress.step(done, batch.size(), loss, step.optimizer().learningRate());
              checkpoints.afterStep(done, epoch, ++batchInEpoch, loss, progress);
            }
          }
        }
      }
      return new Result(done, checkpoints.bestScore, checkpoints.bestStep,
          bestModel(run.path()), baseline, step.optimizer().skipped(),
          step.skippedPerturbations());
    }
  }

  /**
   * The pseudo-labeled videos the run trains on beside the labeled training part, or null; the
   * labels must be of another split of the run's dataset.
   */
  private static PseudoLabeledVideos pseudoLabeled(TrainOptions.Data data, Dataset dataset) {
    if (data.pseudo() == null) {
      return null;
    }
    double minConfidence = data.pseudoMinConfidence() == null ? 0 : data.pseudoMinConfidence();
    PseudoLabeledVideos pseudo = PseudoLabeledVideos.read(data.pseudo(), dataset, minConfidence);
    log.info("{} of the {} pseudo-labeled videos of split {} train with their hard labels "
        + "(confidence at least {})", pseudo.videos().size(), pseudo.total(), pseudo.split(),
        minConfidence);
    return pseudo;
  }

  /** A model seeded by the run, its text encoder from the text model or the init checkpoint. */
  private VideoClassifierModel createModel(int frameDim) {
    TrainOptions.Model m = options.model();
    BertConfig text = m.init() != null ? PretrainedInit.textEncoder(m.init())
        : HuggingFaceBert.config(m.textModel());
    ModelConfig config = ModelFactory.config(m.arch(), frameDim, options.data().maxFrames(),
        options.data().maxText(), m.pooling(), text);
    if (m.dropout() != null) {
      config = config.withDropout(m.dropout());
    }
    VideoClassifierModel model = ModelFactory.create(config, options.seed());
    if (m.init() != null) {
      transfer = PretrainedInit.apply(model, m.init());
      log.info(transfer.describe());
    } else {
      ModelFactory.loadTextEncoder(model, m.textModel());
    }
    return model;
  }

  private static void logFold(TrainOptions.Data data, ValidationSplit split) {
    List<VideoAnnotation> labeled = new ArrayList<>(split.training());
    labeled.addAll(split.validation());
    int rare = ValidationSplit.classesBelow(labeled, data.folds(), CategoryMap.official()::lv2Of);
    log.info("fold {} of {} validates{}", data.fold(), data.folds(), rare == 0 ? ""
        : "; " + rare + " classes have fewer labeled videos than folds and are missing from "
            + "some folds' validation");
  }

  /** Logs the split and returns the score of always predicting its most frequent class. */
  private static OfficialScore majorityBaseline(ValidationSplit split, CategoryMap categories) {
    log.info("{} labeled videos: {} for training, {} for validation",
        split.training().size() + split.validation().size(), split.training().size(),
        split.validation().size());
    OfficialScore score = OfficialScore.majorityBaseline(categories.lv2Counts(split.training()),
        split.validation().stream().mapToInt(categories::lv2Of).toArray(), categories);
    log.info("always predicting the most frequent training class scores mean F1 {} on "
        + "validation", format(score.mean()));
    return score;
  }

  /**
   * What a run saves as it goes: a line of metrics every ten steps, an evaluation with the EMA
   * weights and a checkpoint at the evaluation steps (and the best so far as {@code best/}), the
   * resumable state at those and every {@code stateEvery} steps.
   */
  private final class Checkpoints {
    static final String BEST = "best";
    private final RunDirectory run;
    private final FineTuningStep step;
    private final MetricsLog metrics;
    private final VideoSampleSource validation;
    private final Collator collator;
    private final long totalSteps;
    OfficialScore bestScore;
    long bestStep = -1;

    Checkpoints(RunDirectory run, FineTuningStep step, MetricsLog metrics,
        VideoSampleSource validation, Collator collator, long totalSteps) {
      this.run = run;
      this.step = step;
      this.metrics = metrics;
      this.validation = validation;
      this.collator = collator;
      this.totalSteps = totalSteps;
    }

    /** After step {@code done}, the {@code batchesDone}-th of {@code epoch}. */
    void afterStep(long done, int epoch, int batchesDone, double loss, Progress progress) {
      if (done % 10 == 0 || done == totalSteps) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("step", done);
        record.put("epoch", epoch);
        record.put("loss", loss);
        record.put("lr", step.optimizer().learningRate());
        metrics.record("step", record);
      }
      TrainOptions.Evaluation evaluation = options.evaluation();
      if ((done >= evaluation.from() && done % evaluation.every() == 0) || done == totalSteps) {
        progress.interrupt();
        step.ema().withAveragedWeights(() -> evaluateAndSave(done));
        saveState(done, epoch, batchesDone);
      } else if (done % evaluation.stateEvery() == 0) {
        saveState(done, epoch, batchesDone);
      }
    }

    /** Scores the weights in the model (the EMA's) and saves them as a checkpoint. */
    private void evaluateAndSave(long done) {
      OfficialScore score = Validation.score(step.model(), validation, collator,
          CategoryMap.official(), options.optimization().batchSize(), options.workers());
      Map<String, Object> record = new LinkedHashMap<>();
      record.put("step", done);
      record.putAll(score.toMap());
      metrics.record("eval", record);
      Path textModel = options.model().textModel();
      ModelDirectory.save(run.checkpoint(new CheckpointName(done, score.mean()).format()),
          step.model(), textModel);
      boolean best = bestScore == null || score.mean() > bestScore.mean();
      log.info("step {}: mean F1 {} (lv1 {} / {}, lv2 {} / {}){}", done, format(score.mean()),
          format(score.lv1MicroF1()), format(score.lv1MacroF1()), format(score.lv2MicroF1()),
          format(score.lv2MacroF1()), best ? ", best so far" : "");
      if (best) {
        bestScore = score;
        bestStep = done;
        ModelDirectory.save(bestModel(run.path()), step.model(), textModel);
      }
    }

    private void saveState(long done, int epoch, int batchesDone) {
      step.saveState(run.path(), new TrainingState.Counters(done, epoch, batchesDone, bestStep,
          bestScore, step.optimizer().skipped(), step.optimizer().consecutiveSkips()));
    }

    /** Loads the saved state into the step; returns its counters. */
    TrainingState.Counters restore() {
      TrainingState.Counters counters = step.restoreState(run.path());
      bestStep = counters.bestStep();
      bestScore = counters.bestScore();
      metrics.record("resume", Map.of("step", counters.step()));
      log.info("resuming {} after step {} (epoch {}, batch {})", run.path(), counters.step(),
          counters.epoch(), counters.batchesDone());
      return counters;
    }
  }

  private static String format(double value) {
    return String.format(Locale.ROOT, "%.4f", value);
  }
}

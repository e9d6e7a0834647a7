package dev.vidtag.train.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.data.AnnotationReader;
import dev.vidtag.data.Batch;
import dev.vidtag.data.BatchPlan;
import dev.vidtag.data.BertTokenizer;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Collator;
import dev.vidtag.data.ConcatenatedSource;
import dev.vidtag.io.DataException;
import dev.vidtag.data.FrameSampler;
import dev.vidtag.data.Loader;
import dev.vidtag.data.Seeds;
import dev.vidtag.data.TextRule;
import dev.vidtag.data.VideoSampleSource;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.DecoderConfig;
import dev.vidtag.model.DoubleStreamModel;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.SingleStreamModel;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.LoadReport;
import dev.vidtag.model.weights.WeightFiles;
import dev.vidtag.train.LinearWarmupDecay;
import dev.vidtag.train.MetricsLog;
import dev.vidtag.train.Progress;
import dev.vidtag.train.RunOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pretraining (reference section 5) on the CPU: the chosen splits read together through the
 * loader (labels unused), the architecture's objectives ({@link PretrainingTask}), AdamW
 * (weight decay 0.01 except biases and LayerNorm weights, eps 1e-6) with warmup and linear
 * decay sized on the steps actually run, a checkpoint every N steps, at each epoch end and at
 * the last step, and {@code metrics.jsonl} with every loss term of every step.
 *
 * <p>Run directory: {@code options.json} (the options it was started with),
 * {@code checkpoints/step-NNNNNN/} ({@link PretrainCheckpoint}), {@code metrics.jsonl}.
 *
 * <p>Every random choice is a function of the seed and the step (masks, pairs, dropout: the
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

  private static final long DROPOUT_STREAM = 0x64726f70L;
  private static final ObjectMapper JSON = new ObjectMapper();

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
   * with; {@code loaderWorkers} may differ, since the batches do not depend on it.
   */
  public static Pretrainer resuming(Path run, int loaderWorkers) {
    PretrainOptions o = readOptions(run);
    PretrainCheckpoint.resolve(run);
    return new Pretrainer(new PretrainOptions(o.data(), o.arch(), o.textModel(), run, o.splits(),
        o.epochs(), o.maxSteps(), o.batchSize(), o.maxFrames(), o.maxText(), o.learningRate(),
        o.warmupFraction(), o.checkpointEvery(), o.seed(), loaderWorkers, o.weights(),
        o.mlmProbability(), o.wholeWord(), o.ngram(), o.mfmProbability(), o.contrastive()),
        true);
  }

  /** The options a run was started with ({@code RUN/options.json}). */
  public static PretrainOptions readOptions(Path run) {
    return RunOptions.read(run, PretrainOptions.class, "vidtag pretrain");
  }

  public Result run() {
    PretrainOptions o = options;
    long start = System.nanoTime();
    if (!resume) {
      startRun();
    }
    List<ZipFeatureStore> stores = new ArrayList<>();
    try (BertTokenizer tokenizer = BertTokenizer.fromModelDirectory(o.textModel());
         MetricsLog metrics = new MetricsLog(o.out().resolve("metrics.jsonl"))) {
      ConcatenatedSource source = openSplits(tokenizer, stores);
      int frameDim = stores.get(0).dim();
      long stepsPerEpoch = source.size() / o.batchSize();
      if (stepsPerEpoch == 0) {
        throw new IllegalArgumentException("only " + source.size() + " videos in "
            + o.splits() + " for batches of " + o.batchSize());
      }
      long totalSteps = stepsPerEpoch * o.epochs();
      if (o.maxSteps() > 0) {
        totalSteps = Math.min(totalSteps, o.maxSteps());
      }
      log.info("pretraining {} on {} videos of {}: {} steps of {} ({} per epoch)", o.arch(),
          source.size(), o.splits(), totalSteps, o.batchSize(), stepsPerEpoch);

      PretrainingTask task = createTask(frameDim, tokenizer);
      Collator collator = new Collator(Collator.Padding.FIXED, o.maxText(), o.maxFrames(),
          tokenizer.padId());
      PretrainingStep training;
      long step = 0;
      Path lastCheckpoint = null;
      if (resume) {
        lastCheckpoint = PretrainCheckpoint.resolve(o.out());
        Restored restored = restore(lastCheckpoint, task);
        training = new PretrainingStep(task, o.learningRate(), restored.skippedSteps(),
            restored.consecutiveSkips());
        PretrainCheckpoint.loadOptimizer(lastCheckpoint, training.optimizer());
        step = restored.step();
        metrics.record("resume", Map.of("step", step, "checkpoint",
            o.out().relativize(lastCheckpoint).toString()));
        log.info("resuming {} after step {} from {}", o.out(), step, lastCheckpoint);
      } else {
        training = new PretrainingStep(task, o.learningRate());
      }
      LinearWarmupDecay schedule = LinearWarmupDecay.withWarmupFraction(totalSteps,
          o.warmupFraction());
      Progress progress = Progress.onStderr(totalSteps, step);
      Map<String, Double> lastLoss = Map.of();
      task.model().train(true);
      task.heads().train(true);
      // every epoch has stepsPerEpoch batches (the last partial one is dropped), so the step
      // says where in which epoch the run stopped
      int firstEpoch = (int) (step / stepsPerEpoch);
      int batchesDone = (int) (step % stepsPerEpoch);
      BatchPlan order = BatchPlan.shuffled(source.size(), o.batchSize(), o.seed(), true);
      BatchPlan rest = epoch -> {
        List<int[]> batches = order.batches(epoch);
        return epoch == firstEpoch ? batches.subList(batchesDone, batches.size()) : batches;
      };
      try (Loader loader = new Loader(source, rest, collator,
          new Loader.Options(o.workers(), 4, o.seed()))) {
        for (int epoch = firstEpoch; epoch < o.epochs() && step < totalSteps; epoch++) {
          Loader.Epoch batches = loader.epoch(epoch);
          while (batches.hasNext() && step < totalSteps) {
            try (Batch batch = batches.next(); PointerScope scope = new PointerScope()) {
              // dropout draws from the default generator: seeded by the step, a resumed run
              // draws what the uninterrupted one did
              torch.manual_seed(Seeds.mix(o.seed(), step + 1, DROPOUT_STREAM));
              double factor = schedule.factor(step);
              double learningRate = o.learningRate() * factor;
              lastLoss = training.run(new ModelInputs(batch.textIds(), batch.textMask(),
                  batch.frames(), batch.frameMask()),
                  new StepContext(Seeds.mix(o.seed(), -2, step), step, stepsPerEpoch), factor);
              step++;
              Map<String, Object> record = new LinkedHashMap<>();
              record.put("step", step);
              record.put("epoch", epoch);
              record.putAll(lastLoss);
              record.put("lr", learningRate);
              metrics.record("pretrain", record);
              progress.step(step, batch.size(), lastLoss.get("loss"), learningRate);
            }
            boolean epochEnd = !batches.hasNext() || step == totalSteps;
            if ((o.checkpointEvery() > 0 && step % o.checkpointEvery() == 0) || epochEnd) {
              progress.interrupt();
              lastCheckpoint = saveCheckpoint(task, training, step, epoch, lastLoss);
            }
          }
        }
      } finally {
        training.close();
        task.close();
        for (ZipFeatureStore store : stores) {
          store.close();
        }
      }
      return new Result(step, lastCheckpoint, lastLoss, (System.nanoTime() - start) / 1e9,
          training.skipped());
    }
  }

  private void startRun() {
    Path out = options.out();
    if (Files.exists(out.resolve(RunOptions.FILE)) || Files.isDirectory(out.resolve("checkpoints"))
        || Files.exists(out.resolve("metrics.jsonl"))) {
      throw new IllegalArgumentException(out + " already holds a run; choose another --out, "
          + "or continue it with --resume");
    }
    RunOptions.write(out, options);
  }

  /** Where a checkpoint left the run: its step and the non-finite guard's counts. */
  private record Restored(long step, long skippedSteps, int consecutiveSkips) {}

  /**
   * Loads a checkpoint's weights and heads (momentum encoders and queues included, so they are
   * not reset from the live weights) into a freshly built task.
   */
  private static Restored restore(Path checkpoint, PretrainingTask task) {
    Path weights = checkpoint.resolve(ModelDirectory.WEIGHTS);
    WeightFiles.loadInto(task.model(), weights, name -> name).requireComplete(weights);
    Path heads = checkpoint.resolve(PretrainCheckpoint.HEADS);
    WeightFiles.loadInto(task.heads(), heads, name -> name).requireComplete(heads);
    Path info = checkpoint.resolve(PretrainCheckpoint.INFO);
    try {
      JsonNode node = JSON.readTree(info.toFile());
      if (node == null || !node.path("step").canConvertToLong()) {
        throw DataException.at(info, null, "step", "missing");
      }
      return new Restored(node.get("step").asLong(), node.path("skipped_steps").asLong(0),
          node.path("consecutive_skips").asInt(0));
    } catch (IOException e) {
      throw DataException.at(info, null, null, "unreadable: " + e.getMessage());
    }
  }

  private ConcatenatedSource openSplits(BertTokenizer tokenizer, List<ZipFeatureStore> stores) {
    PretrainOptions o = options;
    FrameSampler sampler = new FrameSampler(o.maxFrames());
    TextRule rule = TextRule.reference(o.maxText());
    CategoryMap categories = CategoryMap.official();
    List<VideoSampleSource> parts = new ArrayList<>();
    for (String split : o.splits()) {
      Path annotations = o.data().resolve("annotations").resolve(split + ".json");
      Path features = o.data().resolve("zip_feats").resolve(split + ".zip");
      if (!Files.isRegularFile(annotations) || !Files.isRegularFile(features)) {
        throw DataException.at(o.data(), null, null, "split '" + split + "' needs "
            + o.data().relativize(annotations) + " and " + o.data().relativize(features));
      }
      ZipFeatureStore store = ZipFeatureStore.open(features, ZipFeatureStore.MissingPolicy.EMPTY);
      stores.add(store);
      if (store.dim() != stores.get(0).dim()) {
        throw DataException.at(features, null, "frames", "features are " + store.dim()
            + " wide but the first split's are " + stores.get(0).dim());
      }
      parts.add(new VideoSampleSource(AnnotationReader.readAll(annotations, false), store, rule,
          tokenizer, categories, (stored, seed) -> sampler.random(stored, new Random(seed))));
    }
    return new ConcatenatedSource(parts);
  }

  private PretrainingTask createTask(int frameDim, BertTokenizer tokenizer) {
    PretrainOptions o = options;
    BertConfig text = HuggingFaceBert.config(o.textModel());
    if (tokenizer.vocabularySize() > text.vocabSize()) {
      throw new IllegalArgumentException("the tokenizer of " + o.textModel() + " has "
          + tokenizer.vocabularySize() + " ids but the encoder only " + text.vocabSize());
    }
    ModelConfig config = new ModelConfig(o.arch(), CategoryMap.official().size(), frameDim,
        o.maxFrames(), o.maxText(), Pooling.MEAN_MASKED,
        o.arch() == Architecture.DOUBLE ? DecoderConfig.referenceFor(text) : null, text);
    torch.manual_seed(o.seed());
    VideoClassifierModel model = VideoClassifierModel.create(config);
    LoadReport report = HuggingFaceBert.loadInto(model.bert(), o.textModel());
    log.info("text encoder from {}: missing {}, unused {}", o.textModel(), report.missing(),
        report.unexpected());
    MlmMasking textMasking = new MlmMasking(text.vocabSize(), tokenizer.maskId(),
        new int[] {tokenizer.clsId(), tokenizer.sepId(), tokenizer.padId()},
        o.wholeWord() ? tokenizer.continuationPieces() : null, o.ngram(), o.mlmProbability());
    PretrainingTask task = switch (o.arch()) {
      case SINGLE -> new SingleStreamPretraining((SingleStreamModel) model, textMasking,
          new MfmMasking(o.mfmProbability()), o.weights());
      case DOUBLE -> {
        if (o.batchSize() > o.contrastive().queueSize()) {
          throw new IllegalArgumentException("the queue (" + o.contrastive().queueSize()
              + ") must hold at least a batch (" + o.batchSize() + ")");
        }
        yield new DoubleStreamPretraining((DoubleStreamModel) model, textMasking,
            o.contrastive());
      }
    };
    loadMlmHead(task);
    return task;
  }

  /** A Hugging Face pretraining checkpoint's {@code cls.predictions.*} start the MLM head. */
  private void loadMlmHead(PretrainingTask task) {
    Path weights = HuggingFaceBert.weightsFile(options.textModel());
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

  private Path saveCheckpoint(PretrainingTask task, PretrainingStep training, long step,
      int epoch, Map<String, Double> loss) {
    Path dir = options.out().resolve("checkpoints")
        .resolve(String.format(Locale.ROOT, "step-%06d", step));
    Map<String, Object> info = new LinkedHashMap<>();
    info.put("arch", options.arch().configName());
    info.put("step", step);
    info.put("epoch", epoch);
    info.put("splits", options.splits());
    info.put("loss", loss);
    info.put("skipped_steps", training.skipped());
    info.put("consecutive_skips", training.consecutiveSkips());
    PretrainCheckpoint.save(dir, task, options.textModel(), info, training.optimizer());
    log.info("step {}: checkpoint {}", step, dir);
    return dir;
  }
}

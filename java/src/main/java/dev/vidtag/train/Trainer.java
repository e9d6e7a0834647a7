package dev.vidtag.train;

import dev.vidtag.data.AnnotationReader;
import dev.vidtag.data.Batch;
import dev.vidtag.data.BatchPlan;
import dev.vidtag.data.BertTokenizer;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Collator;
import dev.vidtag.data.FrameSampler;
import dev.vidtag.data.Loader;
import dev.vidtag.data.Seeds;
import dev.vidtag.data.TextRule;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.VideoSampleSource;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.kernels.TensorList;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.DecoderConfig;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.LoadReport;
import dev.vidtag.model.weights.StateDicts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fine-tuning as the reference did it (reference solution, section 6), on the CPU: a seeded
 * train/validation split of the labeled videos, AdamW over the reference's parameter groups with
 * warmup and linear decay, an EMA of the weights updated after every step, FGM or PGD on the
 * word embeddings, and an evaluation with the EMA weights every N steps from step M, each saved
 * as a checkpoint named with its step and score, {@code best/} kept up to date.
 *
 * <p>Run directory: {@code checkpoints/step-NNNNNN-score-0.XXXX/} and {@code best/} (model
 * directories), {@code metrics.jsonl}.
 */
public final class Trainer {
  private static final Logger log = LoggerFactory.getLogger(Trainer.class);
  static final String WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight";
  private static final int MAX_CONSECUTIVE_SKIPS = 20;
  private static final long DROPOUT_STREAM = 0x64726f70L;

  /** Adversarial training on the word embeddings. */
  public enum AdversaryKind { NONE, FGM, PGD }

  /**
   * Everything a run is configured by; {@link #defaults} gives the reference's values.
   * {@code init}, when not null, is a pretraining checkpoint (or run) whose encoder, frame
   * projection and decoder start the model ({@link PretrainedInit}); {@code textModel} then
   * names the checkpoint's tokenizer files.
   */
  public record Options(Path data, Architecture arch, Path textModel, Path out, int epochs,
      int batchSize, int maxFrames, int maxText, ParameterGroups.LearningRates learningRates,
      double warmupFraction, double emaDecay, AdversaryKind adversary, int adversaryFromEpoch,
      int pgdSteps, double pgdEpsilon, double pgdAlpha, double fgmEpsilon, long evalEvery,
      long evalFrom, double valRatio, long seed, int loaderWorkers, double clipGradNorm,
      Pooling pooling, long stateEvery, Path init) {

    public static Options defaults(Path data, Architecture arch, Path textModel, Path out) {
      return new Options(data, arch, textModel, out, 5, 32, 14, 258,
          ParameterGroups.LearningRates.REFERENCE, 0.06, 0.995, AdversaryKind.PGD, 0, 3, 1.0, 0.3,
          0.75, 500, 3000, 0.1, 2022, 1, 0.0, Pooling.MEAN_MASKED, 500, null);
    }

    public Options {
      requirePositive("epochs", epochs);
      requirePositive("batch size", batchSize);
      requirePositive("max frames", maxFrames);
      if (maxText < 3) {
        throw new IllegalArgumentException("max text must be at least 3, got " + maxText);
      }
      requirePositive("eval every", evalEvery);
      requirePositive("state every", stateEvery);
      if (!(valRatio > 0 && valRatio < 1)) {
        throw new IllegalArgumentException("validation ratio must be in (0, 1), got " + valRatio);
      }
      if (clipGradNorm < 0) {
        throw new IllegalArgumentException("gradient clipping norm must be >= 0 (0 = off)");
      }
    }

    private static void requirePositive(String name, long value) {
      if (value < 1) {
        throw new IllegalArgumentException(name + " must be at least 1, got " + value);
      }
    }
  }

  /**
   * The outcome of a run; {@code majorityBaseline} is the score of always predicting the
   * training part's most frequent class, on the same validation videos.
   */
  public record Result(long steps, OfficialScore bestScore, long bestStep, Path best,
      OfficialScore majorityBaseline, long skippedSteps, List<String> skippedPerturbations) {}

  private PretrainedInit.Transfer transfer;

  private final Options options;
  private final boolean resume;

  /** A new run; its directory must not hold a run yet. */
  public Trainer(Options options) {
    this(options, false);
  }

  private Trainer(Options options, boolean resume) {
    this.options = options;
    this.resume = resume;
  }

  /**
   * Continues the run in {@code run} from its last saved state, with the options it was started
   * with ({@code options.json}); {@code loaderWorkers} may differ, since the batches do not
   * depend on it.
   */
  public static Trainer resuming(Path run, int loaderWorkers) {
    if (!TrainingState.exists(run)) {
      throw new IllegalArgumentException(run + " holds no resumable run (its "
          + TrainingState.DIRECTORY + "/ is written by vidtag train)");
    }
    Options o = readOptions(run);
    return new Trainer(new Options(o.data(), o.arch(), o.textModel(), run, o.epochs(),
        o.batchSize(), o.maxFrames(), o.maxText(), o.learningRates(), o.warmupFraction(),
        o.emaDecay(), o.adversary(), o.adversaryFromEpoch(), o.pgdSteps(), o.pgdEpsilon(),
        o.pgdAlpha(), o.fgmEpsilon(), o.evalEvery(), o.evalFrom(), o.valRatio(), o.seed(),
        loaderWorkers, o.clipGradNorm(), o.pooling(), o.stateEvery(), o.init()), true);
  }

  /** The options a run was started with ({@code RUN/options.json}). */
  public static Options readOptions(Path run) {
    return RunOptions.read(run, Options.class, "vidtag train");
  }

  /** What {@link Options#init} copied, once the run has started; null otherwise. */
  public PretrainedInit.Transfer transfer() {
    return transfer;
  }

  public Result run() {
    Options o = options;
    if (!resume) {
      if (Files.exists(o.out().resolve(RunOptions.FILE))
          || Files.exists(o.out().resolve("metrics.jsonl"))) {
        throw new IllegalArgumentException(o.out() + " already holds a run; choose another --out, "
            + "or continue it with --resume");
      }
      RunOptions.write(o.out(), o);
    }
    CategoryMap categories = CategoryMap.official();
    List<VideoAnnotation> labeled =
        AnnotationReader.readAll(o.data().resolve("annotations/labeled.json"), true);
    List<List<VideoAnnotation>> split = split(labeled, o.valRatio(), o.seed());
    List<VideoAnnotation> train = split.get(0);
    List<VideoAnnotation> validation = split.get(1);
    log.info("{} labeled videos: {} for training, {} for validation", labeled.size(),
        train.size(), validation.size());
    OfficialScore baseline = majorityBaseline(train, validation, categories);
    log.info("always predicting the most frequent training class scores mean F1 {} on validation",
        format(baseline.mean()));
    if (train.size() < o.batchSize()) {
      throw new IllegalArgumentException("only " + train.size() + " training videos for batches of "
          + o.batchSize());
    }

    FrameSampler sampler = new FrameSampler(o.maxFrames());
    try (BertTokenizer tokenizer = BertTokenizer.fromModelDirectory(o.textModel());
         ZipFeatureStore features = ZipFeatureStore.open(
             o.data().resolve("zip_feats/labeled.zip"), ZipFeatureStore.MissingPolicy.EMPTY);
         MetricsLog metrics = new MetricsLog(o.out().resolve("metrics.jsonl"))) {
      TextRule rule = TextRule.reference(o.maxText());
      VideoSampleSource trainSource = new VideoSampleSource(train, features, rule, tokenizer,
          categories, (stored, seed) -> sampler.random(stored, new Random(seed)));
      VideoSampleSource validationSource = new VideoSampleSource(validation, features, rule,
          tokenizer, categories, (stored, seed) -> sampler.uniform(stored));
      Collator collator = new Collator(Collator.Padding.FIXED, o.maxText(), o.maxFrames(),
          tokenizer.padId());

      VideoClassifierModel model = createModel(features.dim());
      Run run = new Run(model, metrics, validationSource, collator, categories);
      TrainingState.Counters resumed = resume ? run.restore() : null;
      int firstEpoch = resumed == null ? 0 : resumed.epoch();
      int batchesDone = resumed == null ? 0 : resumed.batchesDone();
      long stepsPerEpoch = train.size() / o.batchSize();
      long totalSteps = stepsPerEpoch * o.epochs();
      LinearWarmupDecay schedule = LinearWarmupDecay.withWarmupFraction(totalSteps,
          o.warmupFraction());
      Progress progress = Progress.onStderr(totalSteps, run.step);
      BatchPlan order = BatchPlan.shuffled(train.size(), o.batchSize(), o.seed(), true);
      BatchPlan rest = epoch -> {
        List<int[]> batches = order.batches(epoch);
        return epoch == firstEpoch ? batches.subList(batchesDone, batches.size()) : batches;
      };
      try (Loader loader = new Loader(trainSource, rest, collator,
          new Loader.Options(o.loaderWorkers(), 4, o.seed()))) {
        for (int epoch = firstEpoch; epoch < o.epochs(); epoch++) {
          Loader.Epoch batches = loader.epoch(epoch);
          int batchInEpoch = epoch == firstEpoch ? batchesDone : 0;
          while (batches.hasNext()) {
            try (Batch batch = batches.next(); PointerScope scope = new PointerScope()) {
              double loss = run.step(batch, schedule, epoch);
              batchInEpoch++;
              progress.step(run.step, batch.size(), loss, run.learningRate);
              if (run.step % 10 == 0 || run.step == totalSteps) {
                metrics.record("step", Map.of("step", run.step, "epoch", epoch, "loss", loss,
                    "lr", run.learningRate));
              }
              if ((run.step >= o.evalFrom() && run.step % o.evalEvery() == 0)
                  || run.step == totalSteps) {
                progress.interrupt();
                run.evaluateAndSave();
                run.saveState(epoch, batchInEpoch);
              } else if (run.step % o.stateEvery() == 0) {
                run.saveState(epoch, batchInEpoch);
              }
            }
          }
        }
      }
      run.close();
      return new Result(run.step, run.bestScore, run.bestStep, o.out().resolve("best"), baseline,
          run.guard.skipped(), List.copyOf(run.skippedPerturbations));
    }
  }

  private VideoClassifierModel createModel(int frameDim) {
    Options o = options;
    Path init = o.init();
    BertConfig text = init != null ? PretrainedInit.textEncoder(init)
        : HuggingFaceBert.config(o.textModel());
    ModelConfig config = new ModelConfig(o.arch(), CategoryMap.official().size(), frameDim,
        o.maxFrames(), o.maxText(), o.pooling(),
        o.arch() == Architecture.DOUBLE ? DecoderConfig.referenceFor(text) : null, text);
    torch.manual_seed(o.seed());
    VideoClassifierModel model = VideoClassifierModel.create(config);
    if (init != null) {
      transfer = PretrainedInit.apply(model, init);
      log.info(transfer.describe());
      return model;
    }
    LoadReport report = HuggingFaceBert.loadInto(model.bert(), o.textModel());
    log.info("text encoder from {}: missing {}, unused {}", o.textModel(), report.missing(),
        report.unexpected());
    return model;
  }

  static OfficialScore majorityBaseline(List<VideoAnnotation> train,
      List<VideoAnnotation> validation, CategoryMap categories) {
    int[] counts = new int[categories.size()];
    for (VideoAnnotation video : train) {
      counts[lv2(video, categories)]++;
    }
    int majority = 0;
    for (int c = 1; c < counts.length; c++) {
      majority = counts[c] > counts[majority] ? c : majority;
    }
    int[] truth = new int[validation.size()];
    int[] predicted = new int[validation.size()];
    for (int i = 0; i < truth.length; i++) {
      truth[i] = lv2(validation.get(i), categories);
      predicted[i] = majority;
    }
    return OfficialScore.of(truth, predicted, categories);
  }

  private static int lv2(VideoAnnotation video, CategoryMap categories) {
    return categories.lv2Index(video.categoryId().orElseThrow()).getAsInt();
  }

  /**
   * The seeded split: a shuffled copy cut at round(ratio * n) validation videos; returns the
   * training part, then the validation part. The same videos, ratio and seed give the same split
   * (what a tail adjustment is fitted on after training).
   */
  public static List<List<VideoAnnotation>> split(List<VideoAnnotation> videos, double valRatio,
      long seed) {
    List<VideoAnnotation> shuffled = new ArrayList<>(videos);
    Collections.shuffle(shuffled, new Random(seed));
    int validation = (int) Math.round(valRatio * videos.size());
    return List.of(shuffled.subList(validation, shuffled.size()),
        shuffled.subList(0, validation));
  }

  /** The state of one run: model, optimizer, EMA, adversary, counters. */
  private final class Run implements AutoCloseable {
    final VideoClassifierModel model;
    final MetricsLog metrics;
    final VideoSampleSource validation;
    final Collator collator;
    final CategoryMap categories;
    final List<String> allNames = new ArrayList<>();
    final List<Tensor> all = new ArrayList<>();
    final List<String> names = new ArrayList<>();
    final List<Tensor> parameters = new ArrayList<>();
    final TensorList trained;
    final List<ParameterGroups.Group> groups;
    final AdamW optimizer;
    final ExponentialMovingAverage ema;
    final Adversary adversary;
    NonFiniteGuard guard = new NonFiniteGuard(MAX_CONSECUTIVE_SKIPS);
    final List<String> skippedPerturbations = new ArrayList<>();
    long step;
    double learningRate;
    OfficialScore bestScore;
    long bestStep = -1;

    Run(VideoClassifierModel model, MetricsLog metrics, VideoSampleSource validation,
        Collator collator, CategoryMap categories) {
      this.model = model;
      this.metrics = metrics;
      this.validation = validation;
      this.collator = collator;
      this.categories = categories;
      for (Map.Entry<String, Tensor> entry : StateDicts.parameters(model).entrySet()) {
        String name = entry.getKey();
        Tensor parameter = entry.getValue();
        allNames.add(name);
        all.add(parameter);
        // the BERT pooler feeds no output of these classifiers: it would never get a gradient
        if (name.startsWith("bert.pooler.")) {
          parameter.set_requires_grad(false);
        } else {
          names.add(name);
          parameters.add(parameter);
        }
      }
      trained = TensorList.of("parameters", names, parameters);
      groups = ParameterGroups.of(names, parameters, options.learningRates(), 0.01);
      optimizer = ParameterGroups.adamW(groups, 1e-6);
      ema = new ExponentialMovingAverage(allNames, all, options.emaDecay());
      Tensor words = parameters.get(names.indexOf(WORD_EMBEDDINGS));
      adversary = switch (options.adversary()) {
        case NONE -> Adversary.NONE;
        case FGM -> new Fgm(List.of(WORD_EMBEDDINGS), List.of(words), options.fgmEpsilon());
        case PGD -> new Pgd(names, parameters, List.of(WORD_EMBEDDINGS), List.of(words),
            options.pgdSteps(), options.pgdEpsilon(), options.pgdAlpha());
      };
      model.train(true);
    }

    /** One optimizer step on a batch; returns the clean loss. */
    double step(Batch batch, LinearWarmupDecay schedule, int epoch) {
      // dropout draws from a generator seeded by the step, so a resumed run draws the same
      torch.manual_seed(Seeds.mix(options.seed(), step + 1, DROPOUT_STREAM));
      double factor = schedule.factor(step);
      ParameterGroups.setLearningRates(optimizer, groups, factor);
      learningRate = groups.get(0).learningRate() * factor;
      ModelInputs inputs = new ModelInputs(batch.textIds(), batch.textMask(), batch.frames(),
          batch.frameMask());
      Runnable forwardBackward = () -> loss(inputs, batch.labels()).backward();
      optimizer.zero_grad(false);
      Tensor loss = loss(inputs, batch.labels());
      loss.backward();
      double lossValue = loss.item_double();
      if (epoch >= options.adversaryFromEpoch()) {
        skippedPerturbations.addAll(adversary.attack(forwardBackward,
            () -> optimizer.zero_grad(false)));
      }
      step++;
      try (TensorList gradients = TensorList.gradientsOf(trained)) {
        if (!guard.allowStep(step, lossValue, gradients)) {
          log.warn("step {}: non-finite loss or gradient, step skipped", step);
          return lossValue;
        }
      }
      if (options.clipGradNorm() > 0) {
        torch.clip_grad_norm_(model.parameters(), options.clipGradNorm());
      }
      optimizer.step();
      ema.update();
      return lossValue;
    }

    Tensor loss(ModelInputs inputs, Tensor labels) {
      return torch.nll_loss(torch.log_softmax(model.forward(inputs).logits(), 1), labels);
    }

    /** Evaluates and saves with the EMA weights, then puts the live weights back. */
    void evaluateAndSave() {
      ema.withAveragedWeights(() -> {
        OfficialScore score = evaluate();
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("step", step);
        record.put("lv1_micro_f1", score.lv1MicroF1());
        record.put("lv1_macro_f1", score.lv1MacroF1());
        record.put("lv2_micro_f1", score.lv2MicroF1());
        record.put("lv2_macro_f1", score.lv2MacroF1());
        record.put("mean_f1", score.mean());
        metrics.record("eval", record);
        Path checkpoint = options.out().resolve("checkpoints").resolve(
            String.format(Locale.ROOT, "step-%06d-score-%.4f", step, score.mean()));
        saveAtomically(checkpoint);
        boolean best = bestScore == null || score.mean() > bestScore.mean();
        log.info("step {}: mean F1 {} (lv1 {} / {}, lv2 {} / {}){}", step,
            format(score.mean()), format(score.lv1MicroF1()), format(score.lv1MacroF1()),
            format(score.lv2MicroF1()), format(score.lv2MacroF1()), best ? ", best so far" : "");
        if (best) {
          bestScore = score;
          bestStep = step;
          saveAtomically(options.out().resolve("best"));
        }
      });
    }

    OfficialScore evaluate() {
      return Validation.score(model, validation, collator, categories, options.batchSize(),
          options.loaderWorkers());
    }

    /** A model directory appears whole under its final name or not at all. */
    void saveAtomically(Path target) {
      Path temporary = target.resolveSibling("." + target.getFileName() + ".partial");
      try {
        AtomicFiles.deleteRecursively(temporary);
        ModelDirectory.save(temporary, model, options.textModel());
        AtomicFiles.replaceDirectory(temporary, target);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot save checkpoint " + target, e);
      }
    }

    /** Saves what a resumed run needs; {@code batchesDone} batches of {@code epoch} are done. */
    void saveState(int epoch, int batchesDone) {
      TrainingState.save(options.out(), new TrainingState.Counters(step, epoch, batchesDone,
          bestStep, bestScore, guard.skipped(), guard.consecutive()), allNames, all,
          ema.shadowTensors(), optimizer);
    }

    /** Loads the saved state into this run; returns its counters. */
    TrainingState.Counters restore() {
      TrainingState.Counters counters = TrainingState.load(options.out(), allNames, all,
          ema.shadowTensors(), optimizer);
      step = counters.step();
      bestStep = counters.bestStep();
      bestScore = counters.bestScore();
      guard = new NonFiniteGuard(MAX_CONSECUTIVE_SKIPS, counters.skippedSteps(),
          counters.consecutiveSkips());
      metrics.record("resume", Map.of("step", step));
      log.info("resuming {} after step {} (epoch {}, batch {})", options.out(), step,
          counters.epoch(), counters.batchesDone());
      return counters;
    }

    @Override
    public void close() {
      ema.close();
      trained.close();
      if (adversary instanceof AutoCloseable closeable) {
        try {
          closeable.close();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
    }
  }

  private static String format(double value) {
    return String.format(Locale.ROOT, "%.4f", value);
  }
}

package dev.vidtag.cli;

import dev.vidtag.model.Architecture;
import dev.vidtag.runtime.DeviceSpec;
import dev.vidtag.train.pretrain.LossWeights;
import dev.vidtag.train.pretrain.PretrainOptions;
import dev.vidtag.train.pretrain.Pretrainer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vidtag pretrain}: self-supervised pretraining on a dataset's unlabeled and labeled videos. */
@Command(name = "pretrain", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Pretrains a single-stream (MLM + MFM + ITM) or double-stream (ITC + ITM + "
        + "MLM) model on videos without their labels; writes checkpoints that `vidtag train "
        + "--init` starts from.")
final class PretrainCommand implements Callable<Integer> {
  /** The defaults every architecture shares (batch size, learning rate and warmup differ). */
  private static final PretrainOptions.Optimization REFERENCE =
      PretrainOptions.Optimization.referenceFor(Architecture.SINGLE);
  private static final PretrainOptions.Masking MASKING = PretrainOptions.Masking.REFERENCE;
  private static final PretrainOptions.Contrastive CONTRASTIVE =
      PretrainOptions.Contrastive.REFERENCE;

  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--data", paramLabel = "DIR", description = "Dataset in the official layout.")
  Path data;

  @Option(names = "--arch", paramLabel = "single|double", description = "Model architecture.")
  String arch;

  @Option(names = "--text-model", paramLabel = "HF_DIR",
      description = "Hugging Face BERT directory that initialises the text encoder (and the MLM head when it has cls.predictions.*).")
  Path textModel;

  @Option(names = "--out", paramLabel = "RUN", description = "Run directory (created; must not hold a run).")
  Path out;

  @Option(names = "--splits", split = ",", description = "Splits read together, labels unused (default: ${DEFAULT-VALUE}).")
  String[] splits = PretrainOptions.DEFAULT_SPLITS.toArray(new String[0]);

  @Option(names = "--epochs", description = "Epochs (default: ${DEFAULT-VALUE}).")
  int epochs = REFERENCE.epochs();

  @Option(names = "--max-steps", description = "Stop after N steps, 0 = no limit; the schedule is sized on the steps run (default: ${DEFAULT-VALUE}).")
  long maxSteps = REFERENCE.maxSteps();

  @Option(names = "--batch-size", description = "Batch size (default: 128 single, 64 double).")
  Integer batchSize;

  @Option(names = "--max-frames", description = "Frames per video (default: ${DEFAULT-VALUE}).")
  int maxFrames = PretrainOptions.DEFAULT_MAX_FRAMES;

  @Option(names = "--max-text", description = "Text tokens with [CLS] and [SEP] (default: ${DEFAULT-VALUE}).")
  int maxText = PretrainOptions.DEFAULT_MAX_TEXT;

  @Option(names = "--lr", description = "Peak learning rate (default: 5e-5 single, 6e-5 double).")
  Double lr;

  @Option(names = "--warmup", description = "Warmup fraction of the steps (default: 0.06 single, 0.08 double).")
  Double warmup;

  @Option(names = "--checkpoint-every", description = "Also checkpoint every N steps, 0 = only at epoch ends and the last step (default: ${DEFAULT-VALUE}).")
  long checkpointEvery = REFERENCE.checkpointEvery();

  @Option(names = "--loss-weights", paramLabel = "MLM,MFM,ITM", description = "Single stream: weights of the terms (default: 1/1.25, 1/3, 1).")
  String lossWeights;

  @Option(names = "--mlm-probability", description = "Share of text tokens masked (default: ${DEFAULT-VALUE}).")
  double mlmProbability = MASKING.mlmProbability();

  @Option(names = "--whole-word", description = "Mask whole words (a ##piece joins the word before it).")
  boolean wholeWord;

  @Option(names = "--ngram", description = "Mask spans of up to N units, P(n) ~ 1/n (default: ${DEFAULT-VALUE}).")
  int ngram = MASKING.ngram();

  @Option(names = "--mfm-probability", description = "Single stream: share of real frames masked (default: ${DEFAULT-VALUE}).")
  double mfmProbability = MASKING.mfmProbability();

  @Option(names = "--queue-size", description = "Double stream: ITC feature queue length (default: ${DEFAULT-VALUE}).")
  int queueSize = CONTRASTIVE.queueSize();

  @Option(names = "--momentum", description = "Double stream: momentum of the momentum encoders (default: ${DEFAULT-VALUE}).")
  double momentum = CONTRASTIVE.momentum();

  @Option(names = "--temperature", description = "Double stream: initial ITC temperature, learnt in [0.001, 0.5] (default: ${DEFAULT-VALUE}).")
  double temperature = CONTRASTIVE.temperature();

  @Option(names = "--alpha", description = "Double stream: weight of the momentum targets, ramped over the first epoch (default: ${DEFAULT-VALUE}).")
  double alpha = CONTRASTIVE.alpha();

  @Option(names = "--seed", description = "Seed of the order, the masks and the initialisation (default: ${DEFAULT-VALUE}).")
  long seed = PretrainOptions.DEFAULT_SEED;

  @Option(names = "--workers", defaultValue = "1", description = "Loader threads (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--resume", paramLabel = "RUN",
      description = "Continue the run in RUN from its newest checkpoint, with the options it was "
          + "started with (no other option but --workers and the runtime ones).")
  Path resume;

  @Override
  public Integer call() throws Exception {
    Pretrainer pretrainer = resume != null ? resumedPretrainer() : newPretrainer();
    runtime.start();
    if (runtime.deviceSpec().kind() != DeviceSpec.Kind.CPU) {
      throw new IllegalArgumentException("vidtag pretrain runs on the CPU for now; use --device cpu");
    }
    Pretrainer.Result result = pretrainer.run();
    PrintWriter printer = spec.commandLine().getOut();
    StringBuilder terms = new StringBuilder();
    for (Map.Entry<String, Double> e : result.lastLoss().entrySet()) {
      terms.append(String.format(Locale.ROOT, " %s %.4f", e.getKey(), e.getValue()));
    }
    printer.printf(Locale.ROOT, "%d steps in %.1f s; last step:%s; checkpoint %s%n",
        result.steps(), result.seconds(), terms, result.lastCheckpoint());
    if (result.skippedSteps() > 0) {
      printer.printf("steps skipped for a non-finite loss or gradient: %d%n", result.skippedSteps());
    }
    printer.flush();
    return 0;
  }

  private Pretrainer resumedPretrainer() {
    ResumeOptions.refuseOthers(spec);
    return Pretrainer.resuming(resume, workers);
  }

  private Pretrainer newPretrainer() {
    ResumeOptions.requireForNewRun(new Object[][] {{"--data", data}, {"--arch", arch},
        {"--text-model", textModel}, {"--out", out}});
    Architecture architecture = Architecture.fromConfigName(arch);
    if (architecture == null) {
      throw new IllegalArgumentException("--arch must be single or double, got '" + arch + "'");
    }
    PretrainOptions.Builder options = PretrainOptions.builder(data, architecture, textModel, out)
        .splits(Arrays.asList(splits)).epochs(epochs).maxSteps(maxSteps).maxFrames(maxFrames)
        .maxText(maxText).checkpointEvery(checkpointEvery).mlmProbability(mlmProbability)
        .wholeWord(wholeWord).ngram(ngram).mfmProbability(mfmProbability)
        .contrastive(new PretrainOptions.Contrastive(queueSize, momentum, temperature, alpha))
        .seed(seed).workers(workers);
    if (batchSize != null) {
      options.batchSize(batchSize);
    }
    if (lr != null) {
      options.learningRate(lr);
    }
    if (warmup != null) {
      options.warmupFraction(warmup);
    }
    if (lossWeights != null) {
      options.weights(LossWeights.parse(lossWeights));
    }
    return new Pretrainer(options.build());
  }
}

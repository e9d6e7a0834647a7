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

  @Option(names = "--splits", defaultValue = "unlabeled,labeled", split = ",", description = "Splits read together, labels unused (default: ${DEFAULT-VALUE}).")
  String[] splits;

  @Option(names = "--epochs", defaultValue = "30", description = "Epochs (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--max-steps", defaultValue = "0", description = "Stop after N steps, 0 = no limit; the schedule is sized on the steps run (default: ${DEFAULT-VALUE}).")
  long maxSteps;

  @Option(names = "--batch-size", description = "Batch size (default: 128 single, 64 double).")
  Integer batchSize;

  @Option(names = "--max-frames", defaultValue = "32", description = "Frames per video (default: ${DEFAULT-VALUE}).")
  int maxFrames;

  @Option(names = "--max-text", defaultValue = "258", description = "Text tokens with [CLS] and [SEP] (default: ${DEFAULT-VALUE}).")
  int maxText;

  @Option(names = "--lr", description = "Peak learning rate (default: 5e-5 single, 6e-5 double).")
  Double lr;

  @Option(names = "--warmup", description = "Warmup fraction of the steps (default: 0.06 single, 0.08 double).")
  Double warmup;

  @Option(names = "--checkpoint-every", defaultValue = "0", description = "Also checkpoint every N steps, 0 = only at epoch ends and the last step (default: ${DEFAULT-VALUE}).")
  long checkpointEvery;

  @Option(names = "--loss-weights", paramLabel = "MLM,MFM,ITM", description = "Single stream: weights of the terms (default: 1/1.25, 1/3, 1).")
  String lossWeights;

  @Option(names = "--mlm-probability", defaultValue = "0.15", description = "Share of text tokens masked (default: ${DEFAULT-VALUE}).")
  double mlmProbability;

  @Option(names = "--whole-word", description = "Mask whole words (a ##piece joins the word before it).")
  boolean wholeWord;

  @Option(names = "--ngram", defaultValue = "1", description = "Mask spans of up to N units, P(n) ~ 1/n (default: ${DEFAULT-VALUE}).")
  int ngram;

  @Option(names = "--mfm-probability", defaultValue = "0.135", description = "Single stream: share of real frames masked (default: ${DEFAULT-VALUE}).")
  double mfmProbability;

  @Option(names = "--queue-size", defaultValue = "8192", description = "Double stream: ITC feature queue length (default: ${DEFAULT-VALUE}).")
  int queueSize;

  @Option(names = "--momentum", defaultValue = "0.995", description = "Double stream: momentum of the momentum encoders (default: ${DEFAULT-VALUE}).")
  double momentum;

  @Option(names = "--temperature", defaultValue = "0.07", description = "Double stream: initial ITC temperature, learnt in [0.001, 0.5] (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(names = "--alpha", defaultValue = "0.3", description = "Double stream: weight of the momentum targets, ramped over the first epoch (default: ${DEFAULT-VALUE}).")
  double alpha;

  @Option(names = "--seed", defaultValue = "2022", description = "Seed of the order, the masks and the initialisation (default: ${DEFAULT-VALUE}).")
  long seed;

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
    PretrainOptions d = PretrainOptions.defaults(data, architecture, textModel, out);
    PretrainOptions options = new PretrainOptions(data, architecture, textModel, out,
        Arrays.asList(splits), epochs, maxSteps, batchSize != null ? batchSize : d.batchSize(),
        maxFrames, maxText, lr != null ? lr : d.learningRate(),
        warmup != null ? warmup : d.warmupFraction(), checkpointEvery, seed, workers,
        lossWeights != null ? LossWeights.parse(lossWeights) : d.weights(), mlmProbability, wholeWord, ngram, mfmProbability,
        new PretrainOptions.Contrastive(queueSize, momentum, temperature, alpha));
    return new Pretrainer(options);
  }
}

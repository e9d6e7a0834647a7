package dev.vidtag.benchmarks;

import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.DecoderConfig;
import dev.vidtag.model.DoubleStreamModel;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.SingleStreamModel;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.runtime.TorchRuntime;
import dev.vidtag.train.pretrain.DoubleStreamPretraining;
import dev.vidtag.train.pretrain.LossWeights;
import dev.vidtag.train.pretrain.MfmMasking;
import dev.vidtag.train.pretrain.MlmMasking;
import dev.vidtag.train.pretrain.PretrainOptions;
import dev.vidtag.train.pretrain.PretrainingStep;
import dev.vidtag.train.pretrain.PretrainingTask;
import dev.vidtag.train.pretrain.StepContext;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One pretraining step at the reference's size: BERT-base (chinese-roberta-wwm-ext shapes,
 * random weights), 32 frames of 768 features + 258 text tokens, every position real; forward of
 * every objective, backward, AdamW, and for the double stream the momentum update (fused EMA
 * kernel) with queues of 8,192. fp32, 2 threads. Batch 8 (the reference trained with 128 and 64
 * on GPUs). Time per step; videos/s = 8 / seconds.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"-Xmx6g"})
public class PretrainStepBenchmark {
  static final int THREADS = 2;
  static final int FRAMES = 32;
  static final int TEXT = 258;

  @Param({"single", "double"})
  public String arch;

  @Param({"8"})
  public int batch;

  private PretrainingTask task;
  private PretrainingStep training;
  private ModelInputs inputs;
  private long step;

  @Setup(Level.Trial)
  public void setUp() {
    TorchRuntime.initialize();
    TorchRuntime.setThreads(THREADS);
    torch.manual_seed(1);
    BertConfig bert = BertConfig.chineseRobertaWwmExt();
    Architecture architecture = Architecture.fromConfigName(arch);
    VideoClassifierModel model = VideoClassifierModel.create(new ModelConfig(architecture, 200,
        768, FRAMES, TEXT, Pooling.MEAN_MASKED,
        architecture == Architecture.DOUBLE ? DecoderConfig.reference() : null, bert));
    MlmMasking masking = new MlmMasking(bert.vocabSize(), 103, new int[] {0, 101, 102}, null, 1,
        0.15);
    task = architecture == Architecture.SINGLE
        ? new dev.vidtag.train.pretrain.SingleStreamPretraining((SingleStreamModel) model,
            masking, new MfmMasking(0.135), LossWeights.REFERENCE)
        : new DoubleStreamPretraining((DoubleStreamModel) model, masking,
            PretrainOptions.Contrastive.REFERENCE);
    task.model().train(true);
    task.heads().train(true);
    training = new PretrainingStep(task, 5e-5);
    Tensor ids = torch.randint(1000, bert.vocabSize(), new long[] {batch, TEXT},
        new TensorOptions(ScalarType.Long));
    inputs = new ModelInputs(ids, torch.ones(batch, TEXT), torch.randn(batch, FRAMES, 768),
        torch.ones(batch, FRAMES));
    // one untimed step: the first loads the native kernels (behind a file lock that other
    // processes on the machine may hold) and allocates the optimizer's state
    step();
  }

  @Benchmark
  public double step() {
    try (PointerScope scope = new PointerScope()) {
      return training.run(inputs, new StepContext(step, step++, 1000)).get("loss");
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    training.close();
    task.close();
  }
}

package dev.vidtag.benchmarks;

import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.runtime.TorchRuntime;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Inference forward of both models at the reference's size: BERT-base (chinese-roberta-wwm-ext
 * shapes, random weights), 14 frames of 768 features + 258 text tokens, 200 classes, eval mode,
 * no gradients. Batch 1 is the latency; batch 16 divided into 16 is the throughput. fp32, and
 * bf16 with the weights cast. Threads: 2 (LibTorch intra-op and OpenBLAS).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class ModelForwardBenchmark {
  static final int THREADS = 2;
  static final int FRAMES = 14;
  static final int TEXT = 258;

  @Param({"single", "double"})
  public String arch;

  @Param({"fp32", "bf16"})
  public String precision;

  @Param({"1", "16"})
  public int batch;

  private VideoClassifierModel model;
  private ModelInputs inputs;

  @Setup(Level.Trial)
  public void setUp() {
    TorchRuntime.initialize();
    TorchRuntime.setThreads(THREADS);
    torch.manual_seed(1);
    BertConfig bert = BertConfig.chineseRobertaWwmExt();
    model = VideoClassifierModel.create(ModelConfig.reference(Architecture.fromConfigName(arch), bert,
        Pooling.MEAN_MASKED));
    model.eval();
    if (precision.equals("bf16")) {
      model.to(ScalarType.BFloat16, false);
    }
    Tensor ids = torch.randint(bert.vocabSize(), new long[] {batch, TEXT},
        new TensorOptions(ScalarType.Long));
    inputs = new ModelInputs(ids, torch.ones(batch, TEXT), torch.randn(batch, FRAMES, 768),
        torch.ones(batch, FRAMES));
  }

  @Benchmark
  public float forward() {
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      return model.forward(inputs).logits().sum().item_float();
    }
  }
}

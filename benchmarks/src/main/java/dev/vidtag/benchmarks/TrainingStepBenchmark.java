package dev.vidtag.benchmarks;

import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.runtime.TorchRuntime;
import dev.vidtag.train.ExponentialMovingAverage;
import dev.vidtag.train.ParameterGroups;
import dev.vidtag.train.Pgd;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One fine-tuning step at the reference's size: BERT-base single stream, batch 8, 14 frames of
 * 768 features + 258 tokens, AdamW over the reference's parameter groups, training mode
 * (dropout on). {@code plain}: forward, backward, optimizer step; {@code ema}: plus the EMA
 * update; {@code pgd}: plus a K=3 PGD attack on the word embeddings (three more forward and
 * backward passes). {@code pgdBookkeeping} times the attack with the passes replaced by a copy
 * of a fixed gradient into the word embeddings' gradient ({@code gradientStub} times that copy
 * alone): what PGD costs besides the passes. Threads: 2.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
public class TrainingStepBenchmark {
  static final int THREADS = 2;
  static final int BATCH = 8;
  static final int FRAMES = 14;
  static final int TEXT = 258;
  static final String WORDS = "bert.embeddings.word_embeddings.weight";

  private VideoClassifierModel model;
  private ModelInputs inputs;
  private Tensor labels;
  private AdamW optimizer;
  private ExponentialMovingAverage ema;
  private Pgd pgd;
  private Tensor words;
  private Tensor fixedGradient;

  @Setup(Level.Trial)
  public void setUp() {
    TorchRuntime.initialize();
    TorchRuntime.setThreads(THREADS);
    torch.manual_seed(1);
    BertConfig bert = BertConfig.chineseRobertaWwmExt();
    model = VideoClassifierModel.create(ModelConfig.reference(Architecture.SINGLE, bert,
        Pooling.MEAN_MASKED));
    model.train(true);
    List<String> names = new ArrayList<>();
    List<Tensor> parameters = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : StateDicts.parameters(model).entrySet()) {
      if (e.getKey().startsWith("bert.pooler.")) {
        e.getValue().set_requires_grad(false);
      } else {
        names.add(e.getKey());
        parameters.add(e.getValue());
      }
    }
    optimizer = ParameterGroups.adamW(ParameterGroups.of(names, parameters,
        ParameterGroups.LearningRates.REFERENCE, 0.01), 1e-6);
    ema = new ExponentialMovingAverage(names, parameters, 0.995);
    words = parameters.get(names.indexOf(WORDS));
    pgd = new Pgd(names, parameters, List.of(WORDS), List.of(words), 3, 1.0, 0.3);
    Tensor ids = torch.randint(bert.vocabSize(), new long[] {BATCH, TEXT},
        new TensorOptions(ScalarType.Long));
    inputs = new ModelInputs(ids, torch.ones(BATCH, TEXT), torch.randn(BATCH, FRAMES, 768),
        torch.ones(BATCH, FRAMES));
    labels = torch.randint(200, new long[] {BATCH}, new TensorOptions(ScalarType.Long));
    fixedGradient = torch.randn(words.size(0), words.size(1));
    // every parameter has a gradient from here on, as in a real run after its first step
    forwardBackward();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    pgd.close();
    ema.close();
  }

  private void forwardBackward() {
    try (PointerScope scope = new PointerScope()) {
      torch.nll_loss(torch.log_softmax(model.forward(inputs).logits(), 1), labels).backward();
    }
  }

  @Benchmark
  @Warmup(iterations = 1)
  @Measurement(iterations = 3)
  public void plain() {
    optimizer.zero_grad(false);
    forwardBackward();
    optimizer.step();
  }

  @Benchmark
  @Warmup(iterations = 1)
  @Measurement(iterations = 3)
  public void ema() {
    plain();
    ema.update();
  }

  @Benchmark
  @Warmup(iterations = 1)
  @Measurement(iterations = 3)
  public void pgd() {
    optimizer.zero_grad(false);
    forwardBackward();
    attack(this::forwardBackward);
    optimizer.step();
    ema.update();
  }

  @Benchmark
  @Warmup(iterations = 3)
  @Measurement(iterations = 10)
  public void pgdBookkeeping() {
    attack(() -> words.grad().copy_(fixedGradient));
  }

  /** PGD's passes as the fine-tuning step drives them. */
  private void attack(Runnable forwardBackward) {
    for (int pass = 0; pass < pgd.passes(); pass++) {
      pgd.perturb(pass);
      forwardBackward.run();
    }
    pgd.restore();
  }

  @Benchmark
  @Warmup(iterations = 3)
  @Measurement(iterations = 10)
  public void gradientStub() {
    words.grad().copy_(fixedGradient);
  }

  @Benchmark
  @Warmup(iterations = 3)
  @Measurement(iterations = 10)
  public void emaUpdate() {
    ema.update();
  }
}

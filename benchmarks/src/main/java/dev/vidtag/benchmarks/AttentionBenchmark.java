package dev.vidtag.benchmarks;

import dev.vidtag.kernels.AttentionKernels;
import dev.vidtag.kernels.AttentionKernels.Call;
import dev.vidtag.kernels.AttentionKernels.Forward;
import dev.vidtag.kernels.AttentionKernels.Isa;
import dev.vidtag.runtime.TorchRuntime;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
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
 * The attention of one BERT-base layer at batch 16, alone: VidTag's kernel (each CPU path this
 * machine has) against LibTorch's {@code scaled_dot_product_attention} on the same inputs and key
 * padding, forward alone and forward with backward. {@code self}: 272 positions, 12 heads of 64; {@code cross}: the decoder's 14 frames
 * against 258 text positions. GFLOP/s = 4 * B * heads * Lq * Lk * d / time for the forward
 * (backward does about 2.5 times that work). SDPA gets the [B, heads, L, d] views the models used to pass it;
 * the kernel reads the heads-merged projections in place.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
public class AttentionBenchmark {
  private static final int BATCH = 16;
  private static final int HEADS = 12;
  private static final int HEAD_DIM = 64;

  @Param({"self", "cross"})
  public String shape;

  @Param({"vidtag-auto", "vidtag-avx2", "sdpa"})
  public String backend;

  private Call call;
  private Tensor gradOut;
  private Tensor sdpaBias;
  private Isa isa;

  @Setup(Level.Trial)
  public void setUp() {
    TorchRuntime.initialize();
    torch.manual_seed(3);
    int queries = shape.equals("self") ? 272 : 14;
    int keys = shape.equals("self") ? 272 : 258;
    int width = HEADS * HEAD_DIM;
    Tensor q = torch.randn(BATCH, queries, width);
    Tensor k = torch.randn(BATCH, keys, width);
    Tensor v = torch.randn(BATCH, keys, width);
    // a quarter of the items padded to half their keys, as a length mix pads them
    Tensor keep = torch.ones(BATCH, keys);
    keep.narrow(0, 0, BATCH / 4).narrow(1, keys / 2, keys - keys / 2).zero_();
    sdpaBias = keep.sub(new Scalar(1.0)).mul(new Scalar(10000.0)).view(BATCH, 1, 1, keys);
    call = new Call(q, k, v, keep.to(torch.ScalarType.Bool), HEADS, 1.0 / Math.sqrt(HEAD_DIM),
        0.0, 0L);
    isa = backend.equals("vidtag-avx2") ? Isa.AVX2 : Isa.AUTO;
    if (!isa.supported()) {
      throw new IllegalStateException("this CPU has no AVX2 path");
    }
    gradOut = torch.randn(BATCH, queries, width);
  }

  @Benchmark
  public void forward() {
    try (PointerScope scope = new PointerScope()) {
      if (backend.equals("sdpa")) {
        torch.scaled_dot_product_attention(split(call.q()), split(call.k()), split(call.v()),
            new TensorOptional(sdpaBias), 0.0, false, new DoubleOptional(), false);
      } else {
        AttentionKernels.forward(call, false, isa);
      }
    }
  }

  /** What a training step spends on attention: forward with what backward keeps, then backward. */
  @Benchmark
  public void forwardAndBackward() {
    try (PointerScope scope = new PointerScope()) {
      if (backend.equals("sdpa")) {
        Tensor q = call.q().detach().requires_grad_(true);
        Tensor k = call.k().detach().requires_grad_(true);
        Tensor v = call.v().detach().requires_grad_(true);
        Tensor out = torch.scaled_dot_product_attention(split(q), split(k), split(v),
            new TensorOptional(sdpaBias), 0.0, false, new DoubleOptional(), false);
        out.backward(split(gradOut), new BoolOptional(), false, new TensorArrayRefOptional());
      } else {
        Forward kept = AttentionKernels.forward(call, true, isa);
        AttentionKernels.backward(call, kept, gradOut, isa);
      }
    }
  }

  private static Tensor split(Tensor x) {
    return x.view(x.size(0), x.size(1), HEADS, HEAD_DIM).transpose(1, 2);
  }
}

package dev.vidtag.kernels;

import static dev.vidtag.kernels.Tensors.relativeError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vidtag.kernels.AttentionKernels.Call;
import dev.vidtag.kernels.AttentionKernels.Forward;
import dev.vidtag.kernels.AttentionKernels.Gradients;
import dev.vidtag.kernels.AttentionKernels.Isa;
import dev.vidtag.runtime.TorchRuntime;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The attention kernels through their Java facade against attention written here with plain
 * LibTorch ops in float64 (scores, a softmax over the real keys, the dropout mask built from a
 * Java copy of the header's splitmix64 formula), and against autograd of that for backward.
 * Tolerances, relative (max |ours - expected| / max |expected|): 1e-5 forward and 1e-4 backward
 * in fp32, 2e-2 with bf16 inputs (the reference then starts from the bf16-rounded inputs).
 */
class AttentionKernelsTest {
  private static final double FORWARD_FP32 = 1e-5;
  private static final double BACKWARD_FP32 = 1e-4;
  private static final double BF16 = 2e-2;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
    torch.manual_seed(11);
  }

  /** batch, heads, head dim, query and key lengths, per-item real key counts (null: all). */
  record Case(String name, int batch, int heads, int headDim, int queryLength, int keyLength,
      int[] realKeys, boolean holes, boolean fused) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Case> cases() {
    return Stream.of(
        new Case("self-attention, no padding", 2, 2, 64, 37, 37, null, false, false),
        new Case("self-attention, padding and an empty item", 3, 2, 64, 70, 70,
            new int[] {70, 1, 0}, false, false),
        new Case("fused QKV, head dim 32", 2, 3, 32, 45, 45, new int[] {45, 20}, false, true),
        new Case("cross-attention 14 x 258, head dim 40", 2, 2, 40, 14, 258,
            new int[] {258, 99}, false, false),
        new Case("cross-attention, one query, a mask with holes", 2, 2, 64, 1, 77,
            new int[] {77, 30}, true, false),
        new Case("32 queries x 300 keys", 1, 1, 64, 32, 300, new int[] {131}, false, false));
  }

  static Stream<Arguments> casesAndIsas() {
    return cases().flatMap(c -> Stream.of(Isa.values())
        .filter(isa -> isa != Isa.AUTO)
        .map(isa -> Arguments.of(c, isa)));
  }

  @ParameterizedTest(name = "{0}, {1}")
  @MethodSource("casesAndIsas")
  void forwardAndBackwardMatchFloat64Attention(Case c, Isa isa) {
    assumeTrue(isa.supported(), () -> "this CPU has no " + isa + " path");
    try (PointerScope scope = new PointerScope()) {
      Inputs in = Inputs.random(c, ScalarType.Float);
      Call call = new Call(in.q, in.k, in.v, in.mask, c.heads(), 1.0 / Math.sqrt(c.headDim()),
          0.0, 0L);
      Forward forward = AttentionKernels.forward(call, true, isa);
      Reference expected = Reference.of(in, c, 0.0, 0L);
      assertTrue(relativeError(forward.output(), expected.out) <= FORWARD_FP32,
          "out " + relativeError(forward.output(), expected.out));
      assertTrue(relativeError(forward.logSumExp(), expected.lse) <= FORWARD_FP32,
          "lse " + relativeError(forward.logSumExp(), expected.lse));
      Gradients grads = AttentionKernels.backward(call, forward, in.gradOut, isa);
      assertTrue(relativeError(grads.q(), expected.dq) <= BACKWARD_FP32,
          "dq " + relativeError(grads.q(), expected.dq));
      assertTrue(relativeError(grads.k(), expected.dk) <= BACKWARD_FP32,
          "dk " + relativeError(grads.k(), expected.dk));
      assertTrue(relativeError(grads.v(), expected.dv) <= BACKWARD_FP32,
          "dv " + relativeError(grads.v(), expected.dv));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void dropoutMasksTheProbabilitiesAsTheHeaderSays(Case c) {
    try (PointerScope scope = new PointerScope()) {
      Inputs in = Inputs.random(c, ScalarType.Float);
      double p = 0.1;
      long seed = 0x5eed_1234_abcdL;
      Call call = new Call(in.q, in.k, in.v, in.mask, c.heads(), 1.0 / Math.sqrt(c.headDim()),
          p, seed);
      Forward forward = AttentionKernels.forward(call, true, Isa.AUTO);
      Reference expected = Reference.of(in, c, p, seed);
      assertTrue(relativeError(forward.output(), expected.out) <= FORWARD_FP32,
          "out " + relativeError(forward.output(), expected.out));
      Gradients grads = AttentionKernels.backward(call, forward, in.gradOut, Isa.AUTO);
      assertTrue(relativeError(grads.q(), expected.dq) <= BACKWARD_FP32, "dq");
      assertTrue(relativeError(grads.k(), expected.dk) <= BACKWARD_FP32, "dk");
      assertTrue(relativeError(grads.v(), expected.dv) <= BACKWARD_FP32, "dv");
    }
  }

  @Test
  void bf16InputsMatchTheReferenceOfTheirRoundedValues() {
    Case c = new Case("bf16", 2, 2, 64, 50, 50, new int[] {50, 17}, false, false);
    try (PointerScope scope = new PointerScope()) {
      Inputs in = Inputs.random(c, ScalarType.BFloat16);
      Call call = new Call(in.q, in.k, in.v, in.mask, c.heads(), 0.125, 0.0, 0L);
      Forward forward = AttentionKernels.forward(call, true, Isa.AUTO);
      assertEquals(ScalarType.BFloat16, forward.output().scalar_type().intern());
      Reference expected = Reference.of(in, c, 0.0, 0L);
      assertTrue(relativeError(forward.output().to(ScalarType.Float), expected.out) <= BF16);
      Gradients grads = AttentionKernels.backward(call, forward, in.gradOut, Isa.AUTO);
      assertTrue(relativeError(grads.q().to(ScalarType.Float), expected.dq) <= BF16, "dq");
      assertTrue(relativeError(grads.v().to(ScalarType.Float), expected.dv) <= BF16, "dv");
    }
  }

  @Test
  void theUniformNumbersAreTheHeadersSplitmix64() {
    for (long seed : new long[] {0L, 1L, -1L, 0x0123456789abcdefL}) {
      for (long index : new long[] {0L, 1L, 2L, 1L << 40, -2L}) {
        assertEquals(splitmixUniform(seed, index), AttentionKernels.dropoutUniform(seed, index),
            "seed " + seed + " index " + index);
      }
    }
  }

  @Test
  void badArgumentsAreRefusedInJava() {
    try (PointerScope scope = new PointerScope()) {
      Tensor q = torch.randn(2, 5, 8);
      Tensor k = torch.randn(2, 7, 8);
      assertThrows(IllegalArgumentException.class, () -> AttentionKernels.forward(
          new Call(q, k, k, null, 3, 0.5, 0, 0), false, Isa.AUTO), "heads not dividing 8");
      assertThrows(IllegalArgumentException.class, () -> AttentionKernels.forward(
          new Call(q, k, torch.randn(2, 6, 8), null, 2, 0.5, 0, 0), false, Isa.AUTO),
          "k and v lengths");
      assertThrows(IllegalArgumentException.class, () -> AttentionKernels.forward(
          new Call(q, k.transpose(1, 2).contiguous().transpose(1, 2), k, null, 2, 0.5, 0, 0),
          false, Isa.AUTO), "a non-unit last stride");
      assertThrows(IllegalArgumentException.class, () -> AttentionKernels.forward(
          new Call(q, k, k, torch.ones(2, 6).to(ScalarType.Bool), 2, 0.5, 0, 0), false,
          Isa.AUTO), "mask shape");
      assertThrows(IllegalArgumentException.class, () -> AttentionKernels.forward(
          new Call(q, k, k, null, 2, 0.5, 1.0, 0), false, Isa.AUTO), "dropout 1");
      assertThrows(IllegalArgumentException.class, () -> AttentionKernels.forward(
          new Call(q.to(ScalarType.Double), k, k, null, 2, 0.5, 0, 0), false, Isa.AUTO),
          "float64");
      Forward noLse = AttentionKernels.forward(new Call(q, k, k, null, 2, 0.5, 0, 0), false,
          Isa.AUTO);
      assertThrows(IllegalArgumentException.class, () -> AttentionKernels.backward(
          new Call(q, k, k, null, 2, 0.5, 0, 0), noLse, torch.randn(2, 5, 8), Isa.AUTO),
          "backward without the log-sum-exp");
    }
  }

  /** The header's formula, written again here. */
  static float splitmixUniform(long seed, long index) {
    long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    z ^= z >>> 31;
    return (z >>> 40) * (1.0f / 16777216.0f);
  }

  /** Random inputs of a case; q, k and v views of one fused tensor when the case says so. */
  record Inputs(Tensor q, Tensor k, Tensor v, Tensor mask, Tensor gradOut) {
    static Inputs random(Case c, ScalarType type) {
      int width = c.heads() * c.headDim();
      Tensor q;
      Tensor k;
      Tensor v;
      if (c.fused()) {
        Tensor qkv = torch.randn(c.batch(), c.queryLength(), 3L * width).to(type);
        q = qkv.narrow(2, 0, width);
        k = qkv.narrow(2, width, width);
        v = qkv.narrow(2, 2L * width, width);
      } else {
        q = torch.randn(c.batch(), c.queryLength(), width).to(type);
        k = torch.randn(c.batch(), c.keyLength(), width).to(type);
        v = torch.randn(c.batch(), c.keyLength(), width).to(type);
      }
      Tensor mask = null;
      if (c.realKeys() != null) {
        Tensor real = torch.zeros(c.batch(), c.keyLength());
        for (int b = 0; b < c.batch(); b++) {
          if (c.realKeys()[b] > 0) {
            real.select(0, b).narrow(0, 0, c.realKeys()[b]).fill_(new Scalar(1.0));
          }
          if (c.holes() && c.realKeys()[b] > 4) {
            real.select(0, b).narrow(0, 1, 2).fill_(new Scalar(0.0));
          }
        }
        mask = real.to(ScalarType.Bool);
      }
      Tensor gradOut = torch.randn(c.batch(), c.queryLength(), width).to(type);
      return new Inputs(q, k, v, mask, gradOut);
    }
  }

  /** Float64 attention with autograd. */
  record Reference(Tensor out, Tensor lse, Tensor dq, Tensor dk, Tensor dv) {
    static Reference of(Inputs in, Case c, double p, long seed) {
      Tensor q = split(in.q(), c).requires_grad_(true);
      Tensor k = split(in.k(), c).requires_grad_(true);
      Tensor v = split(in.v(), c).requires_grad_(true);
      Tensor scores = q.matmul(k.transpose(-2, -1)).mul(new Scalar(1.0 / Math.sqrt(c.headDim())));
      if (in.mask() != null) {
        // a row without a real key attends every key, as the models' finite bias makes it
        Tensor real = in.mask().to(ScalarType.Double);
        Tensor none = real.sum(new long[] {1}, true, new org.bytedeco.pytorch.ScalarTypeOptional())
            .eq(new Scalar(0.0)).to(ScalarType.Double);
        Tensor attended = real.add(none).clamp_max(new Scalar(1.0));
        Tensor bias = attended.sub(new Scalar(1.0)).mul(new Scalar(1e30))
            .view(c.batch(), 1, 1, c.keyLength());
        scores = scores.add(bias);
      }
      Tensor lse = scores.logsumexp(new long[] {-1}, false);
      Tensor probabilities = scores.softmax(-1);
      if (p > 0) {
        probabilities = probabilities.mul(keepMask(c, p, seed));
      }
      Tensor out = merge(probabilities.matmul(v));
      Tensor gradOut = in.gradOut().to(ScalarType.Double);
      TensorVector grads = torch.grad(new TensorVector(out), new TensorVector(q, k, v),
          new TensorVector(gradOut), new org.bytedeco.pytorch.BoolOptional(false), false, false);
      return new Reference(out.detach(), lse.detach(), merge(grads.get(0)), merge(grads.get(1)),
          merge(grads.get(2)));
    }

    private static Tensor keepMask(Case c, double p, long seed) {
      long n = (long) c.batch() * c.heads() * c.queryLength() * c.keyLength();
      double[] keep = new double[(int) n];
      for (int i = 0; i < n; i++) {
        keep[i] = splitmixUniform(seed, i) >= (float) p ? 1.0 / (1.0 - (float) p) : 0.0;
      }
      return Tensor.create(keep).view(c.batch(), c.heads(), c.queryLength(), c.keyLength());
    }

    private static Tensor split(Tensor x, Case c) {
      return x.to(ScalarType.Double).contiguous()
          .view(c.batch(), x.size(1), c.heads(), c.headDim()).transpose(1, 2);
    }

    private static Tensor merge(Tensor x) {
      return x.transpose(1, 2).reshape(x.size(0), x.size(2), x.size(1) * x.size(3));
    }
  }
}

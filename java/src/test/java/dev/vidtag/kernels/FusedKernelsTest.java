package dev.vidtag.kernels;

import static dev.vidtag.kernels.Tensors.clones;
import static dev.vidtag.kernels.Tensors.identical;
import static dev.vidtag.kernels.Tensors.list;
import static dev.vidtag.kernels.Tensors.randomList;
import static dev.vidtag.kernels.Tensors.relativeError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.runtime.TorchRuntime;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each fused kernel against the same computation written with plain LibTorch ops. Tolerances
 * (relative, max |ours - expected| / max |expected|): 1e-6 for fp32 arithmetic, 1e-12 for the
 * float64-accumulated norms, exact for copies and swaps.
 */
class FusedKernelsTest {
  private static final double FP32_TOLERANCE = 1e-6;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
    torch.manual_seed(7);
  }

  static Stream<Arguments> lists() {
    return Stream.of(
        Arguments.of("one element", new long[][] {{1}}),
        Arguments.of("seven elements", new long[][] {{7}}),
        Arguments.of("1000003 elements", new long[][] {{1000003}}),
        Arguments.of("a small model", new long[][] {
            {50, 16}, {16}, {16}, {0}, {3, 16, 16}, {16}, {64, 16}, {64}, {16, 64}, {16}, {200, 16}}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lists")
  void emaUpdateMatchesLibTorch(String description, long[][] shapes) {
    try (PointerScope scope = new PointerScope()) {
      double decay = 0.995;
      List<Tensor> shadow = randomList(shapes, 1.0);
      List<Tensor> params = randomList(shapes, 1.0);
      for (boolean bf16 : new boolean[] {false, true}) {
        List<Tensor> live = bf16 ? Tensors.toBf16(params) : params;
        List<Tensor> ours = clones(shadow);
        FusedKernels.emaUpdate(list("shadow", ours), list("params", live), decay);
        for (int i = 0; i < shapes.length; i++) {
          Tensor expected = shadow.get(i).mul(new Scalar(decay))
              .add(live.get(i).to(ScalarType.Float).mul(new Scalar(1 - decay)));
          assertTrue(relativeError(ours.get(i), expected) <= FP32_TOLERANCE,
              description + " tensor " + i + (bf16 ? " bf16" : " fp32"));
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lists")
  void swapExchangesExactly(String description, long[][] shapes) {
    try (PointerScope scope = new PointerScope()) {
      List<Tensor> a = randomList(shapes, 1.0);
      List<Tensor> b = randomList(shapes, 1.0);
      List<Tensor> a2 = clones(a);
      List<Tensor> b2 = clones(b);
      FusedKernels.swap(list("live", a2), list("shadow", b2));
      for (int i = 0; i < shapes.length; i++) {
        assertTrue(identical(a2.get(i), b.get(i)) && identical(b2.get(i), a.get(i)),
            description + " tensor " + i);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lists")
  void swaAccumulateIsTheMean(String description, long[][] shapes) {
    try (PointerScope scope = new PointerScope()) {
      List<List<Tensor>> models = List.of(randomList(shapes, 1.0), randomList(shapes, 1.0),
          randomList(shapes, 1.0));
      List<Tensor> average = clones(models.get(0));
      TensorList averageList = list("average", average);
      for (int m = 1; m < models.size(); m++) {
        FusedKernels.swaAccumulate(averageList, list("model " + m, models.get(m)), m);
      }
      for (int i = 0; i < shapes.length; i++) {
        Tensor expected = models.get(0).get(i).add(models.get(1).get(i)).add(models.get(2).get(i))
            .div(new Scalar(3.0));
        assertTrue(relativeError(average.get(i), expected) <= FP32_TOLERANCE,
            description + " tensor " + i);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lists")
  void l2NormMatchesLibTorchInFloat64(String description, long[][] shapes) {
    try (PointerScope scope = new PointerScope()) {
      List<Tensor> x = randomList(shapes, 3.0);
      FusedKernels.Norms norms = FusedKernels.l2Norm(list("x", x));
      double squares = 0.0;
      for (int i = 0; i < shapes.length; i++) {
        double expected = x.get(i).to(ScalarType.Double).norm().item_double();
        assertEquals(expected, norms.perTensor()[i], 1e-12 * Math.max(expected, 1e-300),
            description + " tensor " + i);
        squares += expected * expected;
      }
      assertEquals(Math.sqrt(squares), norms.total(), 1e-12 * Math.sqrt(squares));
    }
  }

  @Test
  void l2NormOfBf16ByHand() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = torch.tensor(new float[] {1f, -2f, 2f}).to(ScalarType.BFloat16);
      assertEquals(3.0, FusedKernels.l2Norm(list("x", List.of(x))).total());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lists")
  void copyAndRestoreCopyEveryElement(String description, long[][] shapes) {
    try (PointerScope scope = new PointerScope()) {
      List<Tensor> src = randomList(shapes, 1.0);
      List<Tensor> dst = randomList(shapes, 1.0);
      FusedKernels.copy(list("dst", dst), list("src", src));
      List<Tensor> restored = randomList(shapes, 1.0);
      FusedKernels.restore(list("params", restored), list("backup", src));
      for (int i = 0; i < shapes.length; i++) {
        assertTrue(identical(dst.get(i), src.get(i)), description + " copy tensor " + i);
        assertTrue(identical(restored.get(i), src.get(i)), description + " restore tensor " + i);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("lists")
  void fgmAddsTheNormalisedGradient(String description, long[][] shapes) {
    try (PointerScope scope = new PointerScope()) {
      double epsilon = 0.75;
      List<Tensor> original = randomList(shapes, 1.0);
      List<Tensor> grads = randomList(shapes, 0.01);
      List<Tensor> params = clones(original);
      List<Tensor> backup = randomList(shapes, 1.0);
      FusedKernels.Perturbation result = FusedKernels.fgmPerturb(list("params", params),
          list("backup", backup), list("grads", grads), epsilon);
      assertTrue(result.allApplied(), result.skipped().toString());
      for (int i = 0; i < shapes.length; i++) {
        assertTrue(identical(backup.get(i), original.get(i)), "backup of tensor " + i);
        Tensor expected = original.get(i);
        if (original.get(i).numel() > 0) {
          Tensor g = grads.get(i);
          expected = original.get(i).add(g.div(g.norm()).mul(new Scalar(epsilon)));
        }
        assertTrue(relativeError(params.get(i), expected) <= FP32_TOLERANCE,
            description + " tensor " + i);
      }
    }
  }

  @Test
  void fgmSkipsZeroAndNonFiniteGradientsAndSaysWhich() {
    try (PointerScope scope = new PointerScope()) {
      List<Tensor> original = randomList(new long[][] {{5}, {5}, {5}, {5}}, 1.0);
      List<Tensor> grads = randomList(new long[][] {{5}, {5}, {5}, {5}}, 1.0);
      grads.get(1).zero_();
      grads.get(2).select(0, 3).fill_(new Scalar(Double.NaN));
      grads.get(3).select(0, 0).fill_(new Scalar(Double.POSITIVE_INFINITY));
      List<Tensor> params = clones(original);
      List<Tensor> backup = randomList(new long[][] {{5}, {5}, {5}, {5}}, 1.0);
      FusedKernels.Perturbation result = FusedKernels.fgmPerturb(
          TensorList.of("embeddings", List.of("a", "zero", "nan", "inf"), params),
          list("backup", backup), list("grads", grads), 0.75);
      assertEquals(List.of("zero", "nan", "inf"), result.skipped());
      assertTrue(!identical(params.get(0), original.get(0)), "the finite gradient is applied");
      for (int i = 1; i < 4; i++) {
        assertTrue(identical(params.get(i), original.get(i)), "tensor " + i + " untouched");
      }
    }
  }

  /**
   * Three PGD steps with a fresh gradient each, against the reference's attack-and-project
   * written in LibTorch ops: param += alpha * g / ||g||; r = param - backup;
   * if ||r|| > epsilon then param = backup + epsilon * r / ||r||.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("lists")
  void pgdStepsMatchTheReferenceLoop(String description, long[][] shapes) {
    try (PointerScope scope = new PointerScope()) {
      double alpha = 0.5;
      double epsilon = 1.0;  // reached on the third step, so the projection is exercised
      List<Tensor> backup = randomList(shapes, 1.0);
      List<Tensor> ours = clones(backup);
      List<Tensor> expected = clones(backup);
      for (int step = 0; step < 3; step++) {
        List<Tensor> grads = randomList(shapes, 0.01);
        for (int i = 0; i < shapes.length; i++) {  // a shared drift makes steps accumulate
          grads.get(i).add_(torch.ones(shapes[i]).mul(new Scalar(0.02)));
        }
        FusedKernels.pgdStep(list("params", ours), list("backup", backup), list("grads", grads),
            alpha, epsilon);
        for (int i = 0; i < shapes.length; i++) {
          if (backup.get(i).numel() == 0) {
            continue;
          }
          Tensor g = grads.get(i);
          Tensor moved = expected.get(i).add(g.div(g.norm()).mul(new Scalar(alpha)));
          Tensor r = moved.sub(backup.get(i));
          double rNorm = r.norm().item_double();
          expected.set(i, rNorm > epsilon
              ? backup.get(i).add(r.mul(new Scalar(epsilon / rNorm))) : moved);
          assertTrue(relativeError(ours.get(i), expected.get(i)) <= FP32_TOLERANCE,
              description + " step " + step + " tensor " + i);
        }
      }
      for (int i = 0; i < shapes.length; i++) {
        double displacement = ours.get(i).sub(backup.get(i)).to(ScalarType.Double).norm().item_double();
        assertTrue(displacement <= epsilon * (1 + 1e-5), "stays in the epsilon ball: " + displacement);
      }
    }
  }

  @Test
  void listsMadeOutsideAScopeOutliveTheScopesTheyAreUsedIn() {
    List<Tensor> src = randomList(new long[][] {{10}, {3}}, 1.0);
    List<Tensor> dst = randomList(new long[][] {{10}, {3}}, 1.0);
    TensorList source = list("src", src);
    TensorList destination = list("dst", dst);
    for (int step = 0; step < 3; step++) {
      try (PointerScope scope = new PointerScope()) {
        FusedKernels.copy(destination, source);
        src.get(0).add_(torch.ones(10));
      }
    }
    assertTrue(identical(dst.get(0), src.get(0).sub(torch.ones(10))));
  }
}

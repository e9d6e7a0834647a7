package dev.vidtag.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.kernels.CpuFeatures;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.runtime.TorchRuntime;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** int8 weights with fp32 activations (FBGEMM) against fp32 PyTorch. */
class Int8ModelTest {
  /**
   * Max |int8 - fp32 PyTorch| / max |fp32 PyTorch| over the fixture logits. Each linear rounds
   * its input to 1/255 of the input's range (per tensor) and each weight row to 1/255 of its
   * magnitude; measured 1.3e-2 (single) and 4.7e-2 (double: BERT plus three decoder layers) on
   * these tiny, strongly perturbed fixtures, against 0.6e-2 and 2.3e-2 for bf16. The input
   * rounding dominates: per-tensor weights gave 1.3e-2 and 5.8e-2. The reduced range (each row
   * rounded to 1/126 of its magnitude) measured 2.6e-2 and 6.6e-2 on an AVX2-only AMD EPYC.
   */
  static final double INT8_MODEL_TOLERANCE = 8e-2;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  /** The range this CPU's kernel computes exactly, and the narrow one forced, on any CPU. */
  static Int8WeightRange[] ranges() {
    return Int8WeightRange.forThisProcess() == Int8WeightRange.REDUCED
        ? new Int8WeightRange[] {Int8WeightRange.REDUCED}
        : new Int8WeightRange[] {Int8WeightRange.FULL, Int8WeightRange.REDUCED};
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("ranges")
  void int8LinearIsTheLinearOfTheRoundedWeightsAndInputs(Int8WeightRange range) {
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      torch.manual_seed(3);
      // rows of very different sizes: per-tensor rounding would flatten the small ones
      Tensor w = torch.randn(48, 40).mul(torch.logspace(new Scalar(-3.0), new Scalar(0.0), 48).unsqueeze(1));
      Tensor b = torch.randn(48);
      Tensor x = torch.randn(2, 5, 40);
      Int8Linear int8 = Int8Linear.quantize(w, b, range);

      // each row of the stored weight is that row rounded to a grid of its own largest magnitude
      // (per-channel), not of the whole matrix's range: FBGEMM's 255 levels over [-max, max], or
      // 63 steps on each side of zero for the reduced range
      double halfStep = range == Int8WeightRange.FULL ? 1.0 / 255 : 0.5 / 63;
      Tensor rowMax = w.abs().amax(new long[] {1}, true);
      Tensor rounding = int8.dequantizedWeight().sub(w).abs().div(rowMax);
      double worst = rounding.max().item_double();
      assertTrue(worst <= halfStep * 1.001, "weight rounding per row " + worst);
      assertTrue(worst > 0, "the weight was rounded");

      Tensor ours = int8.forward(x);
      assertEquals(3, ours.dim());
      assertEquals(48, ours.size(2));
      Tensor exact = torch.linear(x, w, new TensorOptional(b));
      double error = Fixtures.relativeError(ours, exact);
      // measured 0.8e-2 with the reduced range, whose weight rounding is twice as coarse
      double tolerance = range == Int8WeightRange.FULL ? 1e-2 : 2e-2;
      assertTrue(error < tolerance, "int8 linear relative error " + error);
      assertTrue(error > 1e-5, "the int8 kernel ran (fp32 would agree to rounding)");
      // against the same rounded weight in fp32 only the input's 8-bit rounding remains
      Tensor rounded = torch.linear(x, int8.dequantizedWeight(), new TensorOptional(b));
      double inputError = Fixtures.relativeError(ours, rounded);
      assertTrue(inputError < error, "input rounding " + inputError + " vs total " + error);
    }
  }

  /**
   * The input FBGEMM's int16 pair sums overflow without VNNI: non-negative inputs near the top
   * of their range (uint8 near 255) against rows of equal positive weights (int8 127 at full
   * range). Full-range weights on an AVX2 CPU clip every pair sum at 32,767, about half the
   * true value; the range chosen for this CPU, and the reduced range on any CPU, stay exact up
   * to rounding.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("ranges")
  void theChosenRangeDoesNotSaturate(Int8WeightRange range) {
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      torch.manual_seed(5);
      Tensor x = torch.rand(4, 64).mul(new Scalar(0.1)).add(new Scalar(0.9));
      Tensor w = torch.rand(16, 64).mul(new Scalar(0.05)).add(new Scalar(0.95));
      Tensor b = torch.zeros(16);
      Tensor ours = Int8Linear.quantize(w, b, range).forward(x);
      double error = Fixtures.relativeError(ours, torch.linear(x, w, new TensorOptional(b)));
      assertTrue(error < 1e-2, range + " int8 relative error " + error);
    }
  }

  @Test
  void fullRangeNeedsFbgemmsVnniKernels() {
    CpuFeatures vnni = new CpuFeatures(true, true, true, false, false);
    CpuFeatures avx512 = new CpuFeatures(true, true, false, false, false);
    CpuFeatures avx2 = new CpuFeatures(true, false, false, false, false);
    assertEquals(Int8WeightRange.FULL, Int8WeightRange.forCpu(vnni, null));
    assertEquals(Int8WeightRange.FULL, Int8WeightRange.forCpu(vnni, "AVX512_E1"));
    assertEquals(Int8WeightRange.FULL, Int8WeightRange.forCpu(vnni, "avx512_e1_256"));
    assertEquals(Int8WeightRange.REDUCED, Int8WeightRange.forCpu(vnni, "AVX2"));
    assertEquals(Int8WeightRange.REDUCED, Int8WeightRange.forCpu(vnni, "AVX512"));
    assertEquals(Int8WeightRange.REDUCED, Int8WeightRange.forCpu(avx512, null));
    assertEquals(Int8WeightRange.REDUCED, Int8WeightRange.forCpu(avx2, null));
  }

  static Stream<Arguments> architecturesAndRanges() {
    return Stream.of(Architecture.values())
        .flatMap(arch -> Stream.of(ranges()).map(range -> Arguments.of(arch, range)));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("architecturesAndRanges")
  void int8LogitsStayCloseToFp32PyTorch(Architecture arch, Int8WeightRange range) {
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(arch, Pooling.MEAN_MASKED);
    Map<String, Tensor> io = Fixtures.tensors(arch.configName() + "_io.safetensors");
    Map<String, Tensor> before = StateDicts.of(model);
    model.quantizeInt8(range);
    assertTrue(model.isInt8());
    assertEquals(before.keySet(), StateDicts.of(model).keySet(), "saved names unchanged");
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor logits = model.forward(Fixtures.inputs(io)).logits();
      double error = Fixtures.relativeError(logits, io.get("logits_mean_masked"));
      System.out.printf("int8 %s %s: max relative logit error vs fp32 PyTorch %.3e%n", arch,
          range, error);
      assertTrue(error < INT8_MODEL_TOLERANCE, "int8 relative error " + error);
      assertTrue(error > 1e-5, "int8 really ran in reduced precision");
    }
  }

  /**
   * The forward runs the int8 copies: zeroing an fp32 feed-forward weight after quantization
   * leaves the logits as they were, where it changes those of an fp32 model.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"SINGLE, bert.encoder.layer.1.intermediate.dense.weight",
      "DOUBLE, multi_head_decoder.layers.2.linear1.weight",
      "DOUBLE, multi_head_decoder.layers.0.self_attn.in_proj_weight"})
  void theQuantizedForwardUsesTheInt8Weights(Architecture arch, String weightName) {
    VideoClassifierModel fp32 = ModelParityTest.loadFixtureModel(arch, Pooling.MEAN_MASKED);
    VideoClassifierModel int8 = ModelParityTest.loadFixtureModel(arch, Pooling.MEAN_MASKED);
    int8.quantizeInt8();
    Map<String, Tensor> io = Fixtures.tensors(arch.configName() + "_io.safetensors");
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      ModelInputs inputs = Fixtures.inputs(io);
      Tensor fp32Before = fp32.forward(inputs).logits();
      Tensor int8Before = int8.forward(inputs).logits();
      StateDicts.of(fp32).get(weightName).zero_();
      StateDicts.of(int8).get(weightName).zero_();
      assertTrue(Fixtures.relativeError(fp32.forward(inputs).logits(), fp32Before) > 1e-3);
      assertTrue(int8.forward(inputs).logits().equal(int8Before));
    }
  }

  /** The int8 layers own their tensors: collecting garbage after quantization changes nothing. */
  @Test
  void int8WeightsSurviveGarbageCollection() throws InterruptedException {
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(Architecture.DOUBLE,
        Pooling.MEAN_MASKED);
    Map<String, Tensor> io = Fixtures.tensors("double_io.safetensors");
    model.quantizeInt8();
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor before = model.forward(Fixtures.inputs(io)).logits();
      for (int i = 0; i < 3; i++) {
        System.gc();
        Thread.sleep(50);
      }
      assertTrue(model.forward(Fixtures.inputs(io)).logits().equal(before));
    }
  }

  @Test
  void int8IsRefusedForTrainingAndForOtherDtypes() {
    VideoClassifierModel bf16 = ModelParityTest.loadFixtureModel(Architecture.SINGLE,
        Pooling.MEAN_ALL);
    bf16.to(ScalarType.BFloat16, false);
    assertThrows(IllegalStateException.class, bf16::quantizeInt8);

    VideoClassifierModel training = ModelParityTest.loadFixtureModel(Architecture.SINGLE,
        Pooling.MEAN_ALL);
    training.train(true);
    assertThrows(IllegalStateException.class, training::quantizeInt8);

    VideoClassifierModel model = ModelParityTest.loadFixtureModel(Architecture.SINGLE,
        Pooling.MEAN_ALL);
    model.quantizeInt8();
    model.train(true);
    Map<String, Tensor> io = Fixtures.tensors("single_io.safetensors");
    try (PointerScope scope = new PointerScope()) {
      assertThrows(IllegalStateException.class, () -> model.forward(Fixtures.inputs(io)));
    }
    assertThrows(IllegalArgumentException.class,
        () -> Int8Linear.quantize(torch.randn(4, 3).to(ScalarType.Double), torch.zeros(4)));
    assertThrows(IllegalArgumentException.class,
        () -> Int8Linear.quantize(torch.randn(4, 3), torch.zeros(3)));
    assertFalse(bf16.isInt8());
  }
}

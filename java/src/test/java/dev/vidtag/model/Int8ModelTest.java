package dev.vidtag.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.runtime.TorchRuntime;
import java.util.Map;
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
import org.junit.jupiter.params.provider.CsvSource;

/** int8 weights with fp32 activations (FBGEMM) against fp32 PyTorch. */
class Int8ModelTest {
  /**
   * Max |int8 - fp32 PyTorch| / max |fp32 PyTorch| over the fixture logits. Each linear rounds
   * its input to 1/255 of the input's range (per tensor) and each weight row to 1/255 of its
   * magnitude; measured 1.3e-2 (single) and 4.7e-2 (double: BERT plus three decoder layers) on
   * these tiny, strongly perturbed fixtures, against 0.6e-2 and 2.3e-2 for bf16. The input
   * rounding dominates: per-tensor weights gave 1.3e-2 and 5.8e-2.
   */
  static final double INT8_MODEL_TOLERANCE = 8e-2;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  @Test
  void int8LinearIsTheLinearOfTheRoundedWeightsAndInputs() {
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      torch.manual_seed(3);
      // rows of very different sizes: per-tensor rounding would flatten the small ones
      Tensor w = torch.randn(48, 40).mul(torch.logspace(new Scalar(-3.0), new Scalar(0.0), 48).unsqueeze(1));
      Tensor b = torch.randn(48);
      Tensor x = torch.randn(2, 5, 40);
      Int8Linear int8 = Int8Linear.quantize(w, b);

      // each row of the stored weight is that row rounded to a grid of at most 2/255 of its
      // largest magnitude (per-channel), not of the whole matrix's range
      Tensor rowMax = w.abs().amax(new long[] {1}, true);
      Tensor rounding = int8.dequantizedWeight().sub(w).abs().div(rowMax);
      double worst = rounding.max().item_double();
      assertTrue(worst <= 1.0 / 255 * 1.001, "weight rounding per row " + worst);
      assertTrue(worst > 0, "the weight was rounded");

      Tensor ours = int8.forward(x);
      assertEquals(3, ours.dim());
      assertEquals(48, ours.size(2));
      Tensor exact = torch.linear(x, w, new TensorOptional(b));
      double error = Fixtures.relativeError(ours, exact);
      assertTrue(error < 1e-2, "int8 linear relative error " + error);
      assertTrue(error > 1e-5, "the int8 kernel ran (fp32 would agree to rounding)");
      // against the same rounded weight in fp32 only the input's 8-bit rounding remains
      Tensor rounded = torch.linear(x, int8.dequantizedWeight(), new TensorOptional(b));
      double inputError = Fixtures.relativeError(ours, rounded);
      assertTrue(inputError < error, "input rounding " + inputError + " vs total " + error);
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"SINGLE", "DOUBLE"})
  void int8LogitsStayCloseToFp32PyTorch(Architecture arch) {
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(arch, Pooling.MEAN_MASKED);
    Map<String, Tensor> io = Fixtures.tensors(arch.configName() + "_io.safetensors");
    Map<String, Tensor> before = StateDicts.of(model);
    model.quantizeInt8();
    assertTrue(model.isInt8());
    assertEquals(before.keySet(), StateDicts.of(model).keySet(), "saved names unchanged");
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor logits = model.forward(Fixtures.inputs(io)).logits();
      double error = Fixtures.relativeError(logits, io.get("logits_mean_masked"));
      System.out.printf("int8 %s: max relative logit error vs fp32 PyTorch %.3e%n", arch, error);
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

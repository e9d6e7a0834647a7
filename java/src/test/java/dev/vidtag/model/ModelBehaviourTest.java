package dev.vidtag.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.runtime.TorchRuntime;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
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

/** Masks, padding, train/eval and reduced precision on the fixture models. */
class ModelBehaviourTest {
  /**
   * bf16 weights and activations against the fp32 PyTorch logits: max |bf16 - fp32| / max |fp32|.
   * Measured on these fixtures (CPU, AVX-512): 6.0e-3 single stream, 2.3e-2 double stream (its
   * three post-LN decoder layers after BERT); the bound leaves room for other CPUs' bf16 kernels.
   */
  static final double BF16_TOLERANCE = 5e-2;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  @Test
  void keyPaddingBiasIsZeroForRealKeysAndMinusTenThousandForPadding() {
    Tensor keep = torch.tensor(new float[] {1, 0, 1}).reshape(1, 3).to(ScalarType.Bool);
    Tensor bias = AttentionMasks.keyPaddingBias(keep, ScalarType.Float);
    assertEquals(4, bias.dim());
    assertEquals(0f, bias.flatten(0, -1).select(0, 0).item_float());
    assertEquals(-10000f, bias.flatten(0, -1).select(0, 1).item_float());
    assertEquals(0f, bias.flatten(0, -1).select(0, 2).item_float());
  }

  /**
   * The defined behaviour when every key is padding: each key gets the same bias, so attention
   * is the unmasked attention over all keys (where a boolean mask would give NaN), up to the
   * rounding of scores near -10000 in fp32 (ulp 2^-10, about 1e-3).
   */
  @Test
  void aQueryWhoseKeysAreAllPaddingAttendsAsIfUnmasked() {
    try (PointerScope scope = new PointerScope()) {
      Tensor q = torch.randn(2, 3, 4, 8);
      Tensor kv = torch.randn(2, 3, 5, 8);
      Tensor noKeys = torch.zeros(2, 5).to(ScalarType.Bool);
      Tensor masked = torch.scaled_dot_product_attention(q, kv, kv, new TensorOptional(
          AttentionMasks.keyPaddingBias(noKeys, ScalarType.Float)), 0.0, false,
          new DoubleOptional(), false);
      Tensor unmasked = torch.scaled_dot_product_attention(q, kv, kv);
      assertTrue(torch.isfinite(masked).all().item_bool());
      double error = Fixtures.relativeError(masked, unmasked);
      assertTrue(error < 5e-3, "relative error " + error);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"SINGLE, MEAN_ALL", "SINGLE, MEAN_MASKED", "DOUBLE, MEAN_ALL",
      "DOUBLE, MEAN_MASKED"})
  void everythingMaskedStillGivesFiniteLogits(Architecture arch, Pooling pooling) {
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(arch, pooling);
    Map<String, Tensor> io = Fixtures.tensors(arch.configName() + "_io.safetensors");
    Tensor noText = torch.zeros_like(io.get("text_mask"));
    Tensor noFrames = torch.zeros_like(io.get("frame_mask"));
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor[][] masks = {{noText, io.get("frame_mask")}, {io.get("text_mask"), noFrames},
          {noText, noFrames}};
      for (Tensor[] m : masks) {
        Tensor logits = model.forward(new ModelInputs(io.get("text_ids"), m[0], io.get("frames"),
            m[1])).logits();
        assertTrue(torch.isfinite(logits).all().item_bool(), "non-finite logits");
      }
      if (pooling == Pooling.MEAN_MASKED && arch == Architecture.DOUBLE) {
        // no real frame: the pooled vector is zero, so the logits are the classifier's bias
        Tensor logits = model.forward(new ModelInputs(io.get("text_ids"), io.get("text_mask"),
            io.get("frames"), noFrames)).logits();
        Tensor bias = StateDicts.of(model).get("classifier.bias");
        for (int b = 0; b < logits.size(0); b++) {
          assertTrue(logits.select(0, b).equal(bias), "video " + b);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"SINGLE", "DOUBLE"})
  void paddedPositionsDoNotChangeMaskedMeanLogits(Architecture arch) {
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(arch, Pooling.MEAN_MASKED);
    Map<String, Tensor> io = Fixtures.tensors(arch.configName() + "_io.safetensors");
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      ModelInputs inputs = Fixtures.inputs(io);
      Tensor before = model.forward(inputs).logits();
      // new ids and frame values wherever the masks say padding
      Tensor textPad = io.get("text_mask").eq(new Scalar(0));
      Tensor framePad = io.get("frame_mask").eq(new Scalar(0)).unsqueeze(2);
      Tensor ids = io.get("text_ids").masked_fill(textPad, new Scalar(42));
      Tensor frames = io.get("frames").masked_fill(framePad, new Scalar(7.5));
      Tensor after = model.forward(new ModelInputs(ids, io.get("text_mask"), frames,
          io.get("frame_mask"))).logits();
      assertTrue(Fixtures.relativeError(after, before) < 1e-6);
      // a real position does change them (the check above can fail)
      Tensor changed = model.forward(new ModelInputs(io.get("text_ids").add(new Scalar(1)),
          io.get("text_mask"), frames, io.get("frame_mask"))).logits();
      assertTrue(Fixtures.relativeError(changed, before) > 1e-3);
    }
  }

  /** LibTorch calls back into Java modules on train/eval: none of them may have been collected. */
  @Test
  void trainAndEvalWorkAfterGarbageCollection() {
    for (Architecture arch : Architecture.values()) {
      VideoClassifierModel model = VideoClassifierModel.create(Fixtures.tinyConfig(arch,
          Pooling.MEAN_MASKED));
      for (int i = 0; i < 3; i++) {
        System.gc();
        model.train(true);
        model.eval();
      }
      assertFalse(model.is_training());
    }
  }

  @Test
  void dropoutActsOnlyInTrainingMode() {
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(Architecture.DOUBLE,
        Pooling.MEAN_MASKED);
    Map<String, Tensor> io = Fixtures.tensors("double_io.safetensors");
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      ModelInputs inputs = Fixtures.inputs(io);
      Tensor eval1 = model.forward(inputs).logits();
      assertTrue(eval1.equal(model.forward(inputs).logits()));
      model.train(true);
      Tensor train1 = model.forward(inputs).logits();
      Tensor train2 = model.forward(inputs).logits();
      assertFalse(train1.equal(train2), "dropout in training mode");
      model.train(false);
      assertTrue(eval1.equal(model.forward(inputs).logits()));
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"SINGLE", "DOUBLE"})
  void bf16LogitsStayCloseToFp32(Architecture arch) {
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(arch, Pooling.MEAN_ALL);
    model.to(ScalarType.BFloat16, false);
    assertEquals(ScalarType.BFloat16, model.parameterType().intern());
    Map<String, Tensor> io = Fixtures.tensors(arch.configName() + "_io.safetensors");
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor logits = model.forward(Fixtures.inputs(io)).logits();
      assertEquals(ScalarType.Float, logits.scalar_type().intern());
      double error = Fixtures.relativeError(logits, io.get("logits_mean_all"));
      System.out.printf("bf16 %s: max relative logit error vs fp32 PyTorch %.3e%n", arch, error);
      assertTrue(error < BF16_TOLERANCE, "bf16 relative error " + error);
      assertTrue(error > 0, "bf16 really ran in reduced precision");
    }
  }

  @Test
  void badInputsAreJavaErrorsNotCrashes() {
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(Architecture.SINGLE,
        Pooling.MEAN_ALL);
    Map<String, Tensor> io = Fixtures.tensors("single_io.safetensors");
    try (PointerScope scope = new PointerScope()) {
      assertThrows(IllegalArgumentException.class, () -> model.forward(new ModelInputs(
          io.get("text_ids").to(ScalarType.Int), io.get("text_mask"), io.get("frames"),
          io.get("frame_mask"))));
      assertThrows(IllegalArgumentException.class, () -> model.forward(new ModelInputs(
          io.get("text_ids"), io.get("text_mask"), io.get("frames").narrow(2, 0, 5),
          io.get("frame_mask"))));
      assertThrows(IllegalArgumentException.class, () -> model.forward(new ModelInputs(
          io.get("text_ids"), io.get("frame_mask"), io.get("frames"), io.get("frame_mask"))));
    }
  }
}

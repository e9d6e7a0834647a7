package dev.vidtag.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.runtime.TorchRuntime;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * VidTag's attention kernels against LibTorch's SDPA inside the models: the PyTorch fixtures'
 * logits (which cover padded text and frames), and a training step's gradients of every
 * parameter, which reach the kernels' backward through the hooks of {@link AttentionFunction}.
 */
class AttentionBackendTest {
  private static final double LOGITS_TOLERANCE = 1e-5;
  private static final double GRADIENT_TOLERANCE = 1e-4;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"SINGLE", "DOUBLE"})
  void kernelLogitsEqualSdpaLogitsAndThePyTorchFixture(Architecture arch) {
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(arch, Pooling.MEAN_MASKED);
    Map<String, Tensor> io = Fixtures.tensors(arch.configName() + "_io.safetensors");
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      ModelInputs inputs = Fixtures.inputs(io);
      model.useAttention(AttentionBackend.SDPA);
      Tensor sdpa = model.forward(inputs).logits();
      model.useAttention(AttentionBackend.VIDTAG);
      Tensor ours = model.forward(inputs).logits();
      assertTrue(Fixtures.relativeError(ours, sdpa) <= LOGITS_TOLERANCE,
          "kernels vs sdpa " + Fixtures.relativeError(ours, sdpa));
      assertTrue(Fixtures.relativeError(ours, io.get("logits_mean_masked")) <= 1e-4,
          "kernels vs PyTorch " + Fixtures.relativeError(ours, io.get("logits_mean_masked")));
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"SINGLE", "DOUBLE"})
  void aTrainingStepHasTheSameGradientsOnBothBackends(Architecture arch) {
    VideoClassifierModel model = trainingModel(arch, 0.0);
    Map<String, Tensor> io = Fixtures.tensors(arch.configName() + "_io.safetensors");
    Map<String, Tensor> sdpa = gradients(model, io, AttentionBackend.SDPA);
    Map<String, Tensor> ours = gradients(model, io, AttentionBackend.VIDTAG);
    double largest = 0;
    for (Tensor g : sdpa.values()) {
      largest = Math.max(largest, g.abs().max().item_double());
    }
    int compared = 0;
    for (Map.Entry<String, Tensor> e : sdpa.entrySet()) {
      Tensor expected = e.getValue();
      Tensor actual = ours.get(e.getKey());
      // the key projection's bias gets none (a row's softmax ignores a shift of all its
      // scores): both sides are rounding noise there, compared with the model's gradients
      if (expected.abs().max().item_double() < 1e-6 * largest) {
        assertTrue(actual.abs().max().item_double() < 1e-6 * largest, e.getKey());
        continue;
      }
      double error = Fixtures.relativeError(actual, expected);
      assertTrue(error <= GRADIENT_TOLERANCE, e.getKey() + ": " + error);
      compared++;
    }
    assertTrue(compared > 20, "only " + compared + " parameters had a gradient");
  }

  @Test
  void attentionDropoutInTrainingIsRepeatableFromTheSeed() {
    VideoClassifierModel model = trainingModel(Architecture.DOUBLE, 0.1);
    Map<String, Tensor> io = Fixtures.tensors("double_io.safetensors");
    Map<String, Tensor> first = gradients(model, io, AttentionBackend.VIDTAG);
    Map<String, Tensor> again = gradients(model, io, AttentionBackend.VIDTAG);
    Map<String, Tensor> otherSeed = gradientsWithSeed(model, io, AttentionBackend.VIDTAG, 99L);
    boolean anyDiffers = false;
    for (String name : first.keySet()) {
      assertTrue(first.get(name).equal(again.get(name)), name + " differs for one seed");
      anyDiffers |= !first.get(name).equal(otherSeed.get(name));
    }
    assertTrue(anyDiffers, "another seed drew the same masks");
  }

  @Test
  void clipEmbeddingsAgreeOnBothBackends() {
    ClipConfig config = new ClipConfig(32, 2, 4, 8, 32, 12);
    ClipVisionTransformer clip = new ClipVisionTransformer(config);
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor pixels = torch.randn(3, 3, 32, 32);
      clip.useAttention(AttentionBackend.SDPA);
      Tensor sdpa = clip.forward(pixels);
      clip.useAttention(AttentionBackend.VIDTAG);
      Tensor ours = clip.forward(pixels);
      assertTrue(Fixtures.relativeError(ours, sdpa) <= LOGITS_TOLERANCE);
    }
  }

  @Test
  void backendNamesParse() {
    assertEquals(AttentionBackend.VIDTAG, AttentionBackend.parse("vidtag"));
    assertEquals(AttentionBackend.SDPA, AttentionBackend.parse(" SDPA "));
    assertEquals("sdpa", AttentionBackend.SDPA.cliName());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AttentionBackend.parse("flash"));
    assertTrue(e.getMessage().contains("vidtag or sdpa"), e.getMessage());
  }

  private static VideoClassifierModel trainingModel(Architecture arch, double dropout) {
    VideoClassifierModel fixture = ModelParityTest.loadFixtureModel(arch, Pooling.MEAN_MASKED);
    VideoClassifierModel model = VideoClassifierModel.create(
        fixture.config().withDropout(dropout));
    StateDicts.load(model, StateDicts.of(fixture), java.nio.file.Path.of("fixture"));
    model.train(true);
    return model;
  }

  private static Map<String, Tensor> gradients(VideoClassifierModel model,
      Map<String, Tensor> io, AttentionBackend backend) {
    return gradientsWithSeed(model, io, backend, 5L);
  }

  /** Every parameter's gradient of the summed squared logits after one forward and backward. */
  private static Map<String, Tensor> gradientsWithSeed(VideoClassifierModel model,
      Map<String, Tensor> io, AttentionBackend backend, long seed) {
    model.useAttention(backend);
    model.dropout().reseed(seed);
    Map<String, Tensor> parameters = StateDicts.parameters(model);
    for (Tensor p : parameters.values()) {
      if (p.grad().defined()) {
        p.grad().zero_();
      }
    }
    try (PointerScope scope = new PointerScope()) {
      Tensor logits = model.forward(Fixtures.inputs(io)).logits();
      logits.pow(new org.bytedeco.pytorch.Scalar(2)).sum().backward();
    }
    Map<String, Tensor> gradients = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
      Tensor grad = e.getValue().grad();
      gradients.put(e.getKey(), grad.defined() ? grad.clone() : torch.zeros_like(e.getValue()));
    }
    assertFalse(gradients.isEmpty());
    return gradients;
  }
}

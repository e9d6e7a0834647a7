package dev.vidtag.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.model.weights.SafetensorsFile;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.runtime.TorchRuntime;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Both models against PyTorch's own modules (Hugging Face BertModel, nn.TransformerDecoderLayer):
 * same weights and inputs, eval mode, logits and pooled sequences within 1e-4 relative
 * (max |ours - theirs| / max |theirs|) in fp32.
 */
class ModelParityTest {
  static final double FP32_TOLERANCE = 1e-4;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  static VideoClassifierModel loadFixtureModel(Architecture arch, Pooling pooling) {
    VideoClassifierModel model = VideoClassifierModel.create(Fixtures.tinyConfig(arch, pooling));
    String name = arch.configName() + ".safetensors";
    try (SafetensorsFile file = SafetensorsFile.open(Fixtures.file(name))) {
      Map<String, Tensor> source = StateDicts.rename(file.views(),
          k -> k.startsWith("multi_head_decoderlayer.") ? null : k);
      StateDicts.load(model, source, file.path()).requireComplete(file.path());
    }
    model.eval();
    return model;
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"SINGLE", "DOUBLE"})
  void parameterNamesAreTheReferenceCheckpointNames(Architecture arch) {
    VideoClassifierModel model = VideoClassifierModel.create(Fixtures.tinyConfig(arch, Pooling.MEAN_ALL));
    Set<String> ours = new TreeSet<>(StateDicts.of(model).keySet());
    Set<String> theirs = new TreeSet<>();
    try (SafetensorsFile file = SafetensorsFile.open(Fixtures.file(arch.configName()
        + ".safetensors"))) {
      for (String name : file.names()) {
        if (!name.startsWith("multi_head_decoderlayer.")) {
          theirs.add(name);
        }
      }
    }
    assertEquals(theirs, ours);
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"SINGLE, MEAN_ALL", "SINGLE, MEAN_MASKED", "DOUBLE, MEAN_ALL",
      "DOUBLE, MEAN_MASKED"})
  void logitsMatchPyTorch(Architecture arch, Pooling pooling) {
    VideoClassifierModel model = loadFixtureModel(arch, pooling);
    Map<String, Tensor> io = Fixtures.tensors(arch.configName() + "_io.safetensors");
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      ModelOutputs out = model.forward(Fixtures.inputs(io));
      String key = pooling == Pooling.MEAN_ALL ? "logits_mean_all" : "logits_mean_masked";
      double logitError = Fixtures.relativeError(out.logits(), io.get(key));
      assertTrue(logitError < FP32_TOLERANCE, "logits relative error " + logitError);
      double hiddenError = Fixtures.relativeError(out.hidden(), io.get("hidden"));
      assertTrue(hiddenError < FP32_TOLERANCE, "hidden relative error " + hiddenError);
    }
  }
}

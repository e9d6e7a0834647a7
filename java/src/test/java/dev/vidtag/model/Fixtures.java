package dev.vidtag.model;

import dev.vidtag.model.weights.SafetensorsFile;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The PyTorch / Hugging Face fixtures of src/test/fixtures/model (written by make_fixtures.py
 * there): tiny models with the reference's names, their inputs and eval-mode outputs.
 */
public final class Fixtures {
  public static final Path DIR = Path.of("src/test/fixtures/model");

  private Fixtures() {}

  public static Path file(String name) {
    return DIR.resolve(name);
  }

  /** The tiny BERT of the fixtures (make_fixtures.py: bert_config). */
  public static BertConfig tinyBert() {
    return new BertConfig(99, 32, 2, 4, 37, 40, 2, 1e-12, 0.1, 0.1, "gelu");
  }

  public static ModelConfig tinyConfig(Architecture arch, Pooling pooling) {
    return new ModelConfig(arch, 7, 24, 5, 9, pooling,
        arch == Architecture.DOUBLE ? new DecoderConfig(3, 4, 48, 0.1, 1e-5) : null, tinyBert());
  }

  /** Every tensor of a fixture file, copied. */
  public static Map<String, Tensor> tensors(String name) {
    try (SafetensorsFile f = SafetensorsFile.open(file(name))) {
      return f.loadAll();
    }
  }

  public static ModelInputs inputs(Map<String, Tensor> io) {
    return new ModelInputs(io.get("text_ids"), io.get("text_mask"), io.get("frames"),
        io.get("frame_mask"));
  }

  /** max |ours - expected| / max |expected|, in float64. */
  public static double relativeError(Tensor ours, Tensor expected) {
    Tensor e = expected.to(ScalarType.Double);
    double diff = ours.to(ScalarType.Double).sub(e).abs().max().item_double();
    return diff / e.abs().max().item_double();
  }
}

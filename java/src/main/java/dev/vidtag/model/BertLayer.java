package dev.vidtag.model;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** {@code encoder.layer.<i>}: attention, then the GELU (erf) feed-forward block, post-LN. */
final class BertLayer extends Module {
  private final BertAttention attention;
  private final Intermediate intermediate;
  private final BertResidualOutput output;

  BertLayer(BertConfig config, Dropout dropout) {
    attention = register_module("attention", new BertAttention(config, dropout));
    intermediate = register_module("intermediate", new Intermediate(config));
    output = register_module("output",
        new BertResidualOutput(config, config.intermediateSize(), dropout));
  }

  Tensor forward(Tensor x, Tensor bias) {
    Tensor attended = attention.forward(x, bias);
    return output.forward(intermediate.forward(attended), attended);
  }

  void useAttention(AttentionBackend backend) {
    attention.useAttention(backend);
  }

  void quantizeInt8(Int8Quantizer quantizer) {
    attention.quantizeInt8(quantizer);
    intermediate.dense.quantizeInt8(quantizer);
    output.quantizeInt8(quantizer);
  }

  /** {@code intermediate.dense} followed by the exact GELU. */
  static final class Intermediate extends Module {
    private final Linear dense;

    Intermediate(BertConfig config) {
      dense = new Linear(this, "dense", config.hiddenSize(), config.intermediateSize());
    }

    Tensor forward(Tensor x) {
      return torch.gelu(dense.forward(x));
    }
  }
}

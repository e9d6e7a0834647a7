package dev.vidtag.model;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** {@code attention}: self-attention ({@code self}) and its residual output ({@code output}). */
final class BertAttention extends Module {
  private final BertSelfAttention self;
  private final BertResidualOutput output;

  BertAttention(BertConfig config, Dropout dropout) {
    self = register_module("self", new BertSelfAttention(config, dropout));
    output = register_module("output",
        new BertResidualOutput(config, config.hiddenSize(), dropout));
  }

  Tensor forward(Tensor x, Tensor bias) {
    return output.forward(self.forward(x, bias), x);
  }

  void useAttention(AttentionBackend backend) {
    self.useAttention(backend);
  }

  void quantizeInt8(Int8Quantizer quantizer) {
    self.quantizeInt8(quantizer);
    output.quantizeInt8(quantizer);
  }
}

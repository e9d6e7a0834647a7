package dev.vidtag.model;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** {@code attention.self}: query, key, value projections and scaled dot-product attention. */
final class BertSelfAttention extends Module {
  private final Linear query;
  private final Linear key;
  private final Linear value;
  private final int heads;
  private final double dropoutProbability;
  private final AttentionFunction attention;

  BertSelfAttention(BertConfig config, Dropout dropout) {
    int h = config.hiddenSize();
    query = new Linear(this, "query", h, h);
    key = new Linear(this, "key", h, h);
    value = new Linear(this, "value", h, h);
    heads = config.numAttentionHeads();
    dropoutProbability = config.attentionProbsDropoutProb();
    attention = new AttentionFunction(dropout);
  }

  /** x [B, L, H], bias [B, 1, 1, L] additive. */
  Tensor forward(Tensor x, Tensor bias) {
    return attention.forward(query.forward(x), key.forward(x), value.forward(x), bias, heads,
        is_training() ? dropoutProbability : 0.0);
  }

  void useAttention(AttentionBackend backend) {
    attention.use(backend);
  }

  void quantizeInt8(Int8Quantizer quantizer) {
    query.quantizeInt8(quantizer);
    key.quantizeInt8(quantizer);
    value.quantizeInt8(quantizer);
  }
}

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
  private final Dropout dropout;

  BertSelfAttention(BertConfig config, Dropout dropout) {
    int h = config.hiddenSize();
    query = new Linear(this, "query", h, h);
    key = new Linear(this, "key", h, h);
    value = new Linear(this, "value", h, h);
    heads = config.numAttentionHeads();
    dropoutProbability = config.attentionProbsDropoutProb();
    this.dropout = dropout;
  }

  /** x [B, L, H], bias [B, 1, 1, L] additive. */
  Tensor forward(Tensor x, Tensor bias) {
    Tensor q = Layers.splitHeads(query.forward(x), heads);
    Tensor k = Layers.splitHeads(key.forward(x), heads);
    Tensor v = Layers.splitHeads(value.forward(x), heads);
    return Layers.mergeHeads(Layers.attention(q, k, v, bias, dropout,
        is_training() ? dropoutProbability : 0.0));
  }

  void quantizeInt8(Int8Quantizer quantizer) {
    query.quantizeInt8(quantizer);
    key.quantizeInt8(quantizer);
    value.quantizeInt8(quantizer);
  }
}

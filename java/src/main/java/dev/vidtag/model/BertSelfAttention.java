package dev.vidtag.model;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/** {@code attention.self}: query, key, value projections and scaled dot-product attention. */
final class BertSelfAttention extends Module {
  private final Linear query;
  private final Linear key;
  private final Linear value;
  private final int heads;
  private final double dropout;

  BertSelfAttention(BertConfig config) {
    int h = config.hiddenSize();
    query = new Linear(this, "query", h, h);
    key = new Linear(this, "key", h, h);
    value = new Linear(this, "value", h, h);
    heads = config.numAttentionHeads();
    dropout = config.attentionProbsDropoutProb();
  }

  /** x [B, L, H], bias [B, 1, 1, L] additive. */
  Tensor forward(Tensor x, Tensor bias) {
    Tensor q = Layers.splitHeads(query.forward(x), heads);
    Tensor k = Layers.splitHeads(key.forward(x), heads);
    Tensor v = Layers.splitHeads(value.forward(x), heads);
    Tensor context = torch.scaled_dot_product_attention(q, k, v, new TensorOptional(bias),
        is_training() ? dropout : 0.0, false, new DoubleOptional(), false);
    return Layers.mergeHeads(context);
  }

  void quantizeInt8(Int8WeightRange range) {
    query.quantizeInt8(range);
    key.quantizeInt8(range);
    value.quantizeInt8(range);
  }
}

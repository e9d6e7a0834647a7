package dev.vidtag.model;

import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * PyTorch's {@code nn.TransformerDecoderLayer} (post-LayerNorm, ReLU, batch first) with its
 * names: self-attention over the targets, cross-attention to the memory, feed-forward, each
 * followed by dropout, residual and LayerNorm. No causal mask.
 */
final class TransformerDecoderLayer extends Module {
  private final MultiheadAttention selfAttn;
  private final MultiheadAttention multiheadAttn;
  private final Linear linear1;
  private final Linear linear2;
  private final LayerNormImpl norm1;
  private final LayerNormImpl norm2;
  private final LayerNormImpl norm3;
  private final double dropout;

  TransformerDecoderLayer(int width, DecoderConfig config) {
    selfAttn = register_module("self_attn",
        new MultiheadAttention(width, config.numHeads(), config.dropout()));
    multiheadAttn = register_module("multihead_attn",
        new MultiheadAttention(width, config.numHeads(), config.dropout()));
    linear1 = new Linear(this, "linear1", width, config.ffnSize());
    linear2 = new Linear(this, "linear2", config.ffnSize(), width);
    norm1 = register_module("norm1", Layers.layerNorm(width, config.layerNormEps()));
    norm2 = register_module("norm2", Layers.layerNorm(width, config.layerNormEps()));
    norm3 = register_module("norm3", Layers.layerNorm(width, config.layerNormEps()));
    dropout = config.dropout();
  }

  /** target [B, Lt, d] with key bias [B,1,1,Lt]; memory [B, Lm, d] with key bias [B,1,1,Lm]. */
  Tensor forward(Tensor target, Tensor targetBias, Tensor memory, Tensor memoryBias) {
    boolean training = is_training();
    Tensor x = norm1.forward(target.add(Layers.dropout(
        selfAttn.forward(target, target, targetBias), dropout, training)));
    x = norm2.forward(x.add(Layers.dropout(
        multiheadAttn.forward(x, memory, memoryBias), dropout, training)));
    Tensor hidden = Layers.dropout(torch.relu(linear1.forward(x)), dropout, training);
    return norm3.forward(x.add(Layers.dropout(linear2.forward(hidden), dropout, training)));
  }

  void quantizeInt8(Int8WeightRange range) {
    selfAttn.quantizeInt8(range);
    multiheadAttn.quantizeInt8(range);
    linear1.quantizeInt8(range);
    linear2.quantizeInt8(range);
  }
}

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
  private final double dropoutProbability;
  private final Dropout dropout;

  TransformerDecoderLayer(int width, DecoderConfig config, Dropout dropout) {
    selfAttn = register_module("self_attn",
        new MultiheadAttention(width, config.numHeads(), config.dropout(), dropout));
    multiheadAttn = register_module("multihead_attn",
        new MultiheadAttention(width, config.numHeads(), config.dropout(), dropout));
    linear1 = new Linear(this, "linear1", width, config.ffnSize());
    linear2 = new Linear(this, "linear2", config.ffnSize(), width);
    norm1 = register_module("norm1", Layers.layerNorm(width, config.layerNormEps()));
    norm2 = register_module("norm2", Layers.layerNorm(width, config.layerNormEps()));
    norm3 = register_module("norm3", Layers.layerNorm(width, config.layerNormEps()));
    dropoutProbability = config.dropout();
    this.dropout = dropout;
  }

  /** target [B, Lt, d] with key bias [B,1,1,Lt]; memory [B, Lm, d] with key bias [B,1,1,Lm]. */
  Tensor forward(Tensor target, Tensor targetBias, Tensor memory, Tensor memoryBias) {
    boolean training = is_training();
    Tensor x = norm1.forward(target.add(dropout.apply(
        selfAttn.forward(target, target, targetBias), dropoutProbability, training)));
    x = norm2.forward(x.add(dropout.apply(
        multiheadAttn.forward(x, memory, memoryBias), dropoutProbability, training)));
    Tensor hidden = dropout.apply(torch.relu(linear1.forward(x)), dropoutProbability, training);
    return norm3.forward(
        x.add(dropout.apply(linear2.forward(hidden), dropoutProbability, training)));
  }

  void useAttention(AttentionBackend backend) {
    selfAttn.useAttention(backend);
    multiheadAttn.useAttention(backend);
  }

  void quantizeInt8(Int8Quantizer quantizer) {
    selfAttn.quantizeInt8(quantizer);
    multiheadAttn.quantizeInt8(quantizer);
    linear1.quantizeInt8(quantizer);
    linear2.quantizeInt8(quantizer);
  }
}

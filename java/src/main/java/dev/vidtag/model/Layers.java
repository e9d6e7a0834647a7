package dev.vidtag.model;

import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LayerNormOptions;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/** Small factories and functions shared by the model blocks. */
final class Layers {
  private Layers() {}

  static LayerNormImpl layerNorm(int size, double eps) {
    LayerNormOptions options = new LayerNormOptions(new LongVector(new long[] {size}));
    options.eps().put(eps);
    return new LayerNormImpl(options);
  }

  /**
   * Runs one block of a stack in a pointer scope of its own and hands its output to the caller's
   * scope. A tensor is freed when its last Java handle is released, and the handles of a block's
   * temporaries would otherwise live until the caller's scope closes: a BERT-base forward at
   * batch 16 then held every layer's activations at once (3.9 GB peak instead of about 1 GB).
   * Autograd keeps what backward needs by itself. Outside any scope, the block runs as it is.
   */
  static Tensor scoped(Supplier<Tensor> block) {
    PointerScope caller = PointerScope.getInnerScope();
    if (caller == null) {
      return block.get();
    }
    try (PointerScope scope = new PointerScope()) {
      Tensor output = block.get();
      caller.attach(output);
      return output;
    }
  }

  /**
   * Scaled dot-product attention of q, k, v [B, heads, L, d] with an additive key bias (or null
   * for none). Without
   * dropout LibTorch's fused kernel computes it; dropout on the probabilities (training) draws
   * from the model's own generator, which LibTorch's function cannot take.
   */
  static Tensor attention(Tensor q, Tensor k, Tensor v, Tensor bias, Dropout dropout,
      double dropoutProbability) {
    if (dropoutProbability > 0) {
      return dropout.attention(q, k, v, bias, dropoutProbability);
    }
    TensorOptional mask = bias == null ? new TensorOptional() : new TensorOptional(bias);
    return torch.scaled_dot_product_attention(q, k, v, mask, 0.0, false,
        new DoubleOptional(), false);
  }

  /** [B, L, H] to [B, heads, L, H / heads]. */
  static Tensor splitHeads(Tensor x, int heads) {
    long b = x.size(0);
    long l = x.size(1);
    return x.view(b, l, heads, x.size(2) / heads).transpose(1, 2);
  }

  /** [B, heads, L, d] to [B, L, heads * d]. */
  static Tensor mergeHeads(Tensor x) {
    long b = x.size(0);
    long l = x.size(2);
    return x.transpose(1, 2).reshape(b, l, x.size(1) * x.size(3));
  }
}

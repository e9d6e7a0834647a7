package dev.vidtag.model;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * PyTorch's {@code nn.MultiheadAttention} (batch first, same width for queries, keys and values)
 * with its parameter names: {@code in_proj_weight} [3d, d], {@code in_proj_bias} [3d],
 * {@code out_proj}. LibTorch's own MultiheadAttention is sequence-first only.
 */
final class MultiheadAttention extends Module {
  private final Tensor inProjWeight;
  private final Tensor inProjBias;
  private final Linear outProj;
  private final int width;
  private final int heads;
  private final double dropoutProbability;
  private final AttentionFunction attention;
  /** The query, key and value projections with int8 weights, once quantized; else null. */
  private Int8Linear[] inProjInt8;

  MultiheadAttention(int width, int heads, double dropoutProbability, Dropout dropout) {
    this.width = width;
    this.heads = heads;
    this.dropoutProbability = dropoutProbability;
    attention = new AttentionFunction(dropout);
    // PyTorch's initialisation: xavier-uniform projection, zero biases
    // keep our own handles: register_parameter returns a reference into the module's parameter
    // table, which moves when the table grows
    inProjWeight = torch.empty(3L * width, width);
    torch.xavier_uniform_(inProjWeight);
    inProjBias = torch.zeros(3L * width);
    register_parameter("in_proj_weight", inProjWeight);
    register_parameter("in_proj_bias", inProjBias);
    outProj = new Linear(this, "out_proj", width, width);
    torch.zeros_(outProj.bias());
  }

  /** queries [B, Lq, d], keys and values from memory [B, Lk, d], key bias [B, 1, 1, Lk]. */
  Tensor forward(Tensor queries, Tensor memory, Tensor keyBias) {
    Tensor q = project(queries, 0);
    Tensor k = project(memory, 1);
    Tensor v = project(memory, 2);
    Tensor context = attention.forward(q, k, v, keyBias, heads,
        is_training() ? dropoutProbability : 0.0);
    return outProj.forward(context);
  }

  void useAttention(AttentionBackend backend) {
    attention.use(backend);
  }

  /** Each of the three input projections gets its own int8 scale. */
  void quantizeInt8(Int8Quantizer quantizer) {
    Int8Linear[] parts = new Int8Linear[3];
    for (int part = 0; part < 3; part++) {
      parts[part] = quantizer.quantize(inProjWeight.narrow(0, (long) part * width, width),
          inProjBias.narrow(0, (long) part * width, width));
    }
    inProjInt8 = parts;
    outProj.quantizeInt8(quantizer);
  }

  private Tensor project(Tensor x, int part) {
    if (inProjInt8 != null) {
      return inProjInt8[part].forward(x);
    }
    Tensor w = inProjWeight.narrow(0, (long) part * width, width);
    Tensor b = inProjBias.narrow(0, (long) part * width, width);
    return torch.linear(x, w, new TensorOptional(b));
  }
}

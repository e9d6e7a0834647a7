package dev.vidtag.model;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.T_TensorTensorDoubleLong_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A linear layer with int8 weights and fp32 activations, run by FBGEMM (built into LibTorch's
 * CPU library): the weight is quantized once to int8 and packed for FBGEMM's GEMM; each call
 * quantizes its input per tensor to uint8 from the input's own range, multiplies in int8 with
 * int32 accumulation and returns fp32. This is PyTorch's {@code quantize_dynamic} for
 * {@code nn.Linear} with per-channel weights. CPU only, inference only.
 *
 * <p>LibTorch's FBGEMM entry points quantize a weight per tensor, which costs a small row its
 * precision when another row is large. So each row is first divided by its largest magnitude
 * (every row then spans at most [-1, 1]), that matrix is quantized per tensor, and the output is
 * multiplied back by the row scales: per-channel weights for one extra pass over the output. The
 * bias goes in divided by the row scales, so that the one multiplication restores it too.
 *
 * <p>The tensors are created outside any pointer scope's reach ({@code retainReference}): the
 * layer lives as long as the model.
 */
public final class Int8Linear {
  private final Tensor weight;
  private final Tensor packed;
  private final Tensor columnOffsets;
  private final Scalar scale;
  private final Scalar zeroPoint;
  private final Tensor scaledBias;
  private final Tensor rowScales;
  private final long outFeatures;
  private final long inFeatures;

  private Int8Linear(Tensor weight, Tensor packed, Tensor columnOffsets, double scale,
      long zeroPoint, Tensor scaledBias, Tensor rowScales) {
    this.weight = weight.retainReference();
    this.packed = packed.retainReference();
    this.columnOffsets = columnOffsets.retainReference();
    this.scale = new Scalar(scale).retainReference();
    this.zeroPoint = new Scalar(zeroPoint).retainReference();
    this.scaledBias = scaledBias.retainReference();
    this.rowScales = rowScales.retainReference();
    this.outFeatures = weight.size(0);
    this.inFeatures = weight.size(1);
  }

  /**
   * Quantizes an fp32 CPU weight [out, in] with its bias [out]; the caller's tensors are left as
   * they are (the int8 layer keeps its own copies).
   */
  public static Int8Linear quantize(Tensor weight, Tensor bias) {
    if (weight.dim() != 2 || weight.scalar_type().intern() != ScalarType.Float) {
      throw new IllegalArgumentException("int8 quantization needs an fp32 weight [out, in], got "
          + weight.dim() + "-d " + weight.scalar_type().intern());
    }
    if (!weight.device().is_cpu()) {
      throw new IllegalArgumentException("int8 weights run on the CPU only (FBGEMM); the weight is"
          + " on " + weight.device().str().getString());
    }
    if (bias.dim() != 1 || bias.size(0) != weight.size(0)
        || bias.scalar_type().intern() != ScalarType.Float) {
      throw new IllegalArgumentException("the bias must be fp32 [" + weight.size(0) + "]");
    }
    Tensor w = weight.detach();
    // an all-zero row keeps scale 1 rather than dividing by zero
    Tensor rowScales = w.abs().amax(new long[] {1}, false);
    rowScales = torch.where(rowScales.gt(new Scalar(0.0)), rowScales, torch.ones_like(rowScales));
    Tensor normalized = w.div(rowScales.unsqueeze(1)).contiguous();
    T_TensorTensorDoubleLong_T q = torch.fbgemm_linear_quantize_weight(normalized);
    // the tuple's get0/get1 are references into the tuple, which the garbage collector frees:
    // take owning handles of our own
    Tensor int8 = new Tensor(q.get0());
    Tensor columnOffsets = new Tensor(q.get1());
    Tensor packed = torch.fbgemm_pack_quantized_matrix(int8);
    Tensor scaledBias = bias.detach().div(rowScales).contiguous();
    return new Int8Linear(int8, packed, columnOffsets, q.get2(), q.get3(), scaledBias,
        rowScales.contiguous());
  }

  /** x [..., in] fp32 to [..., out] fp32. */
  public Tensor forward(Tensor x) {
    if (x.size(-1) != inFeatures || x.scalar_type().intern() != ScalarType.Float) {
      throw new IllegalArgumentException("int8 linear expects fp32 [..., " + inFeatures
          + "], got last dimension " + x.size(-1) + " " + x.scalar_type().intern());
    }
    return torch.fbgemm_linear_int8_weight_fp32_activation(x.contiguous(), weight, packed,
        columnOffsets, scale, zeroPoint, scaledBias).mul_(rowScales);
  }

  public long inFeatures() {
    return inFeatures;
  }

  public long outFeatures() {
    return outFeatures;
  }

  /** The weight as the int8 kernel sees it, back in fp32: row scale * scale * (q - zero point). */
  public Tensor dequantizedWeight() {
    return weight.to(ScalarType.Float).sub(zeroPoint).mul(scale).mul(rowScales.unsqueeze(1));
  }
}

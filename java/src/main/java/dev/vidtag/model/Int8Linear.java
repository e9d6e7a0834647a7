package dev.vidtag.model;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
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
 * <p>The quantized weights span the {@link Int8WeightRange} that FBGEMM's kernel on this CPU sums
 * without overflow: all 255 levels where it accumulates in int32 (AVX-512 VNNI), [-63, 63]
 * elsewhere.
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
   * Quantizes an fp32 CPU weight [out, in] with its bias [out] to the range this CPU's kernel
   * computes exactly ({@link Int8WeightRange#forThisProcess()}); the caller's tensors are left as
   * they are (the int8 layer keeps its own copies).
   */
  public static Int8Linear quantize(Tensor weight, Tensor bias) {
    return quantize(weight, bias, Int8WeightRange.forThisProcess());
  }

  /** As {@link #quantize(Tensor, Tensor)}, to the given range. */
  public static Int8Linear quantize(Tensor weight, Tensor bias, Int8WeightRange range) {
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
    Tensor int8;
    Tensor columnOffsets;
    double scale;
    long zeroPoint;
    if (range == Int8WeightRange.FULL) {
      T_TensorTensorDoubleLong_T q = torch.fbgemm_linear_quantize_weight(normalized);
      // the tuple's get0/get1 are references into the tuple, which the garbage collector frees:
      // take owning handles of our own
      int8 = new Tensor(q.get0());
      columnOffsets = new Tensor(q.get1());
      scale = q.get2();
      zeroPoint = q.get3();
    } else {
      int levels = range.largestLevel();
      int8 = normalized.mul(new Scalar((double) levels)).round()
          .clamp(new ScalarOptional(new Scalar(-levels)), new ScalarOptional(new Scalar(levels)))
          .to(ScalarType.Char).contiguous();
      // FBGEMM's column offsets: each output row's sum of quantized weights minus its zero
      // point times the input width (the zero point is 0 here)
      columnOffsets = int8.to(ScalarType.Int).sum(new long[] {1}, false,
          new ScalarTypeOptional(ScalarType.Int)).contiguous();
      scale = 1.0 / levels;
      zeroPoint = 0;
    }
    Tensor packed = torch.fbgemm_pack_quantized_matrix(int8);
    Tensor scaledBias = bias.detach().div(rowScales).contiguous();
    return new Int8Linear(int8, packed, columnOffsets, scale, zeroPoint, scaledBias,
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

  /** Frees the layer's tensors now; it must not run again. */
  void release() {
    for (Tensor tensor : new Tensor[] {weight, packed, columnOffsets, scaledBias, rowScales}) {
      tensor.set_();
    }
  }

  /** The weight as the int8 kernel sees it, back in fp32: row scale * scale * (q - zero point). */
  public Tensor dequantizedWeight() {
    return weight.to(ScalarType.Float).sub(zeroPoint).mul(scale).mul(rowScales.unsqueeze(1));
  }
}

package dev.vidtag.model;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Key-padding masks as additive attention biases: 0 for a real key, -10000 for a padded one, as
 * the reference built them.
 *
 * <p>Why additive and finite: with a boolean mask, scaled_dot_product_attention returns NaN for a
 * query whose keys are all masked (a video with no frame, a text with no token). With a finite
 * bias every key of such a query gets the same -10000, so the softmax is the plain softmax of the
 * unmasked scores: the query attends over the padding and stays finite. Where at least one key
 * is real, exp(-10000) is 0 in fp32 and bf16, so the result equals a hard mask's (Hugging Face
 * uses the dtype's minimum; the outputs are the same).
 */
public final class AttentionMasks {
  public static final double MASKED_BIAS = -10000.0;

  private AttentionMasks() {}

  /** keep [B, L] (bool or 0/1) to a bias [B, 1, 1, L] of the given dtype. */
  public static Tensor keyPaddingBias(Tensor keep, ScalarType dtype) {
    long b = keep.size(0);
    long l = keep.size(1);
    return keep.to(dtype).sub(new Scalar(1.0)).mul(new Scalar(-MASKED_BIAS)).view(b, 1, 1, l);
  }
}

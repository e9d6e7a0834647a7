package dev.vidtag.train.pretrain;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Masked frame modelling's choice: each real frame is chosen with a probability (the
 * reference: 13.5%); padded frames never are. The chosen frames are zeroed after the frame
 * projection and predicted from the encoder's output.
 */
public final class MfmMasking {
  private final double probability;

  public MfmMasking(double probability) {
    if (!(probability > 0 && probability < 1)) {
      throw new IllegalArgumentException("frame masking probability must be in (0, 1), got "
          + probability);
    }
    this.probability = probability;
  }

  public double probability() {
    return probability;
  }

  /** The chosen frames [B, F] (bool) among the real ones of frameMask [B, F]. */
  public Tensor choose(Tensor frameMask, Generator generator) {
    long[] shape = {frameMask.size(0), frameMask.size(1)};
    Tensor draw = torch.rand(shape, new GeneratorOptional(generator),
        new TensorOptions(ScalarType.Float));
    return frameMask.to(ScalarType.Bool).logical_and(draw.lt(new Scalar(probability)));
  }
}

package dev.vidtag.train.pretrain;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * ALBEF's hard negatives: for each row of an in-batch similarity [B, B], another column drawn
 * with probability softmax(similarity) (plus 1e-5, so that every other column stays
 * possible), its own column excluded.
 */
public final class HardNegatives {
  private HardNegatives() {}

  /** One column per row [B] (int64), never the row's own. */
  public static Tensor sample(Tensor similarity, Generator generator) {
    long rows = similarity.size(0);
    if (rows < 2 || similarity.size(1) != rows) {
      throw new IllegalArgumentException("hard negatives need a square similarity of at least "
          + "2 x 2, got " + rows + " x " + similarity.size(1));
    }
    try (NoGradGuard noGrad = new NoGradGuard()) {
      Tensor others = torch.eye(rows, new TensorOptions(ScalarType.Float)).neg()
          .add(new Scalar(1.0));
      Tensor weights = torch.softmax(similarity.detach().to(ScalarType.Float), 1)
          .add(new Scalar(1e-5)).mul(others);
      return torch.multinomial(weights, 1, false, new GeneratorOptional(generator)).squeeze(1);
    }
  }
}

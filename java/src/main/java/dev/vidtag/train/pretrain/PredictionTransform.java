package dev.vidtag.train.pretrain;

import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LayerNormOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Hugging Face's BertPredictionHeadTransform: {@code dense} (H to H), GELU (erf),
 * {@code LayerNorm}. The start of the masked-token and masked-frame heads.
 */
final class PredictionTransform extends Module {
  private final LinearImpl dense;
  private final LayerNormImpl layerNorm;

  PredictionTransform(int hidden, double layerNormEps) {
    dense = register_module("dense", new LinearImpl(hidden, hidden));
    LayerNormOptions options = new LayerNormOptions(new LongVector(new long[] {hidden}));
    options.eps().put(layerNormEps);
    layerNorm = register_module("LayerNorm", new LayerNormImpl(options));
  }

  Tensor forward(Tensor hidden) {
    return layerNorm.forward(torch.gelu(dense.forward(hidden)));
  }
}

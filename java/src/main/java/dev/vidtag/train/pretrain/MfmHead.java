package dev.vidtag.train.pretrain;

import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * The masked-frame head: {@code transform} (Linear H to H, GELU, LayerNorm) and {@code decoder}
 * (Linear H to H), predicting a projected frame to be scored against the batch's frames.
 */
public final class MfmHead extends Module {
  private final PredictionTransform transform;
  private final LinearImpl decoder;

  public MfmHead(int hidden, double layerNormEps) {
    transform = register_module("transform", new PredictionTransform(hidden, layerNormEps));
    decoder = register_module("decoder", new LinearImpl(hidden, hidden));
  }

  public Tensor forward(Tensor hidden) {
    return decoder.forward(transform.forward(hidden));
  }
}

package dev.vidtag.model;

import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * dense, dropout, residual, LayerNorm: both {@code attention.output} (in = hidden) and
 * {@code output} (in = intermediate) of a BERT layer.
 */
final class BertResidualOutput extends Module {
  private final Linear dense;
  private final LayerNormImpl layerNorm;
  private final double dropout;

  BertResidualOutput(BertConfig config, int inputSize) {
    dense = new Linear(this, "dense", inputSize, config.hiddenSize());
    layerNorm = register_module("LayerNorm",
        Layers.layerNorm(config.hiddenSize(), config.layerNormEps()));
    dropout = config.hiddenDropoutProb();
  }

  Tensor forward(Tensor hidden, Tensor residual) {
    Tensor projected = Layers.dropout(dense.forward(hidden), dropout, is_training());
    return layerNorm.forward(projected.add(residual));
  }

  void quantizeInt8(Int8WeightRange range) {
    dense.quantizeInt8(range);
  }
}

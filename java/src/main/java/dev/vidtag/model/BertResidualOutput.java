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
  private final double dropoutProbability;
  private final Dropout dropout;

  BertResidualOutput(BertConfig config, int inputSize, Dropout dropout) {
    dense = new Linear(this, "dense", inputSize, config.hiddenSize());
    layerNorm = register_module("LayerNorm",
        Layers.layerNorm(config.hiddenSize(), config.layerNormEps()));
    dropoutProbability = config.hiddenDropoutProb();
    this.dropout = dropout;
  }

  Tensor forward(Tensor hidden, Tensor residual) {
    Tensor projected = dropout.apply(dense.forward(hidden), dropoutProbability, is_training());
    return layerNorm.forward(projected.add(residual));
  }

  void quantizeInt8(Int8Quantizer quantizer) {
    dense.quantizeInt8(quantizer);
  }
}

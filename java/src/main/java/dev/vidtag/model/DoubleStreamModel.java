package dev.vidtag.model;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.ModuleListImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Reference section 4, double stream: {@code bert} over the text; {@code visual_encoder} maps
 * frames to the hidden size (no position embedding); {@code multi_head_decoder.layers.<i>} with
 * frames as queries and text as memory; pool over frames; {@code classifier}. The BERT pooler is
 * kept for checkpoint compatibility and unused.
 */
public final class DoubleStreamModel extends VideoClassifierModel {
  private final LinearImpl visualEncoder;
  // containers kept reachable: LibTorch calls back into modules created from Java (train/eval)
  private final Module decoder;
  private final ModuleListImpl decoderLayerList;
  private final List<TransformerDecoderLayer> decoderLayers = new ArrayList<>();

  DoubleStreamModel(ModelConfig config) {
    super(config, true);
    int hidden = config.textEncoder().hiddenSize();
    visualEncoder = register_module("visual_encoder", new LinearImpl(config.frameDim(), hidden));
    decoder = register_module("multi_head_decoder", new Module());
    decoderLayerList = decoder.register_module("layers", new ModuleListImpl());
    for (int i = 0; i < config.decoder().numLayers(); i++) {
      TransformerDecoderLayer layer = new TransformerDecoderLayer(hidden, config.decoder(),
          dropout);
      decoderLayerList.push_back(layer);
      decoderLayers.add(layer);
    }
    classifier = register_module("classifier", new LinearImpl(hidden, config.numClasses()));
  }

  @Override
  void useAttentionInLayers(AttentionBackend backend) {
    bert.useAttention(backend);
    for (TransformerDecoderLayer layer : decoderLayers) {
      layer.useAttention(backend);
    }
  }

  @Override
  void quantizeLayersInt8(Int8Quantizer quantizer) {
    bert.quantizeInt8(quantizer);
    for (TransformerDecoderLayer layer : decoderLayers) {
      layer.quantizeInt8(quantizer);
    }
  }

  @Override
  protected ModelOutputs forwardChecked(ModelInputs in, Tensor frames, ScalarType dtype) {
    Tensor text = bert.forward(in.textIds(), in.textMask());
    Tensor hidden = decode(visualEncoder.forward(frames), in.frameMask(), text, in.textMask());
    Tensor pooled = pool(hidden, in.frameMask());
    return new ModelOutputs(classifier.forward(pooled), hidden, pooled);
  }

  /** {@code visual_encoder} over frame features [B, F, D]: [B, F, H]. */
  public Tensor encodeFrames(Tensor frames) {
    return visualEncoder.forward(frames.to(parameterType()));
  }

  /**
   * The decoder: encoded frames [B, F, H] attend to themselves and to the text's hidden states
   * [B, T, H], each with its keep mask; returns [B, F, H].
   */
  public Tensor decode(Tensor frames, Tensor frameMask, Tensor text, Tensor textMask) {
    ScalarType dtype = frames.scalar_type();
    Tensor textBias = AttentionMasks.keyPaddingBias(textMask, dtype);
    Tensor frameBias = AttentionMasks.keyPaddingBias(frameMask, dtype);
    Tensor hidden = frames;
    for (TransformerDecoderLayer layer : decoderLayers) {
      Tensor target = hidden;
      hidden = Layers.scoped(() -> layer.forward(target, frameBias, text, textBias));
    }
    return hidden;
  }
}

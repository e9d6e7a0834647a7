package dev.vidtag.model;

import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Reference section 4, single stream: {@code video_fc} maps frames to the hidden size; the same
 * {@code bert.embeddings} embeds frames (as vectors) and text (from ids), each with positions from
 * 0 and token type 0; the BERT layers run over [frames; text]; pool; {@code classifier}.
 */
public final class SingleStreamModel extends VideoClassifierModel {
  private final LinearImpl videoFc;

  SingleStreamModel(ModelConfig config) {
    super(config, false);
    int hidden = config.textEncoder().hiddenSize();
    videoFc = register_module("video_fc", new LinearImpl(config.frameDim(), hidden));
    classifier = register_module("classifier", new LinearImpl(hidden, config.numClasses()));
  }

  @Override
  void useAttentionInLayers(AttentionBackend backend) {
    bert.useAttention(backend);
  }

  @Override
  void quantizeLayersInt8(Int8Quantizer quantizer) {
    bert.quantizeInt8(quantizer);
  }

  @Override
  protected ModelOutputs forwardChecked(ModelInputs in, Tensor frames, ScalarType dtype) {
    Tensor hidden = encode(videoFc.forward(frames), in.frameMask(), in.textIds(), in.textMask());
    Tensor keep = torch.cat(new TensorVector(in.frameMask().to(dtype), in.textMask().to(dtype)), 1);
    Tensor pooled = pool(hidden, keep);
    return new ModelOutputs(classifier.forward(pooled), hidden, pooled);
  }

  /** {@code video_fc} over frame features [B, F, D]: [B, F, H] (pretraining masks frames here). */
  public Tensor projectFrames(Tensor frames) {
    return videoFc.forward(frames.to(parameterType()));
  }

  /**
   * The encoder over projected frames [B, F, H] and text ids [B, T], each with its keep mask:
   * the last hidden states [B, F + T, H], frames first.
   */
  public Tensor encode(Tensor projectedFrames, Tensor frameMask, Tensor textIds, Tensor textMask) {
    ScalarType dtype = projectedFrames.scalar_type();
    BertEmbeddings embeddings = bert.embeddings();
    Tensor frameEmbeds = embeddings.embedVectors(projectedFrames);
    Tensor textEmbeds = embeddings.embedIds(textIds);
    Tensor sequence = torch.cat(new TensorVector(frameEmbeds, textEmbeds), 1);
    Tensor keep = torch.cat(new TensorVector(frameMask.to(dtype), textMask.to(dtype)), 1);
    return bert.encode(sequence, AttentionMasks.keyPaddingBias(keep, dtype));
  }
}

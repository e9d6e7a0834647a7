package dev.vidtag.train.pretrain;

import dev.vidtag.model.BertConfig;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Hugging Face's BertOnlyMLMHead, registered as {@code cls}: {@code cls.predictions.transform.*}
 * then a decoder tied to the word embeddings plus {@code cls.predictions.bias}. The names are
 * Hugging Face's, so the head of a BertForPreTraining / BertForMaskedLM checkpoint loads into it
 * ({@code cls.predictions.decoder.weight} is the tied embedding matrix and is not stored here).
 */
public final class MlmHead extends Module {
  private final Module predictions; // kept reachable: LibTorch calls back into Java modules
  private final PredictionTransform transform;
  private final Tensor bias;

  public MlmHead(BertConfig config) {
    predictions = register_module("predictions", new Module());
    transform = predictions.register_module("transform",
        new PredictionTransform(config.hiddenSize(), config.layerNormEps()));
    // a handle of its own, not a reference into the module's dictionary
    bias = new Tensor(predictions.register_parameter("bias", torch.zeros(config.vocabSize())));
  }

  /** Hidden states [M, H] to vocabulary logits [M, V], through the word embeddings [V, H]. */
  public Tensor forward(Tensor hidden, Tensor wordEmbeddings) {
    return transform.forward(hidden).matmul(wordEmbeddings.t()).add(bias);
  }
}

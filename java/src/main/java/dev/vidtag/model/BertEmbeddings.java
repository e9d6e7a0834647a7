package dev.vidtag.model;

import org.bytedeco.pytorch.EmbeddingImpl;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * Word + position + token-type embeddings, LayerNorm, dropout ({@code embeddings.*}). Positions
 * count from 0 and the token type is 0 for every input, ids or vectors alike.
 */
public final class BertEmbeddings extends Module {
  private final EmbeddingImpl wordEmbeddings;
  private final EmbeddingImpl positionEmbeddings;
  private final EmbeddingImpl tokenTypeEmbeddings;
  private final LayerNormImpl layerNorm;
  private final double dropoutProbability;
  private final Dropout dropout;
  private final int maxPositions;

  BertEmbeddings(BertConfig config, Dropout dropout) {
    wordEmbeddings = register_module("word_embeddings",
        new EmbeddingImpl(config.vocabSize(), config.hiddenSize()));
    positionEmbeddings = register_module("position_embeddings",
        new EmbeddingImpl(config.maxPositionEmbeddings(), config.hiddenSize()));
    tokenTypeEmbeddings = register_module("token_type_embeddings",
        new EmbeddingImpl(config.typeVocabSize(), config.hiddenSize()));
    layerNorm = register_module("LayerNorm",
        Layers.layerNorm(config.hiddenSize(), config.layerNormEps()));
    dropoutProbability = config.hiddenDropoutProb();
    this.dropout = dropout;
    maxPositions = config.maxPositionEmbeddings();
  }

  /** Token ids [B, L] (int64) to [B, L, H]. */
  public Tensor embedIds(Tensor ids) {
    return finish(wordEmbeddings.forward(ids));
  }

  /** Vectors already in the hidden space [B, L, H] (Hugging Face's inputs_embeds). */
  public Tensor embedVectors(Tensor vectors) {
    return finish(vectors);
  }

  public Tensor wordEmbeddingWeight() {
    return wordEmbeddings.weight();
  }

  private Tensor finish(Tensor inputs) {
    long length = inputs.size(1);
    if (length > maxPositions) {
      throw new IllegalArgumentException("sequence of " + length
          + " positions exceeds max_position_embeddings " + maxPositions);
    }
    Tensor positions = positionEmbeddings.weight().narrow(0, 0, length);
    Tensor tokenType = tokenTypeEmbeddings.weight().select(0, 0);
    Tensor embedded = inputs.add(tokenType).add(positions);
    return dropout.apply(layerNorm.forward(embedded), dropoutProbability, is_training());
  }
}

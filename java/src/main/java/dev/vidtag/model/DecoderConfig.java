package dev.vidtag.model;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The double stream's PyTorch-style transformer decoder: d_model is the text encoder's hidden
 * size; ReLU, post-LayerNorm.
 */
public record DecoderConfig(int numLayers, int numHeads, int ffnSize, double dropout,
    double layerNormEps) {

  /** The reference: 3 layers, 12 heads, FFN 2048, dropout 0.1, eps 1e-5. */
  public static DecoderConfig reference() {
    return new DecoderConfig(3, 12, 2048, 0.1, 1e-5);
  }

  /**
   * The reference's decoder around a text encoder: the reference itself for a BERT-base-sized
   * encoder, else the same three layers with the encoder's head count and FFN size, so that a
   * small text model gets a decoder of its own scale.
   */
  public static DecoderConfig referenceFor(BertConfig text) {
    DecoderConfig reference = reference();
    if (text.hiddenSize() % reference.numHeads == 0 && text.hiddenSize() >= 768) {
      return reference;
    }
    return new DecoderConfig(reference.numLayers, text.numAttentionHeads(),
        text.intermediateSize(), reference.dropout, reference.layerNormEps);
  }

  static DecoderConfig from(JsonFields json) {
    DecoderConfig d = reference();
    return new DecoderConfig(json.positiveInt("num_layers", d.numLayers),
        json.positiveInt("num_heads", d.numHeads), json.positiveInt("ffn_size", d.ffnSize),
        json.number("dropout", d.dropout, 0.0, 1.0),
        json.number("layer_norm_eps", d.layerNormEps, Double.MIN_VALUE, 1.0));
  }

  ObjectNode toJson() {
    ObjectNode node = JsonFields.MAPPER.createObjectNode();
    node.put("num_layers", numLayers);
    node.put("num_heads", numHeads);
    node.put("ffn_size", ffnSize);
    node.put("dropout", dropout);
    node.put("layer_norm_eps", layerNormEps);
    return node;
  }
}

package dev.vidtag.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;

/**
 * The fields of a Hugging Face {@code BertConfig} that the encoder needs, with its names and
 * defaults; read from a Hugging Face {@code config.json} or the {@code text_encoder} object of a
 * model directory's config.
 */
public record BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
    int intermediateSize, int maxPositionEmbeddings, int typeVocabSize, double layerNormEps,
    double hiddenDropoutProb, double attentionProbsDropoutProb, String hiddenAct) {

  public BertConfig {
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException("hidden_size " + hiddenSize
          + " is not a multiple of num_attention_heads " + numAttentionHeads);
    }
  }

  /** chinese-roberta-wwm-ext, the reference's text encoder. */
  public static BertConfig chineseRobertaWwmExt() {
    return new BertConfig(21128, 768, 12, 12, 3072, 512, 2, 1e-12, 0.1, 0.1, "gelu");
  }

  public int headSize() {
    return hiddenSize / numAttentionHeads;
  }

  /** Reads a Hugging Face BERT config.json. */
  public static BertConfig read(Path configJson) {
    return from(JsonFields.read(configJson));
  }

  static BertConfig from(JsonFields json) {
    String act = json.string("hidden_act", "gelu");
    if (!act.equals("gelu")) {
      // the reference's encoder uses the exact (erf) GELU; other activations are not implemented
      throw json.error("hidden_act", "only \"gelu\" (erf) is supported, got \"" + act + "\"");
    }
    int hidden = json.positiveInt("hidden_size");
    int heads = json.positiveInt("num_attention_heads");
    if (hidden % heads != 0) {
      throw json.error("num_attention_heads", "hidden_size " + hidden + " is not a multiple of "
          + heads);
    }
    return new BertConfig(json.positiveInt("vocab_size"), hidden,
        json.positiveInt("num_hidden_layers"), heads, json.positiveInt("intermediate_size"),
        json.positiveInt("max_position_embeddings", 512), json.positiveInt("type_vocab_size", 2),
        json.number("layer_norm_eps", 1e-12, Double.MIN_VALUE, 1.0),
        json.number("hidden_dropout_prob", 0.1, 0.0, 1.0),
        json.number("attention_probs_dropout_prob", 0.1, 0.0, 1.0), act);
  }

  ObjectNode toJson() {
    ObjectNode node = JsonFields.MAPPER.createObjectNode();
    node.put("model_type", "bert");
    node.put("vocab_size", vocabSize);
    node.put("hidden_size", hiddenSize);
    node.put("num_hidden_layers", numHiddenLayers);
    node.put("num_attention_heads", numAttentionHeads);
    node.put("intermediate_size", intermediateSize);
    node.put("max_position_embeddings", maxPositionEmbeddings);
    node.put("type_vocab_size", typeVocabSize);
    node.put("layer_norm_eps", layerNormEps);
    node.put("hidden_dropout_prob", hiddenDropoutProb);
    node.put("attention_probs_dropout_prob", attentionProbsDropoutProb);
    node.put("hidden_act", hiddenAct);
    return node;
  }
}

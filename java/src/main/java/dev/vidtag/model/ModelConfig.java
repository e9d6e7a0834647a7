package dev.vidtag.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Everything needed to build a model: the {@code config.json} of a model directory.
 *
 * <pre>
 * {"arch": "single", "num_classes": 200, "frame_dim": 768, "max_frames": 14, "max_text": 258,
 *  "pooling": "mean_masked", "classifier_dropout": 0.0,
 *  "decoder": {"num_layers": 3, "num_heads": 12, "ffn_size": 2048, ...},   (double only)
 *  "text_encoder": {Hugging Face BertConfig fields}}
 * </pre>
 * Unknown fields are ignored on read.
 */
public record ModelConfig(Architecture arch, int numClasses, int frameDim, int maxFrames,
    int maxText, Pooling pooling, DecoderConfig decoder, BertConfig textEncoder) {

  public static final String FILE_NAME = "config.json";

  public ModelConfig {
    if (arch == Architecture.DOUBLE && decoder == null) {
      throw new IllegalArgumentException("a double-stream model needs a decoder config");
    }
    if (decoder != null && textEncoder.hiddenSize() % decoder.numHeads() != 0) {
      // the decoder works at the text encoder's width, split evenly between its heads
      throw new IllegalArgumentException("the decoder's hidden size " + textEncoder.hiddenSize()
          + " is not a multiple of its " + decoder.numHeads() + " heads");
    }
    if (Math.max(maxFrames, maxText) > textEncoder.maxPositionEmbeddings()) {
      // frames and text each take positions from 0 (single stream), text alone (double)
      throw new IllegalArgumentException("max_frames " + maxFrames + " or max_text " + maxText
          + " exceeds max_position_embeddings " + textEncoder.maxPositionEmbeddings());
    }
  }

  /**
   * This configuration with {@code dropout} on every block that has one: the text encoder's
   * hidden states and attention probabilities and the decoder's layers.
   */
  public ModelConfig withDropout(double dropout) {
    if (!(dropout >= 0 && dropout < 1)) {
      throw new IllegalArgumentException("dropout must be in [0, 1): " + dropout);
    }
    BertConfig t = textEncoder;
    BertConfig text = new BertConfig(t.vocabSize(), t.hiddenSize(), t.numHiddenLayers(),
        t.numAttentionHeads(), t.intermediateSize(), t.maxPositionEmbeddings(), t.typeVocabSize(),
        t.layerNormEps(), dropout, dropout, t.hiddenAct());
    DecoderConfig d = decoder;
    DecoderConfig newDecoder = d == null ? null
        : new DecoderConfig(d.numLayers(), d.numHeads(), d.ffnSize(), dropout, d.layerNormEps());
    return new ModelConfig(arch, numClasses, frameDim, maxFrames, maxText, pooling, newDecoder,
        text);
  }

  /** The reference's sizes around a given text encoder: 200 classes, 768-d frames, 14 + 258. */
  public static ModelConfig reference(Architecture arch, BertConfig text, Pooling pooling) {
    return new ModelConfig(arch, 200, 768, 14, 258, pooling,
        arch == Architecture.DOUBLE ? DecoderConfig.reference() : null, text);
  }

  public ModelConfig withPooling(Pooling newPooling) {
    return new ModelConfig(arch, numClasses, frameDim, maxFrames, maxText, newPooling, decoder,
        textEncoder);
  }

  public static ModelConfig read(Path configJson) {
    JsonFields json = JsonFields.read(configJson);
    String archName = json.string("arch", null);
    Architecture arch = Architecture.fromConfigName(archName);
    if (arch == null) {
      throw json.error("arch", "expected \"single\" or \"double\", got \"" + archName + "\"");
    }
    String poolingName = json.string("pooling", Pooling.MEAN_MASKED.configName());
    Pooling pooling = Pooling.fromConfigName(poolingName);
    if (pooling == null) {
      throw json.error("pooling", "expected one of " + Pooling.choices() + ", got \""
          + poolingName + "\"");
    }
    BertConfig text = BertConfig.from(json.object("text_encoder"));
    DecoderConfig decoder = null;
    if (arch == Architecture.DOUBLE) {
      decoder = json.has("decoder") ? DecoderConfig.from(json.object("decoder"))
          : DecoderConfig.reference();
      if (text.hiddenSize() % decoder.numHeads() != 0) {
        throw json.error("decoder.num_heads", "hidden_size " + text.hiddenSize()
            + " is not a multiple of " + decoder.numHeads());
      }
    }
    int maxFrames = json.positiveInt("max_frames");
    int maxText = json.positiveInt("max_text");
    if (maxFrames > text.maxPositionEmbeddings() || maxText > text.maxPositionEmbeddings()) {
      throw json.error(maxText > text.maxPositionEmbeddings() ? "max_text" : "max_frames",
          "exceeds text_encoder.max_position_embeddings " + text.maxPositionEmbeddings());
    }
    return new ModelConfig(arch, json.positiveInt("num_classes"), json.positiveInt("frame_dim"),
        maxFrames, maxText, pooling, decoder, text);
  }

  public ObjectNode toJson() {
    ObjectNode node = JsonFields.MAPPER.createObjectNode();
    node.put("arch", arch.configName());
    node.put("num_classes", numClasses);
    node.put("frame_dim", frameDim);
    node.put("max_frames", maxFrames);
    node.put("max_text", maxText);
    node.put("pooling", pooling.configName());
    if (decoder != null) {
      node.set("decoder", decoder.toJson());
    }
    node.set("text_encoder", textEncoder.toJson());
    return node;
  }

  public String toJsonString() {
    try {
      return JsonFields.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(toJson()) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

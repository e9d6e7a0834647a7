package dev.vidtag.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face BERT directory for a tiny BERT whose vocabulary covers a synthetic dataset's
 * text: {@code config.json} and {@code vocab.txt}, plus whatever {@link WeightsWriter} adds
 * (e.g. {@code model.safetensors} with random initial weights), usable as {@code --text-model}.
 */
public final class TinyBertDirectory {
  /** The special tokens, first in the vocabulary in BERT's usual order of ids 0-4. */
  public static final List<String> SPECIAL_TOKENS = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");

  /** Writes the weights of a BERT with this config into {@code directory}. */
  @FunctionalInterface
  public interface WeightsWriter {
    void write(Path directory, Map<String, Object> config, long seed) throws IOException;
  }

  private final int hidden;
  private final int layers;
  private final int heads;

  /** hidden 64, 2 layers, 2 heads: small enough to train in seconds on a CPU. */
  public static TinyBertDirectory small() {
    return new TinyBertDirectory(64, 2, 2);
  }

  public TinyBertDirectory(int hidden, int layers, int heads) {
    if (hidden <= 0 || layers <= 0 || heads <= 0 || hidden % heads != 0) {
      throw new IllegalArgumentException("bad BERT shape: hidden " + hidden + ", layers " + layers
          + ", heads " + heads);
    }
    this.hidden = hidden;
    this.layers = layers;
    this.heads = heads;
  }

  /** The vocabulary: special tokens, the characters, then "##" continuations of ASCII ones. */
  public static List<String> vocabulary(List<String> characters) {
    List<String> vocabulary = new ArrayList<>(SPECIAL_TOKENS);
    vocabulary.addAll(characters);
    for (String character : characters) {
      if (character.length() == 1 && character.charAt(0) < 128) {
        vocabulary.add("##" + character); // WordPiece pieces of ASCII words such as "vlog"
      }
    }
    return vocabulary;
  }

  /** The Hugging Face BertConfig fields, in their usual order. */
  public Map<String, Object> config(int vocabularySize) {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("architectures", List.of("BertModel"));
    config.put("model_type", "bert");
    config.put("vocab_size", vocabularySize);
    config.put("hidden_size", hidden);
    config.put("num_hidden_layers", layers);
    config.put("num_attention_heads", heads);
    config.put("intermediate_size", 4 * hidden);
    config.put("hidden_act", "gelu");
    config.put("hidden_dropout_prob", 0.1);
    config.put("attention_probs_dropout_prob", 0.1);
    config.put("max_position_embeddings", 512);
    config.put("type_vocab_size", 2);
    config.put("initializer_range", 0.02);
    config.put("layer_norm_eps", 1e-12);
    config.put("pad_token_id", 0);
    return config;
  }

  /** Writes config.json, vocab.txt and, when given, the weights into {@code directory}. */
  public void write(Path directory, List<String> characters, WeightsWriter weights, long seed) {
    List<String> vocabulary = vocabulary(characters);
    Map<String, Object> config = config(vocabulary.size());
    try {
      Files.createDirectories(directory);
      Files.write(directory.resolve("vocab.txt"), vocabulary, StandardCharsets.UTF_8);
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
          .writeValue(directory.resolve("config.json").toFile(), config);
      if (weights != null) {
        weights.write(directory, config, seed);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + directory + ": " + e.getMessage(), e);
    }
  }
}

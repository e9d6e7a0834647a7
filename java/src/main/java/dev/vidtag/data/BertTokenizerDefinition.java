package dev.vidtag.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Hugging Face {@code tokenizer.json} definition of the original BERT tokenizer for a
 * {@code vocab.txt}: what {@code transformers}' BertTokenizer does, expressed as the tokenizers
 * library's pipeline, so that a model directory without a tokenizer.json tokenizes exactly as
 * Python would. The pipeline: BertNormalizer (clean text, space around CJK characters, strip
 * accents, lowercase; then NFC when accents are kept), BertPreTokenizer (split on whitespace and punctuation), WordPiece with
 * {@code ##} continuations, {@code [UNK]} and 100 characters per word at most, then
 * {@code [CLS] $A [SEP]}. Padding and truncation are off: VidTag applies its own text rule.
 */
final class BertTokenizerDefinition {
  static final String UNK = "[UNK]";
  static final String CLS = "[CLS]";
  static final String SEP = "[SEP]";
  static final String PAD = "[PAD]";
  static final String MASK = "[MASK]";
  private static final List<String> SPECIAL_TOKENS = List.of(PAD, UNK, CLS, SEP, MASK);
  private static final int MAX_INPUT_CHARS_PER_WORD = 100;

  private BertTokenizerDefinition() {}

  /**
   * The settings of {@code tokenizer_config.json} that change tokenization.
   *
   * @param lowercase {@code do_lower_case} (default true, as chinese-roberta-wwm-ext)
   * @param stripAccents {@code strip_accents}; null follows {@code lowercase}, as in transformers
   * @param chineseCharacters {@code tokenize_chinese_chars} (default true)
   */
  record Options(boolean lowercase, Boolean stripAccents, boolean chineseCharacters) {
    static final Options DEFAULT = new Options(true, null, true);

    /** The options of {@code tokenizer_config.json} beside the vocabulary, defaults if absent. */
    static Options read(Path tokenizerConfig) {
      if (!Files.isRegularFile(tokenizerConfig)) {
        return DEFAULT;
      }
      JsonNode config;
      try {
        config = new ObjectMapper().readTree(tokenizerConfig.toFile());
      } catch (IOException e) {
        throw DataException.at(tokenizerConfig, null, null, "not valid JSON: " + e.getMessage(), e);
      }
      return new Options(
          flag(config, tokenizerConfig, "do_lower_case", true),
          config.hasNonNull("strip_accents")
              ? flag(config, tokenizerConfig, "strip_accents", false) : null,
          flag(config, tokenizerConfig, "tokenize_chinese_chars", true));
    }

    private static boolean flag(JsonNode config, Path file, String field, boolean absent) {
      JsonNode value = config.get(field);
      if (value == null || value.isNull()) {
        return absent;
      }
      if (!value.isBoolean()) {
        throw DataException.at(file, null, field, "expected true or false, got " + value);
      }
      return value.booleanValue();
    }
  }

  /**
   * Reads a {@code vocab.txt}: one token per line, the id is the line number from 0 (a repeated
   * token keeps its last line, as transformers' load_vocab does).
   */
  static Map<String, Integer> readVocabulary(Path vocabFile) {
    List<String> lines;
    try {
      lines = Files.readAllLines(vocabFile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw DataException.at(vocabFile, null, null, "cannot read the vocabulary: " + e, e);
    }
    Map<String, Integer> vocabulary = new LinkedHashMap<>();
    for (int id = 0; id < lines.size(); id++) {
      String token = lines.get(id);
      // transformers strips only the newline; a Windows-written file also leaves a '\r'
      if (token.endsWith("\r")) {
        token = token.substring(0, token.length() - 1);
      }
      vocabulary.put(token, id);
    }
    for (String required : List.of(UNK, CLS, SEP)) {
      if (!vocabulary.containsKey(required)) {
        throw DataException.at(vocabFile, null, null, "the vocabulary has no " + required
            + " token, which BERT needs");
      }
    }
    return vocabulary;
  }

  /** The tokenizer.json for this vocabulary and these options. */
  static ObjectNode generate(Map<String, Integer> vocabulary, Options options) {
    JsonNodeFactory json = JsonNodeFactory.instance;
    ObjectNode root = json.objectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");

    ArrayNode added = root.putArray("added_tokens");
    for (String special : SPECIAL_TOKENS) {
      Integer id = vocabulary.get(special);
      if (id != null) {
        added.addObject().put("id", id).put("content", special).put("single_word", false)
            .put("lstrip", false).put("rstrip", false).put("normalized", false)
            .put("special", true);
      }
    }

    ObjectNode normalizer = json.objectNode();
    normalizer.put("type", "BertNormalizer");
    normalizer.put("clean_text", true);
    normalizer.put("handle_chinese_chars", options.chineseCharacters());
    if (options.stripAccents() == null) {
      normalizer.putNull("strip_accents");
    } else {
      normalizer.put("strip_accents", options.stripAccents());
    }
    normalizer.put("lowercase", options.lowercase());
    boolean stripsAccents = options.stripAccents() == null
        ? options.lowercase() : options.stripAccents();
    if (stripsAccents) {
      root.set("normalizer", normalizer);
    } else {
      // transformers composes the text (NFC) before it splits words; stripping accents
      // decomposes it again, so the composition matters only when accents are kept
      ObjectNode sequence = root.putObject("normalizer");
      sequence.put("type", "Sequence");
      sequence.putArray("normalizers").add(normalizer).addObject().put("type", "NFC");
    }

    root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");

    ObjectNode post = root.putObject("post_processor");
    post.put("type", "TemplateProcessing");
    ArrayNode single = post.putArray("single");
    single.addObject().putObject("SpecialToken").put("id", CLS).put("type_id", 0);
    single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
    single.addObject().putObject("SpecialToken").put("id", SEP).put("type_id", 0);
    ArrayNode pair = post.putArray("pair");
    pair.addObject().putObject("SpecialToken").put("id", CLS).put("type_id", 0);
    pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
    pair.addObject().putObject("SpecialToken").put("id", SEP).put("type_id", 0);
    pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
    pair.addObject().putObject("SpecialToken").put("id", SEP).put("type_id", 1);
    ObjectNode specials = post.putObject("special_tokens");
    for (String special : List.of(CLS, SEP)) {
      ObjectNode entry = specials.putObject(special);
      entry.put("id", special);
      entry.putArray("ids").add(vocabulary.get(special));
      entry.putArray("tokens").add(special);
    }

    ObjectNode decoder = root.putObject("decoder");
    decoder.put("type", "WordPiece");
    decoder.put("prefix", "##");
    decoder.put("cleanup", true);

    ObjectNode model = root.putObject("model");
    model.put("type", "WordPiece");
    model.put("unk_token", UNK);
    model.put("continuing_subword_prefix", "##");
    model.put("max_input_chars_per_word", MAX_INPUT_CHARS_PER_WORD);
    ObjectNode vocab = model.putObject("vocab");
    vocabulary.forEach(vocab::put);
    return root;
  }
}

package dev.vidtag.data;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.io.DataException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * BERT's WordPiece tokenizer, run by Hugging Face's tokenizers library (Rust, through DJL), built
 * from a model directory's {@code tokenizer.json} or, when there is none, from its
 * {@code vocab.txt} (and {@code tokenizer_config.json}) the way transformers' BertTokenizer reads
 * them. Works offline and writes nothing to the home directory (see {@link DjlSettings}).
 *
 * <p>{@link #encode} returns the word-piece ids without special tokens; the {@link TextRule} adds
 * {@code [CLS]} and {@code [SEP]} and cuts to the budget. Safe for concurrent use.
 */
public final class BertTokenizer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MASK = "[MASK]";

  private final HuggingFaceTokenizer tokenizer;
  private final Path source;
  private final int vocabularySize;
  private final int clsId;
  private final int sepId;
  private final int padId;
  private final int unkId;
  private final int maskId;
  private final boolean[] continuationPieces;

  private BertTokenizer(ObjectNode definition, Path source) {
    this.source = source;
    JsonNode vocab = definition.path("model").path("vocab");
    if (!vocab.isObject() || vocab.isEmpty()) {
      throw DataException.at(source, null, "model.vocab",
          "no WordPiece vocabulary (is this a BERT tokenizer?)");
    }
    this.vocabularySize = vocab.size();
    this.clsId = specialId(vocab, BertTokenizerDefinition.CLS, source);
    this.sepId = specialId(vocab, BertTokenizerDefinition.SEP, source);
    this.unkId = specialId(vocab, definition.path("model").path("unk_token")
        .asText(BertTokenizerDefinition.UNK), source);
    this.padId = vocab.path(BertTokenizerDefinition.PAD).asInt(0);
    this.maskId = vocab.path(MASK).asInt(-1);
    this.continuationPieces = continuationPieces(vocab);
    // VidTag cuts and pads by its own rule; a tokenizer.json may carry other settings
    definition.putNull("truncation");
    definition.putNull("padding");
    DjlSettings.apply();
    try {
      byte[] bytes = JSON.writeValueAsBytes(definition);
      this.tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), Map.of(
          "addSpecialTokens", "false", "truncation", "false", "padding", "false"));
    } catch (IOException | RuntimeException e) {
      throw DataException.at(source, null, null, "not a usable tokenizer definition: "
          + e.getMessage(), e);
    }
  }

  /**
   * The tokenizer of a model directory: its {@code tokenizer.json} when present, else one built
   * from {@code vocab.txt} and the optional {@code tokenizer_config.json}.
   */
  public static BertTokenizer fromModelDirectory(Path directory) {
    Path json = directory.resolve("tokenizer.json");
    if (Files.isRegularFile(json)) {
      return fromTokenizerJson(json);
    }
    Path vocab = directory.resolve("vocab.txt");
    if (Files.isRegularFile(vocab)) {
      return fromVocabulary(vocab);
    }
    throw DataException.at(directory, null, null,
        "no tokenizer: expected tokenizer.json or vocab.txt in this directory");
  }

  /** A BERT tokenizer for a {@code vocab.txt}, configured by the tokenizer_config.json beside it. */
  public static BertTokenizer fromVocabulary(Path vocabFile) {
    Path config = vocabFile.toAbsolutePath().resolveSibling("tokenizer_config.json");
    return fromVocabulary(vocabFile, config);
  }

  /** As {@link #fromVocabulary(Path)} with an explicit tokenizer_config.json (may not exist). */
  public static BertTokenizer fromVocabulary(Path vocabFile, Path tokenizerConfig) {
    Map<String, Integer> vocabulary = BertTokenizerDefinition.readVocabulary(vocabFile);
    BertTokenizerDefinition.Options options =
        BertTokenizerDefinition.Options.read(tokenizerConfig);
    return new BertTokenizer(BertTokenizerDefinition.generate(vocabulary, options), vocabFile);
  }

  /** A tokenizer from a Hugging Face {@code tokenizer.json} with a WordPiece model. */
  public static BertTokenizer fromTokenizerJson(Path file) {
    JsonNode definition;
    try {
      definition = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw DataException.at(file, null, null, "not valid JSON: " + e.getMessage(), e);
    }
    if (!(definition instanceof ObjectNode object)) {
      throw DataException.at(file, null, null, "expected a JSON object");
    }
    return new BertTokenizer(object, file);
  }

  /** The word-piece ids of a text, without {@code [CLS]} and {@code [SEP]}. */
  public int[] encode(String text) {
    // Only the ids cross JNI: DJL's Encoding would also fetch the tokens as strings, the
    // offsets, word ids and masks, which took most of the loader's time.
    long encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, false);
    long[] ids;
    try {
      ids = TokenizersLibrary.LIB.getTokenIds(encoding);
    } finally {
      TokenizersLibrary.LIB.deleteEncoding(encoding);
    }
    int[] result = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      result[i] = (int) ids[i];
    }
    return result;
  }

  public int clsId() {
    return clsId;
  }

  public int sepId() {
    return sepId;
  }

  /** The id of {@code [PAD]} (0 when the vocabulary has none, as BERT pads with 0). */
  public int padId() {
    return padId;
  }

  public int unkId() {
    return unkId;
  }

  /** The id of {@code [MASK]}, or -1 when the vocabulary has none (masked language modelling needs it). */
  public int maskId() {
    return maskId;
  }

  /**
   * For each id, whether its piece continues a word ({@code ##...}): whole-word masking keeps
   * a word's pieces together. Ids the vocabulary does not name are false.
   */
  public boolean[] continuationPieces() {
    return continuationPieces.clone();
  }

  public int vocabularySize() {
    return vocabularySize;
  }

  /** The file the tokenizer was built from. */
  public Path source() {
    return source;
  }

  @Override
  public void close() {
    tokenizer.close();
  }

  private static boolean[] continuationPieces(JsonNode vocab) {
    int size = 0;
    for (JsonNode id : vocab) {
      size = Math.max(size, id.asInt(-1) + 1);
    }
    boolean[] pieces = new boolean[Math.max(size, vocab.size())];
    vocab.properties().forEach(entry -> {
      int id = entry.getValue().asInt(-1);
      if (id >= 0 && entry.getKey().startsWith("##")) {
        pieces[id] = true;
      }
    });
    return pieces;
  }

  private static int specialId(JsonNode vocab, String token, Path source) {
    JsonNode id = vocab.get(token);
    if (id == null || !id.canConvertToInt()) {
      throw DataException.at(source, null, "model.vocab",
          "the vocabulary has no " + token + " token, which BERT needs");
    }
    return id.intValue();
  }
}

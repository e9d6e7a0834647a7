package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.modality.nlp.DefaultVocabulary;
import ai.djl.modality.nlp.bert.BertFullTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.io.DataException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * VidTag's BERT tokenizer against Hugging Face's slow BertTokenizer (fixtures), against DJL's
 * pure-Java BertFullTokenizer where that one follows BERT, and against hand-written ids.
 */
class BertTokenizerTest {
  private static BertTokenizer fromVocab;
  private static Map<String, Integer> vocab;

  @BeforeAll
  static void load() {
    fromVocab = BertTokenizer.fromVocabulary(TokenizerFixtures.vocabulary());
    vocab = BertTokenizerDefinition.readVocabulary(TokenizerFixtures.vocabulary());
  }

  @AfterAll
  static void close() {
    fromVocab.close();
  }

  private static int[] withSpecials(BertTokenizer tokenizer, String text) {
    int[] ids = tokenizer.encode(text);
    int[] all = new int[ids.length + 2];
    all[0] = tokenizer.clsId();
    System.arraycopy(ids, 0, all, 1, ids.length);
    all[all.length - 1] = tokenizer.sepId();
    return all;
  }

  private static int[] ids(String... tokens) {
    return java.util.Arrays.stream(tokens).mapToInt(t -> {
      Integer id = vocab.get(t);
      if (id == null) {
        throw new AssertionError("not in the fixture vocabulary: " + t);
      }
      return id;
    }).toArray();
  }

  @Test
  void vocabularyTokenizesAsTransformersBertTokenizer() {
    List<TokenizerFixtures.Case> cases = TokenizerFixtures.cases();
    assertTrue(cases.size() >= 30);
    for (TokenizerFixtures.Case c : cases) {
      assertArrayEquals(c.lower(), withSpecials(fromVocab, c.text()), c.name());
    }
  }

  @Test
  void caseSensitiveConfigurationFollowsTokenizerConfig(@TempDir Path dir) throws Exception {
    Files.copy(TokenizerFixtures.vocabulary(), dir.resolve("vocab.txt"));
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"do_lower_case\": false}");
    try (BertTokenizer cased = BertTokenizer.fromModelDirectory(dir)) {
      for (TokenizerFixtures.Case c : TokenizerFixtures.cases()) {
        assertArrayEquals(c.cased(), withSpecials(cased, c.text()), c.name());
      }
    }
  }

  @Test
  void huggingFaceTokenizerJsonTokenizesAsTransformers() {
    Path json = TokenizerFixtures.directory().resolve("hf").resolve("tokenizer.json");
    try (BertTokenizer tokenizer = BertTokenizer.fromModelDirectory(json.getParent())) {
      assertEquals(json, tokenizer.source());
      for (TokenizerFixtures.Case c : TokenizerFixtures.cases()) {
        assertArrayEquals(c.lower(), withSpecials(tokenizer, c.text()), c.name());
      }
    }
  }

  @Test
  void generatedDefinitionMatchesTheOneHuggingFaceWrites() throws Exception {
    JsonNode written = new ObjectMapper().readTree(
        TokenizerFixtures.directory().resolve("hf").resolve("tokenizer.json").toFile());
    JsonNode generated = BertTokenizerDefinition.generate(vocab,
        BertTokenizerDefinition.Options.DEFAULT);
    for (String part : List.of("normalizer", "pre_tokenizer", "model", "added_tokens")) {
      assertEquals(written.get(part), generated.get(part), part);
    }
    assertEquals(written.get("post_processor").get("single"),
        generated.get("post_processor").get("single"));
  }

  @Test
  void concurrentCallsGiveTheSameIds() throws Exception {
    List<TokenizerFixtures.Case> cases = TokenizerFixtures.cases();
    var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      List<java.util.concurrent.Future<Boolean>> results = new ArrayList<>();
      for (int task = 0; task < 16; task++) {
        results.add(pool.submit(() -> {
          for (int round = 0; round < 5; round++) {
            for (TokenizerFixtures.Case c : cases) {
              if (!java.util.Arrays.equals(c.lower(), withSpecials(fromVocab, c.text()))) {
                return false;
              }
            }
          }
          return true;
        }));
      }
      for (var result : results) {
        assertTrue(result.get());
      }
    } finally {
      pool.shutdown();
    }
  }

  @Test
  void handWrittenExpectations() {
    assertArrayEquals(ids("中", "文", "abc"), fromVocab.encode("中文ABC"));
    assertArrayEquals(ids("hello", ",", "world", "!"), fromVocab.encode("Hello, World!"));
    assertArrayEquals(ids("un", "##happy"), fromVocab.encode("unhappy"));
    assertArrayEquals(ids("cafe", "naive"), fromVocab.encode("CAFÉ Naïve"));
    assertArrayEquals(ids("[UNK]"), fromVocab.encode("x".repeat(101)));
    assertArrayEquals(IntStream.range(0, 50).map(i -> i == 0 ? vocab.get("ab") : vocab.get("##ab"))
        .toArray(), fromVocab.encode("ab".repeat(50)), "100 characters is still one word");
    assertArrayEquals(ids("视", "频", "[UNK]"), fromVocab.encode("视频🎬"));
    assertArrayEquals(new int[0], fromVocab.encode(" \t\u3000\n"));
    assertEquals(vocab.get("[CLS]"), fromVocab.clsId());
    assertEquals(vocab.get("[SEP]"), fromVocab.sepId());
    assertEquals(vocab.get("[PAD]"), fromVocab.padId());
    assertEquals(vocab.get("[UNK]"), fromVocab.unkId());
    assertEquals(vocab.size(), fromVocab.vocabularySize());
  }

  /**
   * DJL's pure-Java BertFullTokenizer: an independent implementation of the same algorithm. It
   * differs from BERT on purpose or by accident in a few cases, listed here (checked to still
   * differ, so the list stays honest); on every other case all three agree.
   */
  @Test
  void agreesWithDjlBertFullTokenizerWhereThatFollowsBert() throws Exception {
    DefaultVocabulary djlVocab = DefaultVocabulary.builder()
        .addFromTextFile(TokenizerFixtures.vocabulary()).optUnknownToken("[UNK]").build();
    BertFullTokenizer djl = new BertFullTokenizer(djlVocab, true);
    Set<String> knownDifferences = Set.of(DJL_DIFFERENCES);
    List<String> differing = new ArrayList<>();
    for (TokenizerFixtures.Case c : TokenizerFixtures.cases()) {
      int[] expected = java.util.Arrays.copyOfRange(c.lower(), 1, c.lower().length - 1);
      int[] byDjl = djl.tokenize(c.text()).stream().mapToLong(djlVocab::getIndex)
          .mapToInt(l -> (int) l).toArray();
      assertArrayEquals(expected, fromVocab.encode(c.text()), c.name());
      if (!java.util.Arrays.equals(expected, byDjl)) {
        differing.add(c.name());
      }
    }
    assertEquals(knownDifferences, Set.copyOf(differing));
  }

  /**
   * Where DJL's BertFullTokenizer is not BERT: it keeps a run of CJK characters together as one
   * word (BERT splits every CJK character off, so a Chinese run becomes one [UNK]), allows 200
   * characters per word instead of 100, and splits special-token literals such as [MASK].
   */
  private static final String[] DJL_DIFFERENCES = {
      "chinese", "chinese with punctuation", "mixed", "mixed no spaces", "digits",
      "full-width punctuation", "ideographic space", "emoji in vocab", "emoji not in vocab",
      "control characters", "angle and quote marks", // CJK runs
      "word of 101 characters", // 200 characters per word
      "special token literal"};

  @Test
  void missingFilesAndTokensAreNamed(@TempDir Path dir) throws Exception {
    DataException none = assertThrows(DataException.class,
        () -> BertTokenizer.fromModelDirectory(dir));
    assertTrue(none.getMessage().contains(dir.toString()), none.getMessage());
    Path vocabFile = Files.writeString(dir.resolve("vocab.txt"), "[PAD]\n[CLS]\n[SEP]\nhello\n",
        StandardCharsets.UTF_8);
    DataException noUnk = assertThrows(DataException.class,
        () -> BertTokenizer.fromVocabulary(vocabFile));
    assertTrue(noUnk.getMessage().contains("[UNK]") && noUnk.getMessage().contains("vocab.txt"),
        noUnk.getMessage());
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"do_lower_case\": \"yes\"}");
    Files.writeString(vocabFile, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
    DataException badConfig = assertThrows(DataException.class,
        () -> BertTokenizer.fromVocabulary(vocabFile));
    assertTrue(badConfig.getMessage().contains("do_lower_case"), badConfig.getMessage());
  }
}

package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TextRuleTest {
  private static BertTokenizer tokenizer;
  private static Map<String, Integer> vocab;

  @BeforeAll
  static void load() {
    tokenizer = BertTokenizer.fromVocabulary(TokenizerFixtures.vocabulary());
    vocab = BertTokenizerDefinition.readVocabulary(TokenizerFixtures.vocabulary());
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  private static VideoAnnotation video(String title, String asr, String... ocr) {
    List<OcrText> texts = new ArrayList<>();
    for (int i = 0; i < ocr.length; i++) {
      texts.add(new OcrText(i, ocr[i]));
    }
    return new VideoAnnotation("1", title, asr, texts, Optional.empty());
  }

  private static int[] ids(String... tokens) {
    return Arrays.stream(tokens).mapToInt(vocab::get).toArray();
  }

  @Test
  void referenceTokenizesTheConcatenationNotEachField() {
    TextRule rule = TextRule.reference(258);
    assertArrayEquals(ids("[CLS]", "helloworld", "[SEP]"), rule.encode(video("Hello", "world"),
        tokenizer), "one word across title and asr");
    assertArrayEquals(ids("[CLS]", "helloworld", "视", "频", "[SEP]"),
        rule.encode(video("Hello", "", "wor", "ld视频"), tokenizer), "and across OCR texts");
    assertArrayEquals(ids("[CLS]", "[SEP]"), rule.encode(video("", ""), tokenizer));
  }

  @Test
  void referenceCutsToMaxTextMinusTwo() {
    TextRule rule = TextRule.reference(6);
    assertArrayEquals(ids("[CLS]", "我", "爱", "中", "文", "[SEP]"),
        rule.encode(video("我爱", "中文视频", "分类"), tokenizer));
    assertEquals(6, rule.maxLength());
  }

  @Test
  void fieldBudgetsCutEachFieldAndSeparateThem() {
    TextRule rule = TextRule.fieldBudgets(1, 2, 3);
    assertEquals(10, rule.maxLength());
    assertArrayEquals(ids("[CLS]", "你", "[SEP]", "[SEP]", "视", "频", "分", "[SEP]"),
        rule.encode(video("你好", "", "视频", "分类"), tokenizer));
    assertArrayEquals(ids("[CLS]", "hello", "[SEP]", "world", "[SEP]", "[SEP]"),
        TextRule.fieldBudgets(64, 96, 96).encode(video("Hello", "world"), tokenizer),
        "fields are tokenized apart");
  }

  @Test
  void parsesItsWrittenForm() {
    assertEquals("reference:258", TextRule.parse("reference:258").toString());
    assertEquals("fields:64,96,96", TextRule.parse(" fields:64, 96,96").toString());
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> TextRule.parse("fields:64,96"));
    assertTrue(bad.getMessage().contains("fields:64,96"));
    assertThrows(IllegalArgumentException.class, () -> TextRule.reference(1));
  }

  /** The windowed tokenization gives exactly the first tokens of the whole text. */
  @Test
  void firstTokensEqualTheHeadOfTheWholeTokenization() {
    String[] pieces = {"hello", "world", "helloworld", "ab", " ", "  ", "\n", "中", "文", "视频",
        "，", "!", "[MASK]", "e\u0301", "Café", "\u3000", "😀", "x".repeat(150), "un", "happy",
        " ".repeat(300), "ＡＢＣ", "\u0000"};
    Random random = new Random(7);
    for (int trial = 0; trial < 200; trial++) {
      StringBuilder text = new StringBuilder();
      int length = random.nextInt(4000);
      while (text.length() < length) {
        text.append(pieces[random.nextInt(pieces.length)]);
      }
      int budget = 1 + random.nextInt(300);
      int[] whole = tokenizer.encode(text.toString());
      int[] expected = Arrays.copyOf(whole, Math.min(budget, whole.length));
      assertArrayEquals(expected, TextRule.firstTokens(tokenizer::encode, text.toString(), budget),
          "trial " + trial + " budget " + budget);
      // small windows put the cut anywhere, e.g. inside a word or a special token
      long window = 1 + random.nextInt(64);
      assertArrayEquals(expected,
          TextRule.firstTokens(tokenizer::encode, text.toString(), budget, window),
          "trial " + trial + " budget " + budget + " window " + window);
    }
  }

  @Test
  void aMegabyteTitleTokenizesOnlyAWindow() {
    AtomicInteger longest = new AtomicInteger();
    Function<String, int[]> counting = text -> {
      longest.accumulateAndGet(text.length(), Math::max);
      return tokenizer.encode(text);
    };
    String chinese = "我爱中文视频分类".repeat(1 << 17);
    String english = "hello world ".repeat(1 << 17);
    for (String title : List.of(chinese, english)) {
      longest.set(0);
      int[] ids = TextRule.reference(258).encode(video(title, "asr"), counting, 2, 3);
      assertEquals(258, ids.length);
      assertTrue(longest.get() <= 256 * TextRule.CHARS_PER_TOKEN + TextRule.CHAR_MARGIN,
          "tokenized " + longest.get() + " characters");
      int[] whole = tokenizer.encode(title.substring(0, 20_000));
      assertArrayEquals(Arrays.copyOf(whole, 256), Arrays.copyOfRange(ids, 1, 257));
    }
    // one 1 MB word and 1 MB of spaces: no boundary or no tokens in the window, still linear
    int[] word = TextRule.reference(258).encode(video("a".repeat(1 << 20), "视频"), tokenizer);
    assertArrayEquals(ids("[CLS]", "[UNK]", "视", "频", "[SEP]"), word);
    int[] spaces = TextRule.reference(258).encode(video(" ".repeat(1 << 20), "视频"), tokenizer);
    assertArrayEquals(ids("[CLS]", "视", "频", "[SEP]"), spaces);
  }
}

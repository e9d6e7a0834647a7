package dev.vidtag.data;

import java.util.Arrays;
import java.util.function.Function;

/**
 * How a video's text fields become BERT's input ids: one source of truth for training and
 * inference. Token type ids are all 0 in both modes, so they are not produced.
 *
 * <ul>
 *   <li>{@link #reference(int)}: the reference solution's rule. Title + asr + every OCR text,
 *       concatenated with no separator, tokenized as one string (a word can span two fields:
 *       "Hello" + "world" is the one word "helloworld"), cut to {@code maxText - 2} tokens,
 *       {@code [CLS] ... [SEP]}.
 *   <li>{@link #fieldBudgets(int, int, int)}: each field tokenized on its own and cut to its
 *       budget, {@code [CLS] title [SEP] asr [SEP] ocr [SEP]} (the OCR texts concatenated as in
 *       the reference), as most of the top teams did, so that a long ASR cannot crowd out the
 *       title. An empty field keeps its [SEP].
 * </ul>
 */
public final class TextRule {
  /**
   * First guess at the characters that hold a budget of tokens. Every BERT token covers at least
   * one character of the text (a CJK character, a punctuation mark, a piece of a word), so
   * {@code budget} tokens lie within the first {@code budget} non-space characters of ordinary
   * text; 8 per token plus a margin covers English too (a word is about 5 letters and a space,
   * and gives one token or more), so one window is the rule. Texts dominated by
   * spaces, control characters or words over 100 characters (one [UNK] each) need more, and
   * {@link #firstTokens} doubles the window until it has enough: the work stays linear in the
   * text, and a 1 MB title costs a few kB of tokenization.
   */
  static final int CHARS_PER_TOKEN = 8;
  static final int CHAR_MARGIN = 128;

  private final int maxText;
  private final int[] budgets;

  private TextRule(int maxText, int[] budgets) {
    this.maxText = maxText;
    this.budgets = budgets;
  }

  /** The reference rule, with {@code maxText} ids in all ({@code [CLS]} and {@code [SEP]} included). */
  public static TextRule reference(int maxText) {
    if (maxText < 2) {
      throw new IllegalArgumentException("max text length must leave room for [CLS] and [SEP] "
          + "(at least 2), got " + maxText);
    }
    return new TextRule(maxText, null);
  }

  /** Per-field budgets in tokens; the longest input is {@code title + asr + ocr + 4}. */
  public static TextRule fieldBudgets(int title, int asr, int ocr) {
    if (title < 0 || asr < 0 || ocr < 0) {
      throw new IllegalArgumentException("field budgets must be at least 0, got title=" + title
          + " asr=" + asr + " ocr=" + ocr);
    }
    return new TextRule(title + asr + ocr + 4, new int[] {title, asr, ocr});
  }

  /**
   * A rule from its written form: {@code reference:258}, or
   * {@code fields:TITLE,ASR,OCR} (e.g. {@code fields:64,96,96}).
   */
  public static TextRule parse(String spec) {
    String[] parts = spec.trim().split(":", 2);
    try {
      if (parts.length == 2 && parts[0].equals("reference")) {
        return reference(Integer.parseInt(parts[1].trim()));
      }
      if (parts.length == 2 && parts[0].equals("fields")) {
        String[] budgets = parts[1].split(",");
        if (budgets.length == 3) {
          return fieldBudgets(Integer.parseInt(budgets[0].trim()),
              Integer.parseInt(budgets[1].trim()), Integer.parseInt(budgets[2].trim()));
        }
      }
    } catch (NumberFormatException e) {
      // reported below with the expected forms
    }
    throw new IllegalArgumentException("text rule '" + spec + "' is not reference:MAX_TEXT "
        + "or fields:TITLE,ASR,OCR (for example reference:258 or fields:64,96,96)");
  }

  /** The most ids {@link #encode} returns: the length fixed padding pads to. */
  public int maxLength() {
    return maxText;
  }

  public boolean isReference() {
    return budgets == null;
  }

  /** The input ids of a video, {@code [CLS]} first, at most {@link #maxLength()} of them. */
  public int[] encode(VideoAnnotation video, BertTokenizer tokenizer) {
    return encode(video, tokenizer::encode, tokenizer.clsId(), tokenizer.sepId());
  }

  int[] encode(VideoAnnotation video, Function<String, int[]> encoder, int cls, int sep) {
    if (budgets == null) {
      String text = video.title() + video.asr() + ocrText(video);
      int[] tokens = firstTokens(encoder, text, maxText - 2);
      return join(cls, sep, tokens);
    }
    int[] title = firstTokens(encoder, video.title(), budgets[0]);
    int[] asr = firstTokens(encoder, video.asr(), budgets[1]);
    int[] ocr = firstTokens(encoder, ocrText(video), budgets[2]);
    return join(cls, sep, title, asr, ocr);
  }

  /** Every OCR text in order, with no separator, as the reference joined them. */
  static String ocrText(VideoAnnotation video) {
    StringBuilder text = new StringBuilder();
    for (OcrText ocr : video.ocr()) {
      text.append(ocr.text());
    }
    return text.toString();
  }

  /**
   * The first {@code budget} token ids of {@code text}, equal to those of tokenizing the whole
   * text, without tokenizing more than a window of about {@code CHARS_PER_TOKEN * budget}
   * characters. The window ends just before a space or a CJK character: BERT never joins
   * characters across either (it splits on spaces and puts spaces around CJK characters; the
   * special tokens contain neither), so every token of the window's text is a token of the whole
   * text. When the window yields fewer tokens than the budget it doubles.
   */
  static int[] firstTokens(Function<String, int[]> encoder, String text, int budget) {
    return firstTokens(encoder, text, budget, (long) budget * CHARS_PER_TOKEN + CHAR_MARGIN);
  }

  /** As above, starting from a given window (tests start small to cut everywhere). */
  static int[] firstTokens(Function<String, int[]> encoder, String text, int budget,
      long initialWindow) {
    if (budget == 0 || text.isEmpty()) {
      return new int[0];
    }
    long window = Math.max(1, initialWindow);
    while (window < text.length()) {
      int cut = boundaryAtOrBefore(text, (int) window);
      if (cut > 0) {
        int[] tokens = encoder.apply(text.substring(0, cut));
        if (tokens.length >= budget) {
          return Arrays.copyOf(tokens, budget);
        }
      }
      window *= 2;
    }
    int[] tokens = encoder.apply(text);
    return tokens.length > budget ? Arrays.copyOf(tokens, budget) : tokens;
  }

  /** The largest index {@code <= limit} that holds a space or starts a CJK character, or 0. */
  private static int boundaryAtOrBefore(String text, int limit) {
    for (int i = Math.min(limit, text.length() - 1); i > 0; i--) {
      char c = text.charAt(i);
      if (Character.isLowSurrogate(c)) {
        continue;
      }
      if (isBertSpace(c) || isCjk(text.codePointAt(i))) {
        return i;
      }
    }
    return 0;
  }

  /** Whitespace to BERT (transformers' _is_whitespace), which Rust's is_whitespace also includes. */
  private static boolean isBertSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r'
        || Character.getType(c) == Character.SPACE_SEPARATOR;
  }

  /** BERT's "Chinese character" ranges (transformers' _is_chinese_char). */
  static boolean isCjk(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF)
        || (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F)
        || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }

  private static int[] join(int cls, int sep, int[]... fields) {
    int length = 1;
    for (int[] field : fields) {
      length += field.length + 1;
    }
    int[] ids = new int[length];
    ids[0] = cls;
    int at = 1;
    for (int[] field : fields) {
      System.arraycopy(field, 0, ids, at, field.length);
      at += field.length;
      ids[at++] = sep;
    }
    return ids;
  }

  @Override
  public String toString() {
    return budgets == null ? "reference:" + maxText
        : "fields:" + budgets[0] + "," + budgets[1] + "," + budgets[2];
  }
}

package dev.vidtag.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The words of a synthetic dataset. Like the real data the text is Chinese, read one character
 * at a time by the tokenizer, so the class signal lives in characters: every class owns a few
 * characters of its own, every lv1 group a few more, and a large pool of common characters is
 * noise. Words are 2-3 characters from one pool; a class's words borrow from the next class of
 * its group now and then, so neighbouring classes are confusable and lv1 is easier than lv2.
 * A little ASCII (numbers, "vlog"-like words) is mixed in, as in real titles.
 */
final class SyntheticText {
  private static final int FIRST_CHARACTER = 0x4E00;
  private static final int CHARACTERS_PER_CLASS = 8;
  private static final int CHARACTERS_PER_GROUP = 12;
  private static final int COMMON_CHARACTERS = 600;
  private static final int WORDS_PER_CLASS = 16;
  private static final int WORDS_PER_GROUP = 24;
  private static final int COMMON_WORDS = 500;
  private static final String[] ASCII_WORDS = {"vlog", "diy", "top", "app", "ok", "hd", "pk", "ai"};
  /** The fixed vocabulary: the same words for every seed, as a language is. */
  private static final long WORD_SEED = 7;

  /** How strongly one field carries its class: shares of class, neighbour and group words. */
  record Signal(double classWords, double neighbourWords, double groupWords, double ascii) {}

  private final CategoryMap categories;
  private final String[][] classWords;
  private final String[][] groupWords;
  private final String[] commonWords;
  private final int[] neighbourOf;
  private final int characterCount;

  SyntheticText(CategoryMap categories) {
    this.categories = categories;
    SplittableRandom random = new SplittableRandom(WORD_SEED);
    int next = FIRST_CHARACTER;
    classWords = new String[categories.size()][];
    for (int c = 0; c < categories.size(); c++) {
      classWords[c] = words(random, next, CHARACTERS_PER_CLASS, WORDS_PER_CLASS);
      next += CHARACTERS_PER_CLASS;
    }
    groupWords = new String[categories.lv1Count()][];
    for (int g = 0; g < categories.lv1Count(); g++) {
      groupWords[g] = words(random, next, CHARACTERS_PER_GROUP, WORDS_PER_GROUP);
      next += CHARACTERS_PER_GROUP;
    }
    commonWords = words(random, next, COMMON_CHARACTERS, COMMON_WORDS);
    next += COMMON_CHARACTERS;
    characterCount = next - FIRST_CHARACTER;
    neighbourOf = new int[categories.size()];
    for (int c = 0; c < categories.size(); c++) {
      int candidate = (c + 1) % categories.size();
      boolean sameGroup = categories.lv1Index(candidate) == categories.lv1Index(c);
      // the last class of a group borrows from the first of it
      int first = c;
      while (first > 0 && categories.lv1Index(first - 1) == categories.lv1Index(c)) {
        first--;
      }
      neighbourOf[c] = sameGroup ? candidate : first;
    }
  }

  private static String[] words(SplittableRandom random, int firstCharacter, int characters,
      int count) {
    String[] words = new String[count];
    for (int w = 0; w < count; w++) {
      int length = 2 + random.nextInt(2);
      StringBuilder word = new StringBuilder(length);
      for (int i = 0; i < length; i++) {
        word.appendCodePoint(firstCharacter + random.nextInt(characters));
      }
      words[w] = word.toString();
    }
    return words;
  }

  /** {@code words} words of class {@code lv2} with the given signal, no separators. */
  String text(int lv2, int words, Signal signal, SplittableRandom random) {
    StringBuilder text = new StringBuilder(words * 3);
    int group = categories.lv1Index(lv2);
    for (int w = 0; w < words; w++) {
      double u = random.nextDouble();
      String[] pool;
      if (u < signal.classWords()) {
        pool = classWords[lv2];
      } else if ((u -= signal.classWords()) < signal.neighbourWords()) {
        pool = classWords[neighbourOf[lv2]];
      } else if ((u -= signal.neighbourWords()) < signal.groupWords()) {
        pool = groupWords[group];
      } else if ((u -= signal.groupWords()) < signal.ascii()) {
        text.append(random.nextBoolean() ? ASCII_WORDS[random.nextInt(ASCII_WORDS.length)]
            : Integer.toString(random.nextInt(2030)));
        continue;
      } else {
        pool = commonWords;
      }
      text.append(pool[random.nextInt(pool.length)]);
    }
    return text.toString();
  }

  /** Every character the generator can emit, CJK first, then lower-case ASCII and digits. */
  List<String> characters() {
    List<String> characters = new ArrayList<>();
    for (int i = 0; i < characterCount; i++) {
      characters.add(new String(Character.toChars(FIRST_CHARACTER + i)));
    }
    for (char c = '0'; c <= '9'; c++) {
      characters.add(String.valueOf(c));
    }
    for (char c = 'a'; c <= 'z'; c++) {
      characters.add(String.valueOf(c));
    }
    return characters;
  }
}

package dev.vidtag.data;

import java.nio.file.Path;
import java.util.Arrays;

/** Child-JVM entry of {@link TokenizerOfflineTest}: tokenizes a text, prints the ids and DJL's settings. */
public final class TokenizerProbe {
  private TokenizerProbe() {}

  public static void main(String[] args) {
    try (BertTokenizer tokenizer = BertTokenizer.fromVocabulary(Path.of(args[0]))) {
      System.out.println(Arrays.toString(tokenizer.encode(args[1])));
    }
    System.out.println("offline=" + System.getProperty("ai.djl.offline"));
    System.out.println("tracking-opt-out=" + System.getProperty("OPT_OUT_TRACKING"));
  }
}

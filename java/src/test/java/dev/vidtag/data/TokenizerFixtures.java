package dev.vidtag.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The fixtures of {@code src/test/resources/dev/vidtag/data/tokenizer/}: a small vocabulary and
 * the ids Hugging Face's slow BertTokenizer gives for each test string (make_fixtures.py).
 */
final class TokenizerFixtures {
  record Case(String name, String text, int[] lower, int[] cased) {}

  private TokenizerFixtures() {}

  static Path directory() {
    try {
      return Path.of(TokenizerFixtures.class.getResource("tokenizer/vocab.txt").toURI()).getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static Path vocabulary() {
    return directory().resolve("vocab.txt");
  }

  static List<Case> cases() {
    try {
      JsonNode root = new ObjectMapper().readTree(directory().resolve("expected.json").toFile());
      List<Case> cases = new ArrayList<>();
      for (JsonNode c : root.get("cases")) {
        cases.add(new Case(c.get("name").asText(), c.get("text").asText(), ints(c.get("lower")),
            ints(c.get("cased"))));
      }
      return cases;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int[] ints(JsonNode array) {
    int[] values = new int[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = array.get(i).asInt();
    }
    return values;
  }
}

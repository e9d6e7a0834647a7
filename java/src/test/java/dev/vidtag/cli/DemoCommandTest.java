package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class DemoCommandTest {
  private static double accuracyOf(String row, String output) {
    Matcher m = Pattern.compile(Pattern.quote(row) + "\\s+([0-9.]+)").matcher(output);
    assertTrue(m.find(), "no row '" + row + "' in:\n" + output);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void learnsFarAboveTheMajorityClass() {
    CommandLineRunner.Output output =
        CommandLineRunner.run("demo", "--videos", "3000", "--epochs", "3", "--threads", "2");
    assertEquals(0, output.exitCode(), output.err());
    double majority = accuracyOf("majority class", output.out());
    assertTrue(accuracyOf("live weights", output.out()) > majority + 0.2, output.out());
    assertTrue(accuracyOf("EMA weights (decay 0.99)", output.out()) > majority + 0.2, output.out());
  }
}

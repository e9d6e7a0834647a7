package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo end to end at a smaller size: every stage runs and the submission is valid. */
class DemoCommandTest {
  @TempDir Path dir;

  /** The mean F1 of the first table row that starts with {@code row}. */
  private static double meanF1(String row, String output) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(row) + "[^\\n]*?\\s([0-9]\\.[0-9]{4})\\s")
        .matcher(output);
    assertTrue(m.find(), "no row '" + row + "' in:\n" + output);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void trainsBothModelsEnsemblesThemAndWritesASubmissionThatEvaluates() throws Exception {
    CommandLineRunner.Output output = CommandLineRunner.run("demo", "--out", dir.toString(),
        "--labeled", "2000", "--test", "300", "--epochs", "3", "--threads", "2");
    assertEquals(0, output.exitCode(), output.err());
    String table = output.out();

    double majority = meanF1("always the most frequent training class", table);
    for (String row : new String[] {"single stream (", "double stream (",
        "ensemble of both (mean of logits)", "ensemble + tail adjustment"}) {
      assertTrue(meanF1(row, table) > majority + 0.1, row + " against the majority class:\n"
          + table);
    }
    assertTrue(Files.isRegularFile(dir.resolve("models/single-swa/model.safetensors")));
    assertTrue(Files.isRegularFile(dir.resolve("models/double-swa/model.safetensors")));
    assertTrue(Files.isRegularFile(dir.resolve("tail-adjustment.json")));

    CommandLineRunner.Output evaluated = CommandLineRunner.run("evaluate", "--pred",
        dir.resolve("result.csv").toString(), "--truth",
        dir.resolve("data/truth_test_a.csv").toString());
    assertEquals(0, evaluated.exitCode(), evaluated.err());
    double official = new ObjectMapper().readTree(evaluated.out()).get("mean_f1").asDouble();
    assertEquals(meanF1("ensemble + tail adjustment", table), official, 5.001e-5);
  }
}

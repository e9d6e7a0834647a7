package dev.vidtag.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.cli.CommandLineRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vidtag evaluate}: the score as JSON, and the official scorer's refusals. */
class EvaluateCommandTest {
  @TempDir Path dir;

  private static CommandLineRunner.Output evaluate(String... args) {
    String[] full = new String[args.length + 1];
    full[0] = "evaluate";
    System.arraycopy(args, 0, full, 1, args.length);
    return CommandLineRunner.run(full);
  }

  private Path file(String name, String content) throws Exception {
    return Files.writeString(dir.resolve(name), content);
  }

  @Test
  void printsTheFiveScoresAndWritesAReport() throws Exception {
    Path truth = file("truth.csv", "v1,0000\nv2,0000\nv3,0001\nv4,0100\n");
    // the same as the hand-computed example of OfficialScoreTest, in another order
    Path pred = file("pred.csv", "v4,0000\nv1,0000\nv3,0001\nv2,0001\n");
    Path report = dir.resolve("report.json");
    CommandLineRunner.Output output = evaluate("--pred", pred.toString(), "--truth", truth.toString(),
        "--report", report.toString());
    assertEquals(0, output.exitCode(), output.err());
    JsonNode score = new ObjectMapper().readTree(output.out());
    assertEquals(0.75, score.get("lv1_micro_f1").asDouble(), 1e-12);
    assertEquals(3.0 / 7.0, score.get("lv1_macro_f1").asDouble(), 1e-12);
    assertEquals(0.5, score.get("lv2_micro_f1").asDouble(), 1e-12);
    assertEquals(7.0 / 18.0, score.get("lv2_macro_f1").asDouble(), 1e-12);
    assertEquals((0.75 + 3.0 / 7.0 + 0.5 + 7.0 / 18.0) / 4, score.get("mean_f1").asDouble(), 1e-12);

    JsonNode full = new ObjectMapper().readTree(report.toFile());
    assertEquals(3, full.get("lv2").size());
    JsonNode classA = full.get("lv2").get(0);
    assertEquals("0000", classA.get("class").asText());
    assertEquals(0.5, classA.get("precision").asDouble(), 1e-12);
    assertEquals(2, classA.get("support").asInt());
    assertEquals(2, full.get("top_confusions").size());
  }

  @Test
  void refusesWhatTheOfficialScorerRefused() throws Exception {
    Path truth = file("truth.csv", "v1,0000\nv2,0001\n");
    String[][] cases = {
        {"short.csv", "v1,0000\n", "1 lines, but"},
        {"unknown-id.csv", "v1,0000\nv9,0001\n", "line 2: field 'id': unknown id v9"},
        {"unknown-category.csv", "v1,0000\nv2,9999\n", "field 'category_id': '9999' is not an official category id"},
        {"duplicate.csv", "v1,0000\nv1,0001\n", "line 2: field 'id': duplicate id v1"},
        {"header.csv", "id,category_id\nv1,0000\n", "'category_id' is not an official category id"},
        {"three-fields.csv", "v1,0000,x\nv2,0001\n", "line 1: expected '<id>,<category_id>'"},
    };
    for (String[] c : cases) {
      Path pred = file(c[0], c[1]);
      CommandLineRunner.Output output = evaluate("--pred", pred.toString(), "--truth", truth.toString());
      assertEquals(2, output.exitCode(), c[0]);
      assertTrue(output.err().contains(pred.toString()), c[0] + ": " + output.err());
      assertTrue(output.err().contains(c[2]), c[0] + ": " + output.err());
      assertEquals("", output.out(), c[0]);
    }
  }

  @Test
  void refusesInvalidUtf8() throws Exception {
    Path truth = file("truth.csv", "v1,0000\n");
    Path pred = Files.write(dir.resolve("bad.csv"), new byte[] {'v', (byte) 0xff, ',', '0', '0', '0', '0', '\n'});
    CommandLineRunner.Output output = evaluate("--pred", pred.toString(), "--truth", truth.toString());
    assertEquals(2, output.exitCode());
    assertTrue(output.err().contains("not valid UTF-8"), output.err());
  }
}

package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.cli.CommandLineRunner.Output;
import dev.vidtag.model.BertModel;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.weights.LoadReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthInspectCommandTest {
  @TempDir Path dir;

  private Path synth(String name) {
    Path out = dir.resolve(name);
    Output output = CommandLineRunner.run("synth", "--out", out.toString(), "--labeled", "100",
        "--unlabeled", "30", "--test", "20", "--feature-dim", "32", "--seed", "4");
    assertEquals(0, output.exitCode(), output.err());
    assertTrue(output.out().contains("100 labeled, 30 unlabeled, 20 test_a videos"), output.out());
    return out;
  }

  @Test
  void inspectReportsWhatSynthWrote() {
    Path data = synth("data");
    Output output = CommandLineRunner.run("inspect", "--data", data.toString(), "--classes", "3");
    assertEquals(0, output.exitCode(), output.err());
    String report = output.out();
    assertTrue(report.matches("(?s).*labeled\\s+100\\s+100 zip_feats \\(dim 32\\).*"), report);
    assertTrue(report.matches("(?s).*unlabeled\\s+30\\s+0 zip_feats.*"), report);
    assertTrue(report.contains("classes of labeled:"), report);
    assertTrue(report.contains("text length in characters"), report);
    assertTrue(report.contains("no frames"), report);
  }

  @Test
  void textModelIsAHuggingFaceBertWithFreshWeights() {
    Path textModel = synth("with-model").resolve("text-model");
    BertModel bert = new BertModel(HuggingFaceBert.config(textModel), true);
    LoadReport report = HuggingFaceBert.loadInto(bert, textModel);
    assertTrue(report.complete(), report.toString());
    // Hugging Face's initialisation: N(0, 0.02) weights, zero biases, unit LayerNorm weights
    Tensor words = bert.embeddings().wordEmbeddingWeight();
    assertEquals(0.02, words.std().item_double(), 0.002);
    StringTensorDict parameters = bert.named_parameters();
    for (long i = 0; i < parameters.size(); i++) {
      String name = parameters.get(i).key().getString();
      Tensor p = parameters.get(i).value();
      if (name.endsWith("LayerNorm.weight")) {
        assertEquals(1.0, p.min().item_double(), name);
        assertEquals(1.0, p.max().item_double(), name);
      } else if (name.endsWith("bias")) {
        assertEquals(0.0, p.abs().max().item_double(), name);
      }
    }
  }

  @Test
  void malformedInputFailsWithFileItemAndField() throws IOException {
    Path data = synth("bad-category");
    Path labeled = data.resolve("annotations/labeled.json");
    String json = Files.readString(labeled);
    int at = json.indexOf("\"category_id\":\"", json.indexOf("\"category_id\"") + 1);
    Files.writeString(labeled, json.substring(0, at) + "\"category_id\":\"9999\""
        + json.substring(at + "\"category_id\":\"0000\"".length()));
    Output output = CommandLineRunner.run("inspect", "--data", data.toString());
    assertEquals(1, output.exitCode());
    assertTrue(output.err().contains(labeled + ": item 1 (id "), output.err());
    assertTrue(output.err().contains("field 'category_id': unknown category '9999'"), output.err());

    Path truncated = synth("truncated");
    Path zip = truncated.resolve("zip_feats/test_a.zip");
    byte[] bytes = Files.readAllBytes(zip);
    Files.write(zip, Arrays.copyOf(bytes, bytes.length / 2));
    output = CommandLineRunner.run("inspect", "--data", truncated.toString());
    assertEquals(1, output.exitCode());
    assertTrue(output.err().contains(zip + ": not a zip archive, or a truncated one"), output.err());
  }

  @Test
  void badArgumentsAreUsageErrors() {
    Output output = CommandLineRunner.run("synth", "--out", dir.resolve("x").toString(), "--frames", "gif");
    assertEquals(2, output.exitCode());
    assertTrue(output.err().contains("--frames must be npy or jpg"), output.err());
    output = CommandLineRunner.run("inspect", "--data", dir.resolve("absent").toString());
    assertEquals(2, output.exitCode());
  }
}

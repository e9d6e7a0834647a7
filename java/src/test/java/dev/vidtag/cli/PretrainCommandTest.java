package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.cli.CommandLineRunner.Output;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.SafetensorsFile;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.train.PretrainedInit;
import dev.vidtag.train.pretrain.PretrainCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** vidtag pretrain on a small generated dataset, and fine-tuning from its checkpoint. */
class PretrainCommandTest {
  @TempDir static Path dir;
  static Path data;
  static Path singleRun;
  static Output singleOutput;

  @BeforeAll
  static void synthAndPretrain() {
    data = dir.resolve("data");
    Output output = CommandLineRunner.run("synth", "--out", data.toString(), "--labeled", "60",
        "--unlabeled", "60", "--test", "0", "--feature-dim", "32", "--seed", "8");
    assertEquals(0, output.exitCode(), output.err());
    singleRun = dir.resolve("single");
    singleOutput = pretrain(singleRun, "single", "--whole-word", "--ngram", "2");
  }

  static Output pretrain(Path out, String arch, String... extra) {
    List<String> args = new ArrayList<>(List.of("pretrain", "--data", data.toString(), "--arch",
        arch, "--text-model", data.resolve("text-model").toString(), "--out", out.toString(),
        "--epochs", "1", "--batch-size", "8", "--max-frames", "8",
        "--max-text", "48", "--checkpoint-every", "4", "--threads", "2"));
    args.addAll(List.of(extra));
    if (!args.contains("--max-steps")) {
      args.addAll(List.of("--max-steps", "6"));
    }
    return CommandLineRunner.run(args.toArray(new String[0]));
  }

  @Test
  void singleStreamWritesCheckpointsAndEveryLossTerm() throws Exception {
    Path run = singleRun;
    Output output = singleOutput;
    assertEquals(0, output.exitCode(), output.err());
    assertTrue(output.out().startsWith("6 steps"), output.out());

    List<String> checkpoints;
    try (Stream<Path> listing = Files.list(run.resolve("checkpoints"))) {
      checkpoints = listing.map(p -> p.getFileName().toString()).sorted().toList();
    }
    assertEquals(List.of("step-000004", "step-000006"), checkpoints);
    Path last = run.resolve("checkpoints/step-000006");
    assertEquals(last, PretrainCheckpoint.resolve(run));
    VideoClassifierModel model = ModelDirectory.load(last);
    assertEquals(Architecture.SINGLE, model.config().arch());
    assertEquals(8, model.config().maxFrames());
    assertTrue(Files.exists(last.resolve("vocab.txt")));
    try (SafetensorsFile heads = SafetensorsFile.open(last.resolve(PretrainCheckpoint.HEADS))) {
      assertTrue(heads.names().containsAll(List.of("cls.predictions.transform.dense.weight",
          "cls.predictions.transform.LayerNorm.weight", "cls.predictions.bias",
          "mfm_head.decoder.weight", "itm_head.weight")), heads.names().toString());
    }

    ObjectMapper json = new ObjectMapper();
    List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
    assertEquals(6, lines.size());
    for (int i = 0; i < lines.size(); i++) {
      JsonNode record = json.readTree(lines.get(i));
      assertEquals("pretrain", record.get("kind").asText());
      assertEquals(i + 1, record.get("step").asInt());
      for (String term : List.of("loss", "mlm", "mfm", "itm", "lr")) {
        assertTrue(Double.isFinite(record.get(term).asDouble()), term + " in " + lines.get(i));
      }
      double total = record.get("mlm").asDouble() / 1.25 + record.get("mfm").asDouble() / 3
          + record.get("itm").asDouble();
      assertEquals(total, record.get("loss").asDouble(), 1e-4);
    }
  }

  @Test
  void fineTuningStartsFromTheEncoderAndFrameProjectionOfTheCheckpoint() {
    Path checkpoint = singleRun.resolve("checkpoints/step-000006");
    VideoClassifierModel pretrained = ModelDirectory.load(checkpoint);
    VideoClassifierModel fresh = VideoClassifierModel.create(pretrained.config());
    Map<String, Tensor> before = copies(StateDicts.of(fresh));
    PretrainedInit.Transfer transfer = PretrainedInit.apply(fresh, singleRun);
    assertEquals(checkpoint, transfer.checkpoint());
    assertEquals(List.of("classifier.weight", "classifier.bias"), transfer.kept());
    assertEquals(Set.of("bert", "video_fc"), transfer.transferred().keySet());
    assertEquals(2, transfer.transferred().get("video_fc"));
    Map<String, Tensor> source = StateDicts.of(pretrained);
    for (Map.Entry<String, Tensor> e : StateDicts.of(fresh).entrySet()) {
      Tensor expected = e.getKey().startsWith("classifier.") ? before.get(e.getKey())
          : source.get(e.getKey());
      assertTrue(torch.equal(expected, e.getValue()), e.getKey());
    }

    Output train = CommandLineRunner.run("train", "--data", data.toString(), "--arch", "single",
        "--init", singleRun.toString(), "--out", dir.resolve("finetune").toString(),
        "--epochs", "1", "--batch-size", "8", "--max-frames", "8", "--max-text", "48",
        "--adversary", "none", "--eval-every", "100", "--eval-from", "100", "--threads", "2");
    assertEquals(0, train.exitCode(), train.err());
    assertTrue(train.out().contains("initialised from " + checkpoint + ": bert.* ("),
        train.out());
    assertTrue(train.out().contains("video_fc.* (2 tensors); left as initialised: "
        + "classifier.weight, classifier.bias"), train.out());
  }

  @Test
  void doubleStreamLogsItsTermsAndFineTuningTakesTheDecoder() throws Exception {
    Path run = dir.resolve("double");
    Output output = pretrain(run, "double", "--max-steps", "3", "--queue-size", "16");
    assertEquals(0, output.exitCode(), output.err());
    Path last = run.resolve("checkpoints/step-000003");
    try (SafetensorsFile heads = SafetensorsFile.open(last.resolve(PretrainCheckpoint.HEADS))) {
      assertTrue(heads.names().containsAll(List.of("cls.predictions.bias", "text_proj.weight",
          "vision_proj.weight", "itm_head.weight", "temp", "image_queue", "text_queue",
          "image_queue_ptr", "momentum.bert.embeddings.word_embeddings.weight",
          "momentum.visual_encoder.weight")), heads.names().toString());
    }
    ObjectMapper json = new ObjectMapper();
    List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
    assertEquals(3, lines.size());
    for (String line : lines) {
      JsonNode record = json.readTree(line);
      for (String term : List.of("loss", "mlm", "itc", "itm", "temp", "alpha", "lr")) {
        assertTrue(Double.isFinite(record.get(term).asDouble()), term + " in " + line);
      }
    }

    VideoClassifierModel fresh = VideoClassifierModel.create(ModelDirectory.config(last));
    PretrainedInit.Transfer transfer = PretrainedInit.apply(fresh, run);
    assertEquals(Set.of("bert", "multi_head_decoder", "visual_encoder"),
        transfer.transferred().keySet());
    assertEquals(List.of("classifier.weight", "classifier.bias"), transfer.kept());
  }

  @Test
  void initRefusesAnotherArchitectureAndTextModelTogether() {
    Output wrongArch = CommandLineRunner.run("train", "--data", data.toString(), "--arch",
        "double", "--init", singleRun.toString(), "--out", dir.resolve("ft-double").toString(),
        "--max-frames", "8", "--max-text", "48", "--threads", "2");
    assertEquals(2, wrongArch.exitCode(), wrongArch.err());
    assertTrue(wrongArch.err().contains("single-stream model but --arch is double"),
        wrongArch.err());
    Output both = CommandLineRunner.run("train", "--data", data.toString(), "--arch", "single",
        "--init", singleRun.toString(), "--text-model", data.resolve("text-model").toString(),
        "--out", dir.resolve("ft-both").toString());
    assertEquals(2, both.exitCode(), both.err());
  }

  private static Map<String, Tensor> copies(Map<String, Tensor> tensors) {
    Map<String, Tensor> out = new java.util.LinkedHashMap<>();
    tensors.forEach((name, t) -> out.put(name, t.detach().clone()));
    return out;
  }

  @Test
  void refusesAnUnknownSplit() {
    Output unknown = pretrain(dir.resolve("bad"), "single", "--splits", "unlabeled,nope");
    assertEquals(1, unknown.exitCode(), unknown.err()); // a data error, not a usage error
    assertTrue(unknown.err().contains("nope"), unknown.err());
  }

  @Test
  void resumeTakesTheRunsOwnOptionsAndNewRunsDoNotOverwriteOne() {
    Output changed = CommandLineRunner.run("pretrain", "--resume", singleRun.toString(),
        "--epochs", "3", "--threads", "2");
    assertEquals(2, changed.exitCode(), changed.err());
    assertTrue(changed.err().contains("drop --epochs"), changed.err());

    Output notARun = CommandLineRunner.run("pretrain", "--resume", data.toString());
    assertEquals(2, notARun.exitCode(), notARun.err());
    assertTrue(notARun.err().contains("options.json: not a run of vidtag pretrain"),
        notARun.err());

    Output again = pretrain(singleRun, "single");
    assertEquals(2, again.exitCode(), again.err());
    assertTrue(again.err().contains("already holds a run"), again.err());

    Output missing = CommandLineRunner.run("pretrain", "--data", data.toString(), "--arch",
        "single", "--out", dir.resolve("no-text-model").toString());
    assertEquals(2, missing.exitCode(), missing.err());
    assertTrue(missing.err().contains("missing --text-model (required unless --resume)"),
        missing.err());
  }
}

package dev.vidtag.train.pretrain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.runtime.TorchRuntime;
import dev.vidtag.train.ChildRuns;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A pretraining run killed with SIGKILL in the middle of an epoch and resumed from its newest
 * checkpoint ends with exactly the weights, heads (momentum encoders, queues and temperature
 * included) and optimizer state of a run that was never interrupted. One thread, so that every
 * reduction runs in the same order in both; both runs are child JVMs.
 */
class PretrainResumeTest {
  private static final int VIDEOS = 40 + 120;
  private static final int BATCH = 8;
  private static final long STEPS = 2 * (VIDEOS / BATCH);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"single", "double"})
  void aKilledRunResumesToTheSameStateAsAnUninterruptedOne(String arch) throws Exception {
    TorchRuntime.initialize();
    Path data = dir.resolve("data");
    new SyntheticDataset(new SyntheticDataset.Options(40, 120, 0, 16,
        SyntheticDataset.FrameKind.NPY, 5))
        .write(data, (directory, config, seed) -> HuggingFaceBert.writeRandomWeights(directory, seed));
    Path whole = dir.resolve("whole");
    Path killed = dir.resolve("killed");

    ChildRuns runs = new ChildRuns(dir.resolve("logs"));
    Process uninterrupted = runs.start("whole", pretrain(arch, data, whole));
    Process victim = runs.start("killed", pretrain(arch, data, killed));
    long checkpointAtKill = waitForCheckpoint(victim, killed, 8);
    victim.destroyForcibly().waitFor();
    assertTrue(checkpointAtKill < STEPS / 2, "killed in the first epoch, after the checkpoint of "
        + "step " + checkpointAtKill);
    runs.finish(uninterrupted, "pretraining " + whole);

    Process resumed = runs.start("resumed", List.of("pretrain", "--resume", killed.toString(),
        "--threads", "1"));
    runs.finish(resumed, "pretraining " + killed);

    Path last = Path.of("checkpoints", String.format("step-%06d", STEPS));
    Path expected = whole.resolve(last);
    Path actual = killed.resolve(last);
    for (String file : List.of(ModelDirectory.WEIGHTS, PretrainCheckpoint.HEADS)) {
      assertArrayEquals(Files.readAllBytes(expected.resolve(file)),
          Files.readAllBytes(actual.resolve(file)), file);
    }
    assertEquals(ChildRuns.archiveTensors(expected.resolve(PretrainCheckpoint.OPTIMIZER)),
        ChildRuns.archiveTensors(actual.resolve(PretrainCheckpoint.OPTIMIZER)),
        "optimizer moments");
    assertEquals(JSON.readTree(expected.resolve(PretrainCheckpoint.INFO).toFile()),
        JSON.readTree(actual.resolve(PretrainCheckpoint.INFO).toFile()), "step, epoch, loss");

    JsonNode resume = resumeRecord(killed.resolve("metrics.jsonl"));
    assertEquals(checkpointAtKill, resume.get("step").asLong(), resume.toString());
  }

  private static List<String> pretrain(String arch, Path data, Path out) {
    return List.of("pretrain", "--data", data.toString(), "--arch", arch, "--text-model",
        data.resolve("text-model").toString(), "--out", out.toString(), "--epochs", "2",
        "--batch-size", String.valueOf(BATCH), "--max-frames", "8", "--max-text", "32",
        "--lr", "1e-3", "--queue-size", "24", "--checkpoint-every", "4", "--threads", "1");
  }

  /**
   * Waits until the run has written a checkpoint at or after {@code step}; returns the newest
   * step. A checkpoint appears whole under its name, so one that exists is complete.
   */
  private static long waitForCheckpoint(Process process, Path run, long step) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline && process.isAlive()) {
      Path checkpoints = run.resolve("checkpoints");
      if (Files.isDirectory(checkpoints)) {
        long newest = PretrainCheckpoint.isCheckpoint(checkpoints.resolve(
            String.format("step-%06d", step))) ? stepOf(PretrainCheckpoint.resolve(run)) : -1;
        if (newest >= step) {
          return newest;
        }
      }
      Thread.sleep(5);
    }
    throw new AssertionError("no checkpoint at step " + step + " in time (alive: "
        + process.isAlive() + ")");
  }

  private static long stepOf(Path checkpoint) {
    return Long.parseLong(checkpoint.getFileName().toString().substring("step-".length()));
  }

  private static JsonNode resumeRecord(Path metrics) throws Exception {
    for (String line : Files.readAllLines(metrics)) {
      if (line.contains("\"kind\":\"resume\"")) {
        return JSON.readTree(line);
      }
    }
    throw new AssertionError("no resume record in " + metrics);
  }
}

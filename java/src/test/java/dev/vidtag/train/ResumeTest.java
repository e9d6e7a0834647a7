package dev.vidtag.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run killed with SIGKILL and resumed ends with exactly the weights, EMA shadow and optimizer
 * state of a run that was never interrupted (one thread, so that every reduction runs in the same
 * order in both). Both runs are child JVMs, as a real kill would hit one.
 */
class ResumeTest {
  private static final long STEPS = 2 * (540 / 16);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @Test
  void aKilledRunResumesToTheSameWeightsAsAnUninterruptedOne() throws Exception {
    TorchRuntime.initialize();
    Path data = dir.resolve("data");
    new SyntheticDataset(new SyntheticDataset.Options(600, 0, 0, 32,
        SyntheticDataset.FrameKind.NPY, 11))
        .write(data, (directory, config, seed) -> HuggingFaceBert.writeRandomWeights(directory, seed));
    Path whole = dir.resolve("whole");
    Path killed = dir.resolve("killed");

    ChildRuns runs = new ChildRuns(dir.resolve("logs"));
    Process uninterrupted = runs.start("whole", train(data, whole));
    Process victim = runs.start("killed", train(data, killed));
    long stepAtKill = waitForState(victim, killed, 20);
    victim.destroyForcibly().waitFor();
    assertTrue(stepAtKill < STEPS, "the run was killed before its end, at step " + stepAtKill);
    runs.finish(uninterrupted, "training " + whole);

    Process resumed = runs.start("resumed", List.of("train", "--resume", killed.toString(),
        "--threads", "1"));
    runs.finish(resumed, "training " + killed);

    assertEquals(STEPS, TrainingState.counters(whole).step());
    assertEquals(TrainingState.counters(whole), TrainingState.counters(killed));
    for (String file : List.of("weights.safetensors", "ema.safetensors")) {
      assertArrayEquals(Files.readAllBytes(whole.resolve("state").resolve(file)),
          Files.readAllBytes(killed.resolve("state").resolve(file)), file);
    }
    assertEquals(ChildRuns.archiveTensors(whole.resolve("state/optimizer.pt")),
        ChildRuns.archiveTensors(killed.resolve("state/optimizer.pt")), "optimizer moments");
    assertArrayEquals(Files.readAllBytes(whole.resolve("best/model.safetensors")),
        Files.readAllBytes(killed.resolve("best/model.safetensors")), "best/model.safetensors");
    assertTrue(Files.readString(killed.resolve("metrics.jsonl")).contains("\"kind\":\"resume\""));
  }

  private List<String> train(Path data, Path out) {
    return List.of("train", "--data", data.toString(), "--arch", "single", "--text-model",
        data.resolve("text-model").toString(), "--out", out.toString(), "--epochs", "2",
        "--batch-size", "16", "--max-frames", "8", "--max-text", "32", "--bert-lr", "1e-3",
        "--cross-lr", "2e-3", "--lr", "2e-3", "--adversary", "pgd", "--pgd-steps", "2",
        "--pgd-epsilon", "0.05", "--pgd-alpha", "0.02", "--eval-every", "30", "--eval-from", "30",
        "--state-every", "5", "--threads", "1");
  }

  /** Waits until the run has saved a state at or after {@code step}; returns that step. */
  private static long waitForState(Process process, Path run, long step) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline && process.isAlive()) {
      Path counters = run.resolve("state/state.json");
      try {
        long saved = JSON.readTree(counters.toFile()).get("step").asLong();
        if (saved >= step) {
          return saved;
        }
      } catch (IOException notYetOrBeingReplaced) {
        // the state appears after the first save and is briefly absent while replaced
      }
      Thread.sleep(5);
    }
    throw new AssertionError("no state at step " + step + " in time (alive: " + process.isAlive()
        + ")");
  }
}

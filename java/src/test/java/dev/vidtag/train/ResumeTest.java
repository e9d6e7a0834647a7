package dev.vidtag.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.cli.VidTag;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
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

    Process uninterrupted = start(whole, train(data, whole));
    Process victim = start(killed, train(data, killed));
    long stepAtKill = waitForState(victim, killed, 20);
    victim.destroyForcibly().waitFor();
    assertTrue(stepAtKill < STEPS, "the run was killed before its end, at step " + stepAtKill);
    finish(uninterrupted, whole);

    Process resumed = start(killed, List.of("train", "--resume", killed.toString(),
        "--threads", "1"));
    finish(resumed, killed);

    assertEquals(STEPS, TrainingState.counters(whole).step());
    assertEquals(TrainingState.counters(whole), TrainingState.counters(killed));
    for (String file : List.of("weights.safetensors", "ema.safetensors")) {
      assertArrayEquals(Files.readAllBytes(whole.resolve("state").resolve(file)),
          Files.readAllBytes(killed.resolve("state").resolve(file)), file);
    }
    assertEquals(archiveTensors(whole.resolve("state/optimizer.pt")),
        archiveTensors(killed.resolve("state/optimizer.pt")), "optimizer moments");
    assertArrayEquals(Files.readAllBytes(whole.resolve("best/model.safetensors")),
        Files.readAllBytes(killed.resolve("best/model.safetensors")), "best/model.safetensors");
    assertTrue(Files.readString(killed.resolve("metrics.jsonl")).contains("\"kind\":\"resume\""));
  }

  /**
   * The contents of a LibTorch archive's tensor records (moments and step counts), sorted: the
   * archive numbers its records in an order of its own (by tensor address), not by parameter.
   */
  private static List<String> archiveTensors(Path archive) throws Exception {
    List<String> digests = new ArrayList<>();
    try (ZipFile zip = new ZipFile(archive.toFile())) {
      for (ZipEntry entry : Collections.list(zip.entries())) {
        if (entry.getName().matches("[^/]+/data/\\d+")) {
          try (var in = zip.getInputStream(entry)) {
            digests.add(HexFormat.of().formatHex(
                MessageDigest.getInstance("SHA-256").digest(in.readAllBytes())));
          }
        }
      }
    }
    assertTrue(digests.size() > 2, "tensor records in " + archive + ": " + digests.size());
    Collections.sort(digests);
    return digests;
  }

  private List<String> train(Path data, Path out) {
    return List.of("train", "--data", data.toString(), "--arch", "single", "--text-model",
        data.resolve("text-model").toString(), "--out", out.toString(), "--epochs", "2",
        "--batch-size", "16", "--max-frames", "8", "--max-text", "32", "--bert-lr", "1e-3",
        "--cross-lr", "2e-3", "--lr", "2e-3", "--adversary", "pgd", "--pgd-steps", "2",
        "--pgd-epsilon", "0.05", "--pgd-alpha", "0.02", "--eval-every", "30", "--eval-from", "30",
        "--state-every", "5", "--threads", "1");
  }

  private Process start(Path run, List<String> args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("-Dvidtag.cache.dir=" + TorchRuntime.cacheRoot());
    command.add(VidTag.class.getName());
    command.addAll(args);
    Files.createDirectories(run);
    Path log = Files.createTempFile(dir, run.getFileName().toString(), ".log");
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
        .start();
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

  private void finish(Process process, Path run) throws Exception {
    if (!process.waitFor(300, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("training " + run + " did not finish in 300 s");
    }
    if (process.exitValue() != 0) {
      StringBuilder logs = new StringBuilder();
      try (var files = Files.list(dir)) {
        for (Path log : files.filter(p -> p.toString().endsWith(".log")).toList()) {
          logs.append(log.getFileName()).append(":\n")
              .append(Files.readString(log, StandardCharsets.UTF_8));
        }
      }
      throw new AssertionError("training " + run + " exited " + process.exitValue() + "\n" + logs);
    }
  }
}

package dev.vidtag.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProgressAndMetricsTest {
  @Test
  void lineShowsStepLossRateAndEta() {
    Progress progress = new Progress(new PrintStream(new ByteArrayOutputStream()), false, 100,
        Duration.ZERO);
    progress.step(25, 32, 1.0, 1e-4);  // 32 samples so far
    // 25 of 100 steps in 10 s: 3.2 samples/s, 30 s left
    assertEquals("step 25/100 [======                  ]  25% loss 1.2346 lr 7.00e-05 3.2 samples/s ETA 0m30s",
        progress.line(25, 1.23456, 7e-5, 10.0));
    assertEquals("1h01m", Progress.duration(3661));
  }

  @Test
  void plainOutputIsThrottledButAlwaysShowsTheLastStep() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Progress progress = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, 3,
        Duration.ofHours(1));
    progress.step(1, 8, 1, 1);
    progress.step(2, 8, 1, 1);
    progress.step(3, 8, 1, 1);
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(1, lines.size(), lines.toString());
    assertTrue(lines.get(0).startsWith("step 3/3"), lines.get(0));
  }

  @Test
  void terminalOutputRedrawsOneLine() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Progress progress = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), true, 2,
        Duration.ofHours(1));
    progress.step(1, 8, 1, 1);
    progress.step(2, 8, 1, 1);
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertEquals(2, text.chars().filter(c -> c == '\r').count());
    assertTrue(text.endsWith(System.lineSeparator()));
  }

  @Test
  void metricsAppendOneJsonObjectPerLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("run/metrics.jsonl");
    try (MetricsLog log = new MetricsLog(file)) {
      log.record("step", Map.of("step", 1, "loss", 2.5));
    }
    try (MetricsLog log = new MetricsLog(file)) {  // a resumed run appends
      log.record("eval", Map.of("step", 2, "mean_f1", 0.5));
    }
    List<String> lines = Files.readAllLines(file);
    assertEquals(2, lines.size());
    JsonNode second = new ObjectMapper().readTree(lines.get(1));
    assertEquals("eval", second.get("kind").asText());
    assertEquals(0.5, second.get("mean_f1").asDouble());
  }
}

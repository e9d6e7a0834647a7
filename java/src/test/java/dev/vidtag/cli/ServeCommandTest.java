package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.cli.CommandLineRunner.Output;
import dev.vidtag.infer.ServingFixtures;
import dev.vidtag.infer.TinyModels;
import dev.vidtag.runtime.TorchRuntime;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code vidtag serve}: its option checks, and a real process stopped by SIGTERM. */
class ServeCommandTest {
  static final int REQUESTS = 16;
  static final int VIDEOS_PER_REQUEST = 32;

  @TempDir Path dir;

  @Test
  void badOptionsAreOneLineErrors() {
    String model = dir.resolve("no-such-model").toString();
    assertError(new String[] {"--max-wait", "5 parsecs"}, "--max-wait must be a whole number");
    assertError(new String[] {"--max-body", "12XB"}, "--max-body must be a whole number of bytes");
    assertError(new String[] {"--max-batch", "0"}, "--max-batch must be at least 1, got 0");
    assertError(new String[] {"--queue", "0"}, "--queue must be at least 1, got 0");
    assertError(new String[] {"--port", "70000"}, "--port must be between 0 and 65535");
    // the server was listening when the model failed to load: the error closes it again
    Output missing = CommandLineRunner.run("serve", "--model", model, "--port", "0");
    assertEquals(2, missing.exitCode(), missing.err());
    assertTrue(missing.err().contains("no-such-model"), missing.err());
  }

  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void sigtermAnswersTheRequestsAlreadyAdmittedThenExits() throws Exception {
    TorchRuntime.initialize();
    Path data = TinyModels.synth(dir.resolve("data"), 0, 4, 41);
    Path model = ServingFixtures.confidentModel(dir.resolve("model"), data);
    List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java")
            .toString(), "-cp", System.getProperty("java.class.path"),
        "-Dvidtag.cache.dir=" + TorchRuntime.cacheRoot(), VidTag.class.getName(),
        "serve", "--model", model.toString(), "--port", "0", "--threads", "1",
        "--max-batch", "1", "--max-wait", "0", "--queue", "1024");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    Process process = builder.start();
    LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    StringBuilder log = new StringBuilder();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(
          process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          lines.add(line);
          synchronized (log) {
            log.append(line).append('\n');
          }
        }
      } catch (java.io.IOException e) {
        // the process ended
      }
    });
    reader.start();
    try {
      URI base = awaitReady(lines, log);
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
      assertEquals(200, http.send(HttpRequest.newBuilder(base.resolve("health")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode());

      StringBuilder videos = new StringBuilder();
      for (int i = 0; i < VIDEOS_PER_REQUEST; i++) {
        videos.append(i == 0 ? "" : ",").append("{\"id\":\"v").append(i)
            .append("\",\"title\":\"标题").append(i).append("\",\"asr\":\"语音\",\"ocr\":[\"字\"]}");
      }
      String body = "{\"videos\":[" + videos + "],\"top_k\":2}";
      List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
      for (int r = 0; r < REQUESTS; r++) {
        responses.add(http.sendAsync(HttpRequest.newBuilder(base.resolve("v1/classify"))
            .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString(body))
            .build(), HttpResponse.BodyHandlers.ofString()));
      }
      awaitSubmitted(http, base, REQUESTS * VIDEOS_PER_REQUEST);
      process.destroy(); // SIGTERM
      for (CompletableFuture<HttpResponse<String>> response : responses) {
        HttpResponse<String> answered = response.get(120, TimeUnit.SECONDS);
        assertEquals(200, answered.statusCode(), answered.body());
        assertTrue(answered.body().contains("\"id\":\"v" + (VIDEOS_PER_REQUEST - 1) + "\""));
      }
      assertTrue(process.waitFor(60, TimeUnit.SECONDS), "serve did not exit after SIGTERM");
      int exit = process.exitValue();
      assertTrue(exit == 0 || exit == 128 + 15, "exit " + exit + "\n" + log);
    } finally {
      process.destroyForcibly();
      reader.join(10_000);
    }
  }

  private static URI awaitReady(LinkedBlockingQueue<String> lines, StringBuilder log)
      throws InterruptedException {
    Pattern ready = Pattern.compile("ready at (http://\\S+/)");
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < until) {
      String line = lines.poll(1, TimeUnit.SECONDS);
      if (line != null) {
        Matcher m = ready.matcher(line);
        if (m.find()) {
          return URI.create(m.group(1));
        }
      }
    }
    synchronized (log) {
      throw new AssertionError("serve never said it was ready:\n" + log);
    }
  }

  /** Polls /metrics until the batcher has admitted every video. */
  private static void awaitSubmitted(HttpClient http, URI base, int videos) throws Exception {
    String wanted = "vidtag_videos_total{outcome=\"submitted\"} " + videos;
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      String metrics = http.send(HttpRequest.newBuilder(base.resolve("metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      if (metrics.contains(wanted)) {
        return;
      }
      assertTrue(System.nanoTime() < until, "never admitted " + videos + " videos:\n" + metrics);
      Thread.sleep(5);
    }
  }

  private static void assertError(String[] options, String message) {
    List<String> args = new ArrayList<>(List.of("serve", "--model", "unused"));
    args.addAll(List.of(options));
    if (!args.contains("--port")) {
      args.addAll(List.of("--port", "0"));
    }
    Output out = CommandLineRunner.run(args.toArray(String[]::new));
    assertEquals(2, out.exitCode(), out.err());
    assertTrue(out.err().contains(message), out.err());
    assertEquals(1, out.err().strip().lines().count(), out.err());
  }
}

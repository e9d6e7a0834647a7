package dev.vidtag.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.data.FrameFeatures;
import dev.vidtag.infer.BatchingClassifier;
import dev.vidtag.infer.Prediction;
import dev.vidtag.infer.ServingFixtures;
import dev.vidtag.infer.TinyModels;
import dev.vidtag.infer.Video;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.runtime.TorchRuntime;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP endpoint on loopback: answers, refusals, deadlines, health, metrics, shutdown. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServerTest {
  static final int DIM = ServingFixtures.frameDim();
  static final double PROBABILITY_TOLERANCE = 1e-4;

  @TempDir Path dir;

  private final ObjectMapper json = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(10)).build();

  @Test
  void concurrentClientsGetTheDirectPredictionsInRequestOrder() throws Exception {
    TorchRuntime.initialize();
    Path data = TinyModels.synth(dir.resolve("data"), 0, 12, 31);
    Path model = ServingFixtures.confidentModel(dir.resolve("model"), data);
    List<Video> videos = TinyModels.videos(data, "test_a");
    try (VideoClassifier classifier = VideoClassifier.open(List.of(
             dev.vidtag.infer.EnsembleMember.of(model)),
             VideoClassifier.Options.defaults().withTopK(200));
         BatchingClassifier batcher = new BatchingClassifier(classifier,
             new BatchingClassifier.Options(8, Duration.ofMillis(20), 256));
         ClassificationServer server = start(ClassificationServer.Options.defaults())) {
      assertEquals(503, get(server, "/health").statusCode());
      server.ready(ServingModel.of(classifier, batcher));
      assertEquals(200, get(server, "/health").statusCode());
      List<Prediction> expected = classifier.classifyBatch(videos);

      int clients = 4;
      ExecutorService pool = Executors.newFixedThreadPool(clients);
      try {
        List<Future<List<String>>> results = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
          int client = c;
          results.add(pool.submit(() -> {
            List<String> mismatches = new ArrayList<>();
            // requests of 1, 2 and 3 videos, starting at different videos per client
            for (int start = 0, size = 1; start < videos.size(); start += size, size = size % 3 + 1) {
              List<Integer> indices = new ArrayList<>();
              for (int k = 0; k < size && start + k < videos.size(); k++) {
                indices.add((start + k + client * 5) % videos.size());
              }
              ObjectNode body = json.createObjectNode();
              ArrayNode array = body.putArray("videos");
              indices.forEach(i -> array.add(videoJson(videos.get(i))));
              body.put("top_k", 3);
              HttpResponse<String> response = post(server, body.toString());
              if (response.statusCode() != 200) {
                mismatches.add("status " + response.statusCode() + ": " + response.body());
                continue;
              }
              JsonNode predictions = json.readTree(response.body()).get("predictions");
              for (int k = 0; k < indices.size(); k++) {
                compare(expected.get(indices.get(k)), predictions.get(k), 3, mismatches);
              }
            }
            return mismatches;
          }));
        }
        for (Future<List<String>> result : results) {
          assertEquals(List.of(), result.get());
        }
      } finally {
        pool.shutdownNow();
      }
      String metrics = get(server, "/metrics").body();
      long okRequests = server.requestCount(ClassificationServer.CLASSIFY, 200);
      assertTrue(okRequests >= 4 * 6, "200s counted: " + okRequests);
      assertTrue(metrics.contains("vidtag_http_requests_total{endpoint=\"/v1/classify\","
          + "status=\"200\"} " + okRequests), metrics);
      assertTrue(metrics.contains("vidtag_videos_total{outcome=\"completed\"} "
          + 4 * videos.size()), metrics);
      assertTrue(metrics.contains("vidtag_batch_size_bucket{le=\"+Inf\"} "), metrics);
      assertTrue(metrics.contains("vidtag_queue_length 0"), metrics);
      assertTrue(metrics.contains("vidtag_ready 1"), metrics);
    }
  }

  @Test
  void badInputIsRefusedWith400NamingTheVideoAndField() throws Exception {
    List<String> seen = Collections.synchronizedList(new ArrayList<>());
    String good = "{\"id\":\"a\",\"title\":\"t\",\"asr\":\"s\"}";
    String frames16 = "\"frames\":{\"dtype\":\"float16\",\"shape\":[1," + DIM + "],\"data\":\""
        + Base64.getEncoder().encodeToString(new byte[2 * DIM]) + "\"}";
    byte[] nan = new byte[4 * DIM];
    ByteBuffer.wrap(nan).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * 3, Float.NaN);
    String[][] cases = {
        {"{\"videos\": [", "malformed JSON"},
        {"[1, 2]", "must be a JSON object"},
        {"{}", "missing field 'videos'"},
        {"{\"videos\": {}}", "'videos' must be an array, got object"},
        {"{\"videos\": []}", "at least one video"},
        {"{\"videos\": [" + good + ", 7]}", "videos[1] must be an object, got number"},
        {"{\"videos\": [{\"title\":\"t\",\"asr\":\"s\"}]}", "videos[0]: missing field 'id'"},
        {"{\"videos\": [" + good + ",{\"id\":\"b\",\"asr\":\"s\"}]}",
            "videos[1] (id 'b'): missing field 'title'"},
        {"{\"videos\": [{\"id\":\"a\",\"title\":5,\"asr\":\"s\"}]}",
            "videos[0] (id 'a').title must be a string, got number"},
        {"{\"videos\": [{\"id\":\"a\",\"title\":\"t\",\"asr\":\"s\",\"titel\":\"x\"}]}",
            "videos[0] (id 'a'): unknown field 'titel'"},
        {"{\"videos\": [{\"id\":\"a\",\"title\":\"t\",\"asr\":\"s\",\"ocr\":\"x\"}]}",
            "videos[0] (id 'a').ocr must be an array of strings"},
        {"{\"videos\": [{\"id\":\"a\",\"title\":\"t\",\"asr\":\"s\",\"ocr\":[\"x\",3]}]}",
            "videos[0] (id 'a').ocr[1] must be a string"},
        {"{\"videos\": [{\"id\":\"a\",\"title\":\"t\",\"asr\":\"s\"," + frames16.replace(
            "float16", "int8") + "}]}", "videos[0] (id 'a').frames.dtype must be \"float16\" or "
            + "\"float32\", got \"int8\""},
        {"{\"videos\": [{\"id\":\"a\",\"title\":\"t\",\"asr\":\"s\"," + frames16.replace(
            "[1," + DIM + "]", "[" + DIM + "]") + "}]}", "videos[0] (id 'a').frames.shape must be"},
        {"{\"videos\": [{\"id\":\"a\",\"title\":\"t\",\"asr\":\"s\"," + frames16.replace(
            "[1," + DIM + "]", "[1,768]") + "}]}", "videos[0] (id 'a').frames.shape: the models "
            + "read frames of " + DIM + " values, got 768"},
        {"{\"videos\": [{\"id\":\"a\",\"title\":\"t\",\"asr\":\"s\",\"frames\":{\"dtype\":"
            + "\"float16\",\"shape\":[1," + DIM + "],\"data\":\"@@not base64@@\"}}]}",
            "videos[0] (id 'a').frames.data is not valid base64"},
        {"{\"videos\": [{\"id\":\"a\",\"title\":\"t\",\"asr\":\"s\"," + frames16.replace(
            "[1," + DIM + "]", "[2," + DIM + "]") + "}]}", "videos[0] (id 'a').frames.data holds "
            + (2 * DIM) + " bytes, but shape [2, " + DIM + "] of float16 needs " + (4 * DIM)},
        {"{\"videos\": [{\"id\":\"a\",\"title\":\"t\",\"asr\":\"s\",\"frames\":{\"dtype\":"
            + "\"float32\",\"shape\":[1," + DIM + "],\"data\":\""
            + Base64.getEncoder().encodeToString(nan) + "\"}}]}",
            "videos[0] (id 'a').frames.data: NaN or infinite value at frame 0, column 3"},
        {"{\"videos\": [" + good + "], \"top_k\": 0}", "top_k must be an integer from 1 to 5"},
        {"{\"videos\": [" + good + "], \"top_k\": 2.5}", "top_k must be an integer"},
        {"{\"videos\": [" + good + "], \"extra\": 1}", "unknown field 'extra'"},
        {"{\"videos\": [" + good + "], \"videos\": []}", "malformed JSON: Duplicate field"},
    };
    try (BatchingClassifier batcher = new BatchingClassifier(recording(seen),
             BatchingClassifier.Options.defaults());
         ClassificationServer server = start(ClassificationServer.Options.defaults())) {
      server.ready(new ServingModel(batcher, DIM, 5));
      for (String[] c : cases) {
        HttpResponse<String> response = post(server, c[0]);
        assertEquals(400, response.statusCode(), c[0] + " -> " + response.body());
        String message = json.readTree(response.body()).get("error").asText();
        assertTrue(message.contains(c[1]), "for " + c[0] + ": '" + message + "' lacks '"
            + c[1] + "'");
      }
      HttpResponse<String> badHeader = send(server, HttpRequest.newBuilder(
          server.uri().resolve("v1/classify")).header("X-Deadline-Ms", "soon")
          .POST(HttpRequest.BodyPublishers.ofString("{\"videos\": [" + good + "]}")).build());
      assertEquals(400, badHeader.statusCode());
      assertTrue(badHeader.body().contains("X-Deadline-Ms must be a whole number"));
      assertEquals(java.util.Optional.of("close"), badHeader.headers().firstValue("connection"),
          "answered before its body was read: the connection is not reused");
      assertEquals(List.of(), seen, "bad input reached the backend");

      // the same requests made valid do get through: the checks are not refusing everything
      HttpResponse<String> ok = post(server, "{\"videos\": [" + good + ", {\"id\":\"b\","
          + "\"title\":\"t\",\"asr\":\"\",\"ocr\":[\"o\"]," + frames16 + "}], \"top_k\": 1}");
      assertEquals(200, ok.statusCode(), ok.body());
      assertEquals(List.of("a", "b"), seen);
      assertEquals(404, get(server, "/v2/classify").statusCode());
      assertEquals(405, get(server, "/v1/classify").statusCode());
    }
  }

  @Test
  void anOversizedBodyIsRefusedWith413() throws Exception {
    try (BatchingClassifier batcher = new BatchingClassifier(recording(new ArrayList<>()),
             BatchingClassifier.Options.defaults());
         ClassificationServer server = start(ClassificationServer.Options.defaults()
             .withMaxBodyBytes(1024))) {
      server.ready(new ServingModel(batcher, DIM, 5));
      String big = "{\"videos\": [{\"id\":\"a\",\"title\":\"" + "x".repeat(2000)
          + "\",\"asr\":\"\"}]}";
      HttpResponse<String> declared = post(server, big);
      assertEquals(413, declared.statusCode(), declared.body());
      assertTrue(declared.body().contains("larger than the limit of 1024 bytes"));
      // without a Content-Length (chunked), the limit holds while reading
      HttpResponse<String> chunked = send(server, HttpRequest.newBuilder(
          server.uri().resolve("v1/classify")).POST(HttpRequest.BodyPublishers.ofInputStream(
              () -> new ByteArrayInputStream(big.getBytes(StandardCharsets.UTF_8)))).build());
      assertEquals(413, chunked.statusCode(), chunked.body());
    }
  }

  @Test
  void aFullQueueGets429AtOnce() throws Exception {
    BlockingBackend backend = new BlockingBackend();
    try (BatchingClassifier batcher = new BatchingClassifier(backend,
             new BatchingClassifier.Options(1, Duration.ZERO, 1));
         ClassificationServer server = start(ClassificationServer.Options.defaults())) {
      server.ready(new ServingModel(batcher, DIM, 5));
      CompletableFuture<HttpResponse<String>> running = postAsync(server, body("running"));
      backend.awaitEntered();
      CompletableFuture<HttpResponse<String>> queued = postAsync(server, body("queued"));
      awaitQueueLength(batcher, 1);
      HttpResponse<String> refused = post(server, body("refused"));
      assertEquals(429, refused.statusCode(), refused.body());
      assertTrue(refused.body().contains("queue is full"), refused.body());
      assertEquals("1", refused.headers().firstValue("Retry-After").orElse(""));
      backend.release();
      assertEquals(200, running.get(30, TimeUnit.SECONDS).statusCode());
      assertEquals(200, queued.get(30, TimeUnit.SECONDS).statusCode());
      assertFalse(backend.seen().contains("refused"));
    }
  }

  @Test
  void aDeadlineThatCannotBeMetGets504WithoutRunning() throws Exception {
    BlockingBackend backend = new BlockingBackend();
    try (BatchingClassifier batcher = new BatchingClassifier(backend,
             new BatchingClassifier.Options(4, Duration.ZERO, 16));
         ClassificationServer server = start(ClassificationServer.Options.defaults())) {
      server.ready(new ServingModel(batcher, DIM, 5));
      CompletableFuture<HttpResponse<String>> running = postAsync(server, body("running"));
      backend.awaitEntered();
      // the worker is blocked until released below, so only the deadline can answer this
      HttpResponse<String> late = send(server, HttpRequest.newBuilder(
          server.uri().resolve("v1/classify")).header("X-Deadline-Ms", "50")
          .POST(HttpRequest.BodyPublishers.ofString(body("late"))).build());
      assertEquals(504, late.statusCode(), late.body());
      assertTrue(late.body().contains("video late not run"), late.body());
      HttpResponse<String> expired = send(server, HttpRequest.newBuilder(
          server.uri().resolve("v1/classify")).header("X-Deadline-Ms", "0")
          .POST(HttpRequest.BodyPublishers.ofString(body("expired"))).build());
      assertEquals(504, expired.statusCode(), expired.body());
      backend.release();
      assertEquals(200, running.get(30, TimeUnit.SECONDS).statusCode());
      assertEquals(List.of("running"), backend.seen());
      assertTrue(get(server, "/metrics").body().contains(
          "vidtag_http_requests_total{endpoint=\"/v1/classify\",status=\"504\"} 2"));
    }
  }

  @Test
  void closingAnswersTheRequestsInFlight() throws Exception {
    BlockingBackend backend = new BlockingBackend();
    BatchingClassifier batcher = new BatchingClassifier(backend,
        new BatchingClassifier.Options(1, Duration.ZERO, 16));
    ClassificationServer server = start(ClassificationServer.Options.defaults());
    try {
      server.ready(new ServingModel(batcher, DIM, 5));
      CompletableFuture<HttpResponse<String>> running = postAsync(server, body("running"));
      backend.awaitEntered();
      CompletableFuture<HttpResponse<String>> queued = postAsync(server, body("queued"));
      awaitQueueLength(batcher, 1);
      CountDownLatch closed = new CountDownLatch(1);
      Thread closer = new Thread(() -> {
        server.close();
        batcher.close();
        closed.countDown();
      });
      closer.start();
      // the server waits for both answers, which wait for the blocked batch
      assertFalse(closed.await(300, TimeUnit.MILLISECONDS));
      backend.release();
      assertTrue(closed.await(30, TimeUnit.SECONDS));
      HttpResponse<String> first = running.get(30, TimeUnit.SECONDS);
      HttpResponse<String> second = queued.get(30, TimeUnit.SECONDS);
      assertEquals(200, first.statusCode(), first.body());
      assertEquals(200, second.statusCode(), second.body());
      assertEquals("queued", json.readTree(second.body()).get("predictions").get(0).get("id")
          .asText());
      assertEquals(List.of("running", "queued"), backend.seen());
    } finally {
      server.close();
      batcher.close();
    }
  }

  private static ClassificationServer start(ClassificationServer.Options options) {
    return ClassificationServer.start(options.withHost("127.0.0.1").withPort(0)
        .withStopTimeout(Duration.ofSeconds(20)));
  }

  private static void awaitQueueLength(BatchingClassifier batcher, int length)
      throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (batcher.queueLength() != length) {
      assertTrue(System.nanoTime() < until, "the queue never held " + length);
      Thread.sleep(5);
    }
  }

  private static String body(String id) {
    return "{\"videos\": [{\"id\":\"" + id + "\",\"title\":\"t\",\"asr\":\"\"}]}";
  }

  private ObjectNode videoJson(Video video) {
    ObjectNode node = json.createObjectNode();
    node.put("id", video.id());
    node.put("title", video.annotation().title());
    node.put("asr", video.annotation().asr());
    ArrayNode ocr = node.putArray("ocr");
    video.annotation().ocr().forEach(o -> ocr.add(o.text()));
    FrameFeatures f = video.frames();
    if (f.frames() > 0) {
      ObjectNode frames = node.putObject("frames");
      frames.put("dtype", f.type() == FrameFeatures.ElementType.FLOAT16 ? "float16" : "float32");
      frames.putArray("shape").add(f.frames()).add(f.dim());
      ByteBuffer bytes = f.data().duplicate();
      byte[] raw = new byte[bytes.remaining()];
      bytes.get(raw);
      frames.put("data", Base64.getEncoder().encodeToString(raw));
    }
    return node;
  }

  private static void compare(Prediction expected, JsonNode actual, int topK,
      List<String> mismatches) {
    List<String> expectedTop = expected.top().stream().limit(topK)
        .map(Prediction.ScoredCategory::categoryId).toList();
    List<String> actualTop = new ArrayList<>();
    actual.get("top").forEach(c -> actualTop.add(c.get("category_id").asText()));
    double probability = actual.get("probability").asDouble();
    boolean same = expected.videoId().equals(actual.get("id").asText())
        && expected.categoryId().equals(actual.get("category_id").asText())
        && expected.lv1Id().equals(actual.get("lv1_id").asText())
        && expectedTop.equals(actualTop)
        && Math.abs(expected.probability() - probability) <= PROBABILITY_TOLERANCE;
    for (int k = 0; same && k < topK; k++) {
      same = Math.abs(expected.top().get(k).probability()
          - actual.get("top").get(k).get("probability").asDouble()) <= PROBABILITY_TOLERANCE;
    }
    if (!same) {
      mismatches.add("expected " + expected.videoId() + " " + expectedTop + " p="
          + expected.probability() + ", got " + actual);
    }
  }

  private HttpResponse<String> get(ClassificationServer server, String path) throws Exception {
    return send(server, HttpRequest.newBuilder(server.uri().resolve(path.substring(1))).GET()
        .build());
  }

  private HttpResponse<String> post(ClassificationServer server, String body) throws Exception {
    return send(server, HttpRequest.newBuilder(server.uri().resolve("v1/classify"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  private CompletableFuture<HttpResponse<String>> postAsync(ClassificationServer server,
      String body) {
    return http.sendAsync(HttpRequest.newBuilder(server.uri().resolve("v1/classify"))
        .timeout(Duration.ofSeconds(60))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> send(ClassificationServer server, HttpRequest request)
      throws Exception {
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private static BatchingClassifier.Backend recording(List<String> seen) {
    return videos -> {
      videos.forEach(video -> seen.add(video.id()));
      return videos.stream().map(video -> ServingFixtures.prediction(video.id(), 7)).toList();
    };
  }

  /** A backend whose first batch blocks until {@link #release()}; records the videos it ran. */
  static final class BlockingBackend implements BatchingClassifier.Backend {
    private final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);
    private final List<String> seen = Collections.synchronizedList(new ArrayList<>());

    @Override
    public List<Prediction> classifyBatch(List<Video> videos) {
      videos.forEach(video -> seen.add(video.id()));
      entered.countDown();
      try {
        if (!released.await(60, TimeUnit.SECONDS)) {
          throw new IllegalStateException("never released");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      return videos.stream().map(video -> ServingFixtures.prediction(video.id(), 3)).toList();
    }

    void awaitEntered() throws InterruptedException {
      assertTrue(entered.await(10, TimeUnit.SECONDS), "the worker never ran a batch");
    }

    void release() {
      released.countDown();
    }

    List<String> seen() {
      synchronized (seen) {
        return List.copyOf(seen);
      }
    }
  }
}

package dev.vidtag.serve;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.infer.BatchingClassifier;
import dev.vidtag.infer.Deadline;
import dev.vidtag.infer.DeadlineExceededException;
import dev.vidtag.infer.Prediction;
import dev.vidtag.infer.QueueFullException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP endpoint over a {@link BatchingClassifier}, on Jetty's core server (no servlets):
 *
 * <ul>
 *   <li>{@code POST /v1/classify}: predictions for the videos of a {@link ClassifyRequest}, in
 *       request order. 400 for a malformed request (the message names the video and field), 413
 *       for a body over the limit, 429 when the queue is full, 503 while the models load, 504
 *       when the {@code X-Deadline-Ms} header's deadline (milliseconds from arrival) cannot be
 *       met.
 *   <li>{@code GET /health}: 200 once {@link #ready} was called, 503 before.
 *   <li>{@code GET /metrics}: Prometheus text format.
 * </ul>
 *
 * Requests are handled asynchronously: no Jetty thread waits for a batch. {@link #close()} stops
 * accepting connections and waits (up to the stop timeout) for requests in flight to be answered;
 * the batcher must keep running until then, so close the server before the batcher.
 */
public final class ClassificationServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ClassificationServer.class);

  static final String CLASSIFY = "/v1/classify";
  static final String HEALTH = "/health";
  static final String METRICS = "/metrics";
  static final String DEADLINE_HEADER = "X-Deadline-Ms";

  /**
   * @param host the address to listen on
   * @param port the port; 0 for any free one
   * @param maxBodyBytes the largest request body accepted
   * @param stopTimeout how long {@link #close()} waits for requests in flight
   */
  public record Options(String host, int port, long maxBodyBytes, Duration stopTimeout) {
    public Options {
      Objects.requireNonNull(host, "host");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("the port must be between 0 and 65535, got " + port);
      }
      if (maxBodyBytes < 1 || maxBodyBytes > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("the body limit must be between 1 byte and 2 GiB, got "
            + maxBodyBytes);
      }
      Objects.requireNonNull(stopTimeout, "stopTimeout");
      if (stopTimeout.isNegative()) {
        throw new IllegalArgumentException("the stop timeout must not be negative");
      }
    }

    /** 127.0.0.1:8080, 32 MiB bodies, 30 s to drain on stop. */
    public static Options defaults() {
      return new Options("127.0.0.1", 8080, 32L << 20, Duration.ofSeconds(30));
    }

    public Options withHost(String newHost) {
      return new Options(newHost, port, maxBodyBytes, stopTimeout);
    }

    public Options withPort(int newPort) {
      return new Options(host, newPort, maxBodyBytes, stopTimeout);
    }

    public Options withMaxBodyBytes(long newMax) {
      return new Options(host, port, newMax, stopTimeout);
    }

    public Options withStopTimeout(Duration newTimeout) {
      return new Options(host, port, maxBodyBytes, newTimeout);
    }
  }

  private final Options options;
  private final Server server;
  private final ServerConnector connector;
  private final ObjectMapper mapper;
  private final ServerMetrics metrics = new ServerMetrics();
  private final AtomicReference<ServingModel> model = new AtomicReference<>();

  private ClassificationServer(Options options) {
    this.options = options;
    this.mapper = ClassifyRequest.mapper(options.maxBodyBytes());
    QueuedThreadPool threads = new QueuedThreadPool();
    threads.setName("vidtag-http");
    this.server = new Server(threads);
    this.connector = new ServerConnector(server);
    connector.setHost(options.host());
    connector.setPort(options.port());
    server.addConnector(connector);
    server.setHandler(new GracefulHandler(new Routes()));
    server.setStopTimeout(options.stopTimeout().toMillis());
    // stopping is close()'s job, in the order it needs; no hook of Jetty's own
    server.setStopAtShutdown(false);
  }

  /**
   * Listens on the options' address; {@code /health} answers 503 and classify requests are
   * refused with 503 until {@link #ready}.
   *
   * @throws UncheckedIOException when the address cannot be bound
   */
  public static ClassificationServer start(Options options) {
    ClassificationServer s = new ClassificationServer(Objects.requireNonNull(options, "options"));
    try {
      s.server.start();
    } catch (IOException e) {
      s.close();
      throw new UncheckedIOException("cannot listen on " + options.host() + ":" + options.port()
          + ": " + e.getMessage(), e);
    } catch (Exception e) {
      s.close();
      throw new IllegalStateException("the HTTP server did not start: " + e.getMessage(), e);
    }
    return s;
  }

  /** Starts classifying with this model; {@code /health} answers 200 from now on. */
  public void ready(ServingModel servingModel) {
    if (!model.compareAndSet(null, Objects.requireNonNull(servingModel, "servingModel"))) {
      throw new IllegalStateException("the server already has its model");
    }
  }

  public boolean isReady() {
    return model.get() != null;
  }

  /** The port listened on (the chosen one when the options said 0). */
  public int port() {
    return connector.getLocalPort();
  }

  public URI uri() {
    String host = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
    return URI.create("http://" + host + ":" + port() + "/");
  }

  /** The requests answered so far at an endpoint with a status (for tests and logs). */
  long requestCount(String endpoint, int status) {
    return metrics.requests(endpoint, status);
  }

  /**
   * Stops accepting connections, waits up to the stop timeout for requests in flight to be
   * answered, then stops. Does not close the batcher.
   */
  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      LOG.warn("the HTTP server did not stop cleanly: {}", e.toString());
    }
  }

  /** Waits until the server has stopped. */
  public void join() throws InterruptedException {
    server.join();
  }

  /**
   * Declared blocking though it never blocks: parsing and decoding a large body is CPU work
   * that belongs on a pool thread, not on a selector thread.
   */
  private final class Routes extends Handler.Abstract {
    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      String path = Request.getPathInContext(request);
      String method = request.getMethod();
      switch (path) {
        case CLASSIFY -> {
          if (requireMethod(HttpMethod.POST, CLASSIFY, request, response, callback)) {
            classify(request, response, callback);
          }
        }
        case HEALTH -> {
          if (requireMethod(HttpMethod.GET, HEALTH, request, response, callback)) {
            boolean ready = isReady();
            sendJson(response, callback, HEALTH, ready ? 200 : 503,
                "{\"status\":\"" + (ready ? "ready" : "loading") + "\"}");
          }
        }
        case METRICS -> {
          if (requireMethod(HttpMethod.GET, METRICS, request, response, callback)) {
            ServingModel serving = model.get();
            String text = metrics.render(serving != null,
                serving == null ? null : serving.batcher().statistics());
            // counted after rendering, so a scrape shows the scrapes before it
            send(response, callback, METRICS, 200, ServerMetrics.CONTENT_TYPE, text);
          }
        }
        default -> sendError(response, callback, "other", 404, "no such endpoint: " + method
            + " " + path + " (endpoints: POST " + CLASSIFY + ", GET " + HEALTH + ", GET "
            + METRICS + ")");
      }
      return true;
    }

    private boolean requireMethod(HttpMethod wanted, String endpoint, Request request,
        Response response, Callback callback) {
      if (wanted.is(request.getMethod())
          || (wanted == HttpMethod.GET && HttpMethod.HEAD.is(request.getMethod()))) {
        return true;
      }
      response.getHeaders().put(HttpHeader.ALLOW, wanted.asString());
      sendError(response, callback, endpoint, 405, endpoint + " takes " + wanted.asString()
          + ", not " + request.getMethod());
      return false;
    }
  }

  private void classify(Request request, Response response, Callback callback) {
    long arrival = request.getBeginNanoTime();
    Answer answer = (status, json) -> {
      try {
        metrics.recordClassifyLatency(System.nanoTime() - arrival);
        sendJson(response, callback, CLASSIFY, status, json);
      } catch (RuntimeException e) {
        // answers run on callbacks, where a lost exception would leave the request hanging
        callback.failed(e);
      }
    };
    // an answer sent before the whole body was read leaves the rest of it on the connection,
    // which the server then closes: say so, or a client reusing the connection finds it gone
    Answer unread = (status, json) -> {
      response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE);
      answer.send(status, json);
    };
    Optional<Deadline> deadline;
    try {
      deadline = deadline(request, arrival);
    } catch (BadRequestException e) {
      unread.send(e.status(), errorJson(e.getMessage()));
      return;
    }
    ServingModel serving = model.get();
    if (serving == null) {
      unread.send(503, errorJson("the models are still loading; GET " + HEALTH
          + " answers 200 once they are ready"));
      return;
    }
    long declared = request.getLength();
    if (declared > options.maxBodyBytes()) {
      unread.send(413, errorJson(bodyTooLarge(declared + " bytes")));
      return;
    }
    Executor executor = request.getComponents().getExecutor();
    LimitedBodyReader.read(request, (int) options.maxBodyBytes(), new LimitedBodyReader.Outcome() {
      @Override
      public void body(byte[] body) {
        classifyBody(serving, body, deadline, executor, answer);
      }

      @Override
      public void tooLarge(long limit) {
        unread.send(413, errorJson(bodyTooLarge("more than " + limit + " bytes")));
      }

      @Override
      public void failed(Throwable failure) {
        answer.send(400, errorJson("the body could not be read: " + failure));
      }
    });
  }

  private void classifyBody(ServingModel serving, byte[] body, Optional<Deadline> deadline,
      Executor executor, Answer answer) {
    ClassifyRequest parsed;
    try {
      parsed = ClassifyRequest.parse(mapper, body, new ClassifyRequest.Limits(serving.frameDim(),
          serving.maxTopK(), serving.batcher().options().queueCapacity()));
    } catch (BadRequestException e) {
      answer.send(e.status(), errorJson(e.getMessage()));
      return;
    }
    List<CompletableFuture<Prediction>> futures;
    try {
      futures = serving.batcher().submitAll(parsed.videos(), deadline);
    } catch (QueueFullException e) {
      answer.send(429, errorJson(e.getMessage()));
      return;
    } catch (IllegalStateException e) {
      answer.send(503, errorJson("the server is shutting down"));
      return;
    }
    // answered on Jetty's threads: the batching worker goes straight back to the models
    CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
        .whenCompleteAsync((ignored, failure) -> {
          if (failure == null) {
            answer.send(200, predictionsJson(futures, parsed.topK()));
          } else if (rootCause(failure) instanceof DeadlineExceededException deadlineFailure) {
            answer.send(504, errorJson(deadlineFailure.getMessage()));
          } else {
            LOG.warn("a classify request failed: {}", rootCause(failure).toString());
            answer.send(500, errorJson("classification failed: " + rootCause(failure)));
          }
        }, executor);
  }

  /** The deadline of {@code X-Deadline-Ms}: milliseconds from the request's arrival. */
  private static Optional<Deadline> deadline(Request request, long arrival)
      throws BadRequestException {
    String header = request.getHeaders().get(DEADLINE_HEADER);
    if (header == null) {
      return Optional.empty();
    }
    long millis;
    try {
      millis = Long.parseLong(header.trim());
    } catch (NumberFormatException e) {
      millis = -1;
    }
    if (millis < 0) {
      throw new BadRequestException(DEADLINE_HEADER + " must be a whole number of milliseconds "
          + "(0 or more), got '" + header + "'");
    }
    return Optional.of(Deadline.after(arrival, Duration.ofMillis(millis)));
  }

  private String bodyTooLarge(String size) {
    return "the body is larger than the limit of " + options.maxBodyBytes() + " bytes: " + size;
  }

  private String predictionsJson(List<CompletableFuture<Prediction>> futures, int topK) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256 * futures.size());
    try (JsonGenerator json = mapper.getFactory().createGenerator(out)) {
      json.writeStartObject();
      json.writeArrayFieldStart("predictions");
      for (CompletableFuture<Prediction> future : futures) {
        Prediction p = future.join();
        json.writeStartObject();
        json.writeStringField("id", p.videoId());
        json.writeStringField("category_id", p.categoryId());
        json.writeNumberField("probability", p.probability());
        json.writeStringField("lv1_id", p.lv1Id());
        json.writeNumberField("lv1_probability", p.lv1Probability());
        json.writeArrayFieldStart("top");
        for (Prediction.ScoredCategory c : p.top().subList(0, Math.min(topK, p.top().size()))) {
          json.writeStartObject();
          json.writeStringField("category_id", c.categoryId());
          json.writeNumberField("probability", c.probability());
          json.writeEndObject();
        }
        json.writeEndArray();
        json.writeEndObject();
      }
      json.writeEndArray();
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private String errorJson(String message) {
    try {
      return mapper.writeValueAsString(java.util.Map.of("error", message));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void sendError(Response response, Callback callback, String endpoint, int status,
      String message) {
    sendJson(response, callback, endpoint, status, errorJson(message));
  }

  private void sendJson(Response response, Callback callback, String endpoint, int status,
      String json) {
    send(response, callback, endpoint, status, "application/json", json);
  }

  private void send(Response response, Callback callback, String endpoint, int status,
      String contentType, String body) {
    metrics.recordRequest(endpoint, status);
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    if (status == 429) {
      response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
    }
    response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
  }

  private static Throwable rootCause(Throwable failure) {
    Throwable t = failure;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  @FunctionalInterface
  private interface Answer {
    void send(int status, String json);
  }
}

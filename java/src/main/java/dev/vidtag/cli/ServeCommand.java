package dev.vidtag.cli;

import dev.vidtag.infer.BatchingClassifier;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Fuse;
import dev.vidtag.infer.Precision;
import dev.vidtag.infer.TailAdjustment;
import dev.vidtag.infer.Video;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.io.DataException;
import dev.vidtag.serve.ClassificationServer;
import dev.vidtag.serve.ServingModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vidtag serve}: the HTTP endpoint over one model or an ensemble. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {"Serves POST /v1/classify, GET /health and GET /metrics over HTTP.",
        "Concurrent requests are batched; SIGTERM stops accepting and answers what is in flight."})
final class ServeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--model", required = true, paramLabel = "MODEL_DIR[=WEIGHT]",
      description = "A model directory and its weight in the ensemble (default 1); repeat for an ensemble.")
  List<String> models;

  @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDRESS",
      description = "The address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface).")
  String host;

  @Option(names = "--port", defaultValue = "8080", paramLabel = "N",
      description = "The port to listen on; 0 for any free one (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--max-batch", defaultValue = "16", paramLabel = "N",
      description = "The most videos in one forward pass (default: ${DEFAULT-VALUE}).")
  int maxBatch;

  @Option(names = "--max-wait", defaultValue = "5ms", paramLabel = "DURATION",
      description = "How long a video may wait for others to fill its batch: 0, 500us, 5ms, 1s (default: ${DEFAULT-VALUE}).")
  String maxWait;

  @Option(names = "--queue", defaultValue = "256", paramLabel = "N",
      description = "The most videos waiting for a batch; beyond it requests get 429 (default: ${DEFAULT-VALUE}).")
  int queue;

  @Option(names = "--max-body", defaultValue = "32MiB", paramLabel = "SIZE",
      description = "The largest request body; beyond it requests get 413: bytes, KiB, MiB, GiB (default: ${DEFAULT-VALUE}).")
  String maxBody;

  @Option(names = "--stop-timeout", defaultValue = "30s", paramLabel = "DURATION",
      description = "How long shutting down waits for requests in flight (default: ${DEFAULT-VALUE}).")
  String stopTimeout;

  @Option(names = "--fuse", defaultValue = "logits", paramLabel = "logits|probs",
      description = "Weighted sum of the models' logits or of their probabilities (default: ${DEFAULT-VALUE}).")
  String fuse;

  @Option(names = "--tail-adjust", defaultValue = "none", paramLabel = "none|FILE",
      description = "A tail adjustment written by 'vidtag tail-fit' (default: ${DEFAULT-VALUE}).")
  String tailAdjust;

  @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|bf16|int8",
      description = "Number format of the models; int8: int8 weights, fp32 activations, CPU only (default: ${DEFAULT-VALUE}).")
  String precision;

  @Override
  public Integer call() throws InterruptedException {
    BatchingClassifier.Options batching = batchingOptions();
    ClassificationServer.Options serverOptions = ClassificationServer.Options.defaults()
        .withHost(host).withPort(port).withMaxBodyBytes(parseSize("--max-body", maxBody))
        .withStopTimeout(parseDuration("--stop-timeout", stopTimeout));
    List<EnsembleMember> members = models.stream().map(EnsembleMember::parse).toList();
    TailAdjustment tail;
    try {
      tail = tailAdjust.equals("none") ? null : TailAdjustment.read(Path.of(tailAdjust));
    } catch (DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    VideoClassifier.Options classifierOptions = VideoClassifier.Options.defaults()
        .withDevice(runtime.deviceSpec())
        .withPrecision(Precision.parse(precision))
        .withFuse(Fuse.parse(fuse))
        .withTopK(Integer.MAX_VALUE) // every class ranked, so a request may ask for any top_k
        .withTailAdjustment(tail);
    runtime.start();
    PrintWriter out = spec.commandLine().getOut();

    Serving serving = new Serving();
    Thread hook = new Thread(serving::close, "vidtag-serve-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      ClassificationServer server = serving.server = ClassificationServer.start(serverOptions);
      out.println("vidtag serve: listening on " + server.uri() + " (loading "
          + members.size() + " model" + (members.size() == 1 ? "" : "s") + ")");
      out.flush();
      long start = System.nanoTime();
      VideoClassifier classifier = serving.classifier = VideoClassifier.open(members,
          classifierOptions);
      BatchingClassifier batcher = serving.batcher = new BatchingClassifier(classifier, batching);
      ServingModel model = ServingModel.of(classifier, batcher);
      warmUp(classifier, batching.maxBatch(), model.frameDim());
      server.ready(model);
      out.printf(Locale.ROOT, "vidtag serve: ready at %s (%.1f s to load and warm up; batches of "
          + "up to %d, %d ms wait, queue %d)%n", server.uri(), (System.nanoTime() - start) / 1e9,
          batching.maxBatch(), batching.maxWait().toMillis(), batching.queueCapacity());
      out.flush();
      server.join();
    } catch (DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    } finally {
      serving.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running or has run: nothing left to undo
      }
    }
    return 0;
  }

  private BatchingClassifier.Options batchingOptions() {
    if (maxBatch < 1) {
      throw new IllegalArgumentException("--max-batch must be at least 1, got " + maxBatch);
    }
    if (queue < 1) {
      throw new IllegalArgumentException("--queue must be at least 1, got " + queue);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("--port must be between 0 and 65535, got " + port);
    }
    return new BatchingClassifier.Options(maxBatch, parseDuration("--max-wait", maxWait), queue);
  }

  /**
   * The first calls of a model pay for allocations and kernel choices; run them before /health
   * says ready, at the batch sizes the server will see.
   */
  private static void warmUp(VideoClassifier classifier, int maxBatch, int frameDim) {
    List<Video> videos = new ArrayList<>(maxBatch);
    for (int i = 0; i < maxBatch; i++) {
      videos.add(Video.of("warm-up-" + i, "warm up " + i, "", List.of(), new float[frameDim], 1,
          frameDim));
    }
    classifier.classifyBatch(videos.subList(0, 1));
    classifier.classifyBatch(videos);
  }

  /**
   * What the command owns, closed once in the order that lets requests in flight finish: the
   * server (it waits for them), then the batcher (it runs what is queued), then the models.
   * Called by the command's own exit and by the shutdown hook on SIGTERM, whichever comes first.
   */
  private static final class Serving {
    // set by the command's thread, read by the shutdown hook's
    volatile ClassificationServer server;
    volatile BatchingClassifier batcher;
    volatile VideoClassifier classifier;
    private boolean closed;

    synchronized void close() {
      if (closed) {
        return;
      }
      closed = true;
      if (server != null) {
        server.close();
      }
      if (batcher != null) {
        batcher.close();
      }
      if (classifier != null) {
        classifier.close();
      }
    }
  }

  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(us|ms|s|m)?");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB)?");

  static Duration parseDuration(String option, String text) {
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches() || (m.group(2) == null && !m.group(1).chars().allMatch(c -> c == '0'))) {
      throw new IllegalArgumentException(option + " must be a whole number with a unit (us, ms, "
          + "s, m), e.g. 5ms, or 0; got '" + text + "'");
    }
    long value = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "ms" : m.group(2);
    return switch (unit) {
      case "us" -> Duration.ofNanos(Math.multiplyExact(value, 1000L));
      case "ms" -> Duration.ofMillis(value);
      case "s" -> Duration.ofSeconds(value);
      default -> Duration.ofMinutes(value);
    };
  }

  static long parseSize(String option, String text) {
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(option + " must be a whole number of bytes, KiB, MiB or "
          + "GiB, e.g. 32MiB; got '" + text + "'");
    }
    long value = Long.parseLong(m.group(1));
    int shift = switch (m.group(2) == null ? "B" : m.group(2)) {
      case "KiB" -> 10;
      case "MiB" -> 20;
      case "GiB" -> 30;
      default -> 0;
    };
    if (value > (Long.MAX_VALUE >> shift)) {
      throw new IllegalArgumentException(option + " is too large: '" + text + "'");
    }
    return value << shift;
  }
}

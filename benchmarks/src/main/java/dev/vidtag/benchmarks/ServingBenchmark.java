package dev.vidtag.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.FrameFeatures;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.infer.BatchingClassifier;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Video;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.runtime.TorchRuntime;
import dev.vidtag.serve.ClassificationServer;
import dev.vidtag.serve.ServingModel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.bytedeco.pytorch.global.torch;

/**
 * Open-loop load on three ways of classifying one video per request: direct
 * {@code VideoClassifier.classify} calls on one caller thread (unbatched), the
 * {@link BatchingClassifier}, and the HTTP server in front of it. Arrivals come at fixed rates
 * whatever the answers do (so a slow system builds a queue instead of slowing its clients), and
 * each latency counts from the scheduled arrival, so a stall is not hidden from the percentiles.
 *
 * <p>First the single-video latency (unloaded, sequential calls) and each way's saturated
 * throughput (closed loop, enough requests outstanding), plus the HTTP server over canned answers
 * (the transport's own cost, client included); then each way at fractions of those.
 * The model is a small single stream (hidden 128, 2 layers, 8 frames of 32 features, at most 64
 * tokens; as {@code ClassifierBenchmark}) on generated videos.
 *
 * <pre>
 * java -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" \
 *   dev.vidtag.benchmarks.ServingBenchmark [seconds per run, default 4] [threads, default 1]
 * </pre>
 */
public final class ServingBenchmark {
  static final int FRAME_DIM = 32;
  static final int FRAMES = 8;
  static final int TEXT = 64;
  static final int VIDEOS = 64;
  static final int MAX_BATCH = 16;
  static final Duration MAX_WAIT = Duration.ofMillis(5);

  private ServingBenchmark() {}

  /** One way of classifying a video: starts the call and returns its completion. */
  @FunctionalInterface
  interface Target {
    CompletableFuture<?> call(int videoIndex);
  }

  record Result(String target, String load, double offeredPerSecond, double throughput,
      double p50Millis, double p99Millis, long completed, long failed, double meanBatch) {}

  public static void main(String[] args) throws Exception {
    double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 4;
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    TorchRuntime.initialize();
    TorchRuntime.setThreads(threads);
    Path directory = Files.createTempDirectory("vidtag-serving-bench");
    try {
      run(directory, seconds, threads);
    } finally {
      AtomicFiles.deleteRecursively(directory);
    }
  }

  private static void run(Path directory, double seconds, int threads) throws Exception {
    Path data = directory.resolve("data");
    new SyntheticDataset(new SyntheticDataset.Options(0, 0, VIDEOS, FRAME_DIM,
        SyntheticDataset.FrameKind.NPY, 1)).write(data);
    Path textModel = data.resolve(SyntheticDataset.TEXT_MODEL);
    BertConfig bert = new BertConfig(HuggingFaceBert.config(textModel).vocabSize(), 128, 2, 2,
        512, 512, 2, 1e-12, 0.1, 0.1, "gelu");
    torch.manual_seed(1);
    Path modelDirectory = directory.resolve("model");
    VideoClassifierModel created = VideoClassifierModel.create(new ModelConfig(
        Architecture.SINGLE, 200, FRAME_DIM, FRAMES, TEXT, Pooling.MEAN_MASKED, null, bert));
    ModelDirectory.save(modelDirectory, created, textModel);
    created.release();

    List<Video> videos = new ArrayList<>();
    Dataset dataset = Dataset.at(data);
    try (ZipFeatureStore features = dataset.openFeatures("test_a")) {
      for (VideoAnnotation a : dataset.annotations("test_a", false)) {
        videos.add(Video.of(a, features.read(a.id())));
      }
    }
    List<String> bodies = videos.stream().map(ServingBenchmark::requestBody).toList();

    List<Result> results = new ArrayList<>();
    try (VideoClassifier classifier = VideoClassifier.open(
             List.of(EnsembleMember.of(modelDirectory)), VideoClassifier.Options.defaults());
         BatchingClassifier batcher = new BatchingClassifier(classifier,
             new BatchingClassifier.Options(MAX_BATCH, MAX_WAIT, 1 << 16));
         BatchingClassifier httpBatcher = new BatchingClassifier(classifier,
             new BatchingClassifier.Options(MAX_BATCH, MAX_WAIT, 1 << 16));
         ClassificationServer server = ClassificationServer.start(
             ClassificationServer.Options.defaults().withPort(0));
         // the same server over canned answers: what HTTP, JSON and the client cost alone
         BatchingClassifier cannedBatcher = new BatchingClassifier(canned(classifier),
             new BatchingClassifier.Options(MAX_BATCH, MAX_WAIT, 1 << 16));
         ClassificationServer cannedServer = ClassificationServer.start(
             ClassificationServer.Options.defaults().withPort(0))) {
      server.ready(ServingModel.of(classifier, httpBatcher));
      cannedServer.ready(ServingModel.of(classifier, cannedBatcher));
      ExecutorService direct = Executors.newSingleThreadExecutor();
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10)).build();
      URI classify = server.uri().resolve("v1/classify");
      try {
        Target directTarget = i -> CompletableFuture.supplyAsync(
            () -> classifier.classify(videos.get(i)), direct);
        Target batchTarget = i -> batcher.submit(videos.get(i), Optional.empty());
        Target httpTarget = i -> http.sendAsync(HttpRequest.newBuilder(classify)
                .POST(HttpRequest.BodyPublishers.ofString(bodies.get(i))).build(),
            HttpResponse.BodyHandlers.ofString())
            .thenApply(r -> {
              if (r.statusCode() != 200) {
                throw new IllegalStateException("HTTP " + r.statusCode() + ": " + r.body());
              }
              return r;
            });
        URI cannedClassify = cannedServer.uri().resolve("v1/classify");
        Target cannedTarget = i -> http.sendAsync(HttpRequest.newBuilder(cannedClassify)
                .POST(HttpRequest.BodyPublishers.ofString(bodies.get(i))).build(),
            HttpResponse.BodyHandlers.ofString());

        // warm up every path: JIT, connections, and the kernels of each batch shape (padding to
        // the longest video gives many; the first run of a shape costs far more than later ones)
        closedLoop(directTarget, 1, 2.0, () -> 0.0);
        for (int outstanding : new int[] {1, 2, 3, 4, 6, 8, 12, 16, 24, 64}) {
          closedLoop(batchTarget, outstanding, 0.8, () -> 0.0);
        }
        closedLoop(httpTarget, 64, 2.0, () -> 0.0);
        closedLoop(cannedTarget, 64, 2.0, () -> 0.0);

        // the forward passes alone, batched by hand: what batching can give at best
        long handStart = System.nanoTime();
        int handVideos = 0;
        while (System.nanoTime() - handStart < seconds * 1e9) {
          int from = (handVideos / MAX_BATCH * MAX_BATCH) % VIDEOS;
          classifier.classifyBatch(videos.subList(from, from + MAX_BATCH));
          handVideos += MAX_BATCH;
        }
        System.out.printf(Locale.ROOT, "classifyBatch of %d in a loop: %.1f videos/s%n", MAX_BATCH,
            handVideos / ((System.nanoTime() - handStart) / 1e9));

        double[] single = new double[100];
        for (int i = 0; i < single.length; i++) {
          long start = System.nanoTime();
          classifier.classify(videos.get(i % videos.size()));
          single[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(single);
        double singleMillis = single[single.length / 2];
        System.out.printf(Locale.ROOT, "single-video latency, unloaded: p50 %.2f ms, p99 %.2f ms%n",
            singleMillis, single[single.length * 99 / 100]);

        Supplier<Double> batchMean = meanBatchSince(batcher);
        Result directSat = closedLoop(directTarget, 1, seconds, () -> 1.0)
            .named("direct", "closed loop, 1 caller");
        Result batchSat = closedLoop(batchTarget, 64, seconds, batchMean)
            .named("batching", "closed loop, 64 outstanding");
        Supplier<Double> httpMean = meanBatchSince(httpBatcher);
        Result httpSat = closedLoop(httpTarget, 64, seconds, httpMean)
            .named("http", "closed loop, 64 outstanding");
        Result cannedSat = closedLoop(cannedTarget, 64, seconds, meanBatchSince(cannedBatcher))
            .named("http, canned answers", "closed loop, 64 outstanding");
        results.add(directSat);
        results.add(batchSat);
        results.add(httpSat);
        results.add(cannedSat);

        double[] rates = {
            0.5 * directSat.throughput(), 0.9 * directSat.throughput(),
            0.5 * batchSat.throughput(), 0.9 * batchSat.throughput()};
        String[] names = {"0.5 x direct saturation", "0.9 x direct saturation",
            "0.5 x batching saturation", "0.9 x batching saturation"};
        for (int r = 0; r < rates.length; r++) {
          results.add(openLoop(directTarget, rates[r], seconds, () -> 1.0)
              .named("direct", names[r]));
          results.add(openLoop(batchTarget, rates[r], seconds, meanBatchSince(batcher))
              .named("batching", names[r]));
          results.add(openLoop(httpTarget, rates[r], seconds, meanBatchSince(httpBatcher))
              .named("http", names[r]));
        }

        System.out.printf(Locale.ROOT, "%nthreads %d, BLAS %s, batches of up to %d, %d ms wait, "
            + "%.1f s per run%n%n", threads, TorchRuntime.blas(), MAX_BATCH, MAX_WAIT.toMillis(),
            seconds);
        System.out.println("| target | load | offered/s | completed/s | p50 ms | p99 ms | done |"
            + " failed | mean batch |");
        System.out.println("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (Result x : results) {
          System.out.printf(Locale.ROOT, "| %s | %s | %s | %.1f | %.2f | %.2f | %d | %d | %.1f |%n",
              x.target(), x.load(), Double.isNaN(x.offeredPerSecond()) ? "-"
                  : String.format(Locale.ROOT, "%.1f", x.offeredPerSecond()), x.throughput(),
              x.p50Millis(), x.p99Millis(), x.completed(), x.failed(), x.meanBatch());
        }
        System.out.printf(Locale.ROOT, "%nbatching / direct at saturation: %.2fx (target 2x); "
            + "batching p99 at 0.5 x its saturation / unloaded single latency: %.2fx "
            + "(target < 2x)%n", batchSat.throughput() / directSat.throughput(),
            results.stream().filter(x -> x.target().equals("batching")
                && x.load().equals("0.5 x batching saturation")).findFirst().orElseThrow()
                .p99Millis() / singleMillis);
      } finally {
        direct.shutdownNow();
      }
    }
  }

  /** Keeps {@code outstanding} calls in flight for {@code seconds}. */
  private static Measured closedLoop(Target target, int outstanding, double seconds,
      Supplier<Double> meanBatch) throws InterruptedException {
    long start = System.nanoTime();
    long end = start + (long) (seconds * 1e9);
    Recorder recorder = new Recorder();
    AtomicInteger next = new AtomicInteger();
    java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(outstanding);
    for (int k = 0; k < outstanding; k++) {
      issueUntil(target, next, end, recorder, done);
    }
    done.await(60, TimeUnit.SECONDS);
    return recorder.measured(Double.NaN, System.nanoTime() - start, meanBatch.get());
  }

  private static void issueUntil(Target target, AtomicInteger next, long end, Recorder recorder,
      java.util.concurrent.CountDownLatch done) {
    long issued = System.nanoTime();
    if (issued >= end) {
      done.countDown();
      return;
    }
    target.call(next.getAndIncrement() % VIDEOS).whenComplete((ignored, failure) -> {
      recorder.record(issued, failure);
      issueUntil(target, next, end, recorder, done);
    });
  }

  /**
   * Arrivals every {@code 1 / rate} seconds for {@code seconds}; each latency from its scheduled
   * time. Throughput: completions over the time from the first arrival to the last completion.
   */
  private static Measured openLoop(Target target, double rate, double seconds,
      Supplier<Double> meanBatch) throws InterruptedException {
    Recorder recorder = new Recorder();
    int arrivals = (int) Math.max(1, Math.round(rate * seconds));
    List<CompletableFuture<?>> calls = new ArrayList<>(arrivals);
    long start = System.nanoTime();
    for (int i = 0; i < arrivals; i++) {
      long scheduled = start + (long) (i * 1e9 / rate);
      long wait = scheduled - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      calls.add(target.call(i % VIDEOS).whenComplete((ignored, failure) ->
          recorder.record(scheduled, failure)));
    }
    try {
      CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
    } catch (Exception e) {
      // failures are counted by the recorder
    }
    return recorder.measured(rate, recorder.lastCompletion() - start, meanBatch.get());
  }

  /** A backend answering every video with the classifier's answer for an empty video. */
  private static BatchingClassifier.Backend canned(VideoClassifier classifier) {
    dev.vidtag.infer.Prediction answer = classifier.classify(Video.of("canned", "", "", List.of(),
        new float[0], 0, FRAME_DIM));
    return batch -> batch.stream().map(video -> new dev.vidtag.infer.Prediction(video.id(),
        answer.top(), answer.lv1Probability(), answer.logits())).toList();
  }

  /** Mean batch size of the batches run from now until the supplier is asked. */
  private static Supplier<Double> meanBatchSince(BatchingClassifier batcher) {
    long[] before = batcher.statistics().batchSizeCounts();
    return () -> {
      long[] after = batcher.statistics().batchSizeCounts();
      long batches = 0;
      long videos = 0;
      for (int n = 1; n < after.length; n++) {
        batches += after[n] - before[n];
        videos += n * (after[n] - before[n]);
      }
      return batches == 0 ? 0.0 : (double) videos / batches;
    };
  }

  private static String requestBody(Video video) {
    ObjectMapper json = new ObjectMapper();
    ObjectNode body = json.createObjectNode();
    ObjectNode node = body.putArray("videos").addObject();
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
    body.put("top_k", 5);
    return body.toString();
  }

  /** Latencies and outcomes, recorded from any thread. */
  private static final class Recorder {
    private final List<Long> latencies = new ArrayList<>();
    private long failed;
    private long lastCompletion;

    synchronized void record(long startNanos, Throwable failure) {
      long now = System.nanoTime();
      lastCompletion = Math.max(lastCompletion, now);
      if (failure != null) {
        failed++;
      } else {
        latencies.add(now - startNanos);
      }
    }

    synchronized long lastCompletion() {
      return lastCompletion;
    }

    synchronized Measured measured(double offered, long elapsedNanos, double meanBatch) {
      long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
      double p50 = sorted.length == 0 ? Double.NaN : sorted[sorted.length / 2] / 1e6;
      double p99 = sorted.length == 0 ? Double.NaN
          : sorted[Math.min(sorted.length - 1, (int) Math.ceil(sorted.length * 0.99) - 1)] / 1e6;
      return new Measured(offered, sorted.length / (elapsedNanos / 1e9), p50, p99, sorted.length,
          failed, meanBatch);
    }
  }

  private record Measured(double offered, double throughput, double p50, double p99,
      long completed, long failed, double meanBatch) {
    Result named(String target, String load) {
      return new Result(target, load, offered, throughput, p50, p99, completed, failed,
          meanBatch);
    }
  }
}

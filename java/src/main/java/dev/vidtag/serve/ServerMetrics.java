package dev.vidtag.serve;

import dev.vidtag.infer.BatchingClassifier;
import dev.vidtag.infer.LatencyHistogram;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** The server's counters, and their rendering in Prometheus's text format (version 0.0.4). */
final class ServerMetrics {
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** Keyed by endpoint then status; endpoints are the routes plus "other", so labels stay few. */
  private final Map<String, Map<Integer, LongAdder>> requests = new ConcurrentHashMap<>();
  private final LatencyHistogram classifyLatency = new LatencyHistogram();

  void recordRequest(String endpoint, int status) {
    requests.computeIfAbsent(endpoint, e -> new ConcurrentHashMap<>())
        .computeIfAbsent(status, s -> new LongAdder()).increment();
  }

  void recordClassifyLatency(long nanos) {
    classifyLatency.recordNanos(nanos);
  }

  long requests(String endpoint, int status) {
    Map<Integer, LongAdder> byStatus = requests.get(endpoint);
    LongAdder count = byStatus == null ? null : byStatus.get(status);
    return count == null ? 0 : count.sum();
  }

  /** Everything, with the batcher's statistics when models are loaded (null before). */
  String render(boolean ready, BatchingClassifier.Statistics batching) {
    StringBuilder out = new StringBuilder(4096);
    header(out, "vidtag_ready", "gauge", "1 once the models are loaded and warmed up.");
    out.append("vidtag_ready ").append(ready ? 1 : 0).append('\n');

    header(out, "vidtag_http_requests_total", "counter", "HTTP requests answered, by endpoint "
        + "and status code.");
    Map<String, Map<Integer, LongAdder>> sorted = new TreeMap<>(requests);
    for (Map.Entry<String, Map<Integer, LongAdder>> endpoint : sorted.entrySet()) {
      for (Map.Entry<Integer, LongAdder> status : new TreeMap<>(endpoint.getValue()).entrySet()) {
        out.append("vidtag_http_requests_total{endpoint=\"").append(endpoint.getKey())
            .append("\",status=\"").append(status.getKey()).append("\"} ")
            .append(status.getValue().sum()).append('\n');
      }
    }
    histogram(out, "vidtag_http_classify_duration_seconds", "Time from a classify request's "
        + "arrival to its answer, any status.", classifyLatency.snapshot());

    if (batching != null) {
      header(out, "vidtag_queue_length", "gauge", "Videos waiting for a batch.");
      out.append("vidtag_queue_length ").append(batching.queueLength()).append('\n');
      header(out, "vidtag_queue_capacity", "gauge", "The most videos that may wait.");
      out.append("vidtag_queue_capacity ").append(batching.queueCapacity()).append('\n');
      header(out, "vidtag_videos_total", "counter", "Videos by outcome in the batching queue.");
      outcome(out, "submitted", batching.submitted());
      outcome(out, "completed", batching.completed());
      outcome(out, "failed", batching.failed());
      outcome(out, "rejected_queue_full", batching.rejectedQueueFull());
      outcome(out, "deadline_exceeded", batching.deadlineExceeded());
      batchSizes(out, batching.batchSizeCounts());
      histogram(out, "vidtag_video_latency_seconds", "Time from a video's submission to the "
          + "batching queue to its prediction.", batching.latency());
      histogram(out, "vidtag_batch_duration_seconds", "Time of one batch's forward passes.",
          batching.batchTime());
    }
    return out.toString();
  }

  private static void outcome(StringBuilder out, String outcome, long count) {
    out.append("vidtag_videos_total{outcome=\"").append(outcome).append("\"} ").append(count)
        .append('\n');
  }

  /** Buckets at the powers of two up to the largest batch, from the exact per-size counts. */
  private static void batchSizes(StringBuilder out, long[] countsBySize) {
    String name = "vidtag_batch_size";
    header(out, name, "histogram", "Videos per batch run.");
    int maxBatch = countsBySize.length - 1;
    long cumulative = 0;
    long sum = 0;
    int size = 1;
    for (int bound = 1; ; bound = Math.min(bound * 2, maxBatch)) {
      for (; size <= bound; size++) {
        cumulative += countsBySize[size];
        sum += (long) size * countsBySize[size];
      }
      out.append(name).append("_bucket{le=\"").append(bound).append("\"} ").append(cumulative)
          .append('\n');
      if (bound == maxBatch) {
        break;
      }
    }
    out.append(name).append("_bucket{le=\"+Inf\"} ").append(cumulative).append('\n');
    out.append(name).append("_sum ").append(sum).append('\n');
    out.append(name).append("_count ").append(cumulative).append('\n');
  }

  private static void histogram(StringBuilder out, String name, String help,
      LatencyHistogram.Snapshot snapshot) {
    header(out, name, "histogram", help);
    double[] bounds = snapshot.boundsSeconds();
    long[] cumulative = snapshot.cumulativeCounts();
    for (int i = 0; i < bounds.length; i++) {
      out.append(name).append("_bucket{le=\"").append(number(bounds[i])).append("\"} ")
          .append(cumulative[i]).append('\n');
    }
    out.append(name).append("_bucket{le=\"+Inf\"} ").append(snapshot.count()).append('\n');
    out.append(name).append("_sum ").append(number(snapshot.sumSeconds())).append('\n');
    out.append(name).append("_count ").append(snapshot.count()).append('\n');
  }

  private static void header(StringBuilder out, String name, String type, String help) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static String number(double value) {
    return String.format(Locale.ROOT, "%s", value);
  }
}

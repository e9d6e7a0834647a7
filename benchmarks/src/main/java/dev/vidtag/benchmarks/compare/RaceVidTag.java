package dev.vidtag.benchmarks.compare;

import dev.vidtag.data.NpyWriter;
import dev.vidtag.model.AttentionBackend;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.SafetensorsFile;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * VidTag's side of the race (benchmarks/compare/run.sh): loads a model directory, runs one
 * workload's inputs (a safetensors file of text_ids, text_mask, frames, frame_mask written by
 * race.py) at one precision and thread count, and writes what it measured as JSON plus the
 * logits of every video as .npy.
 *
 * <pre>
 * RaceVidTag --model DIR --inputs FILE --workload full|mix --precision fp32|bf16|int8
 *            --threads 2 --batch 16 --b16-iters 3 --b1-iters 20 --out RESULT.json --logits OUT.npy
 *            [--blas-threads N (default: --threads; OpenBLAS only)]
 * </pre>
 * LibTorch's BLAS is MKL when its libraries are on the class path (they are, in the benchmarks);
 * {@code -Dvidtag.blas=openblas} measures OpenBLAS instead.
 * <pre>
 * </pre>
 *
 * Workload {@code full}: the first {@code batch} videos, all at full length, forwarded
 * {@code b16-iters} times after one warm-up. Workload {@code mix}: every video once, sorted by
 * text length and cut into batches each trimmed to its longest text (masked mean pooling makes
 * the padding irrelevant, so no padding work is done), after one warm-up batch. Latency: videos
 * one at a time, each at its own text length, {@code b1-iters} times after two warm-ups.
 */
public final class RaceVidTag {
  private RaceVidTag() {}

  public static void main(String[] args) throws IOException {
    Arguments a = new Arguments(args, 0);
    String workload = a.string("--workload", "full");
    String precision = a.string("--precision", "fp32");
    int threads = a.integer("--threads", 2);
    int batch = a.integer("--batch", 16);
    int b16Iterations = a.integer("--b16-iters", 3);
    int b1Iterations = a.integer("--b1-iters", 20);

    TorchRuntime.initialize();
    TorchRuntime.setThreads(threads);
    int blasThreads = a.integer("--blas-threads", threads);
    openblas_nolapack.blas_set_num_threads(blasThreads);
    VideoClassifierModel model = ModelDirectory.load(a.path("--model"));
    switch (precision) {
      case "fp32" -> { }
      case "bf16" -> model.to(ScalarType.BFloat16, false);
      case "int8" -> model.quantizeInt8();
      default -> throw new IllegalArgumentException("precision must be fp32, bf16 or int8");
    }
    Map<String, Tensor> inputs;
    try (SafetensorsFile file = SafetensorsFile.open(a.path("--inputs"))) {
      inputs = file.loadAll();
    }
    Tensor ids = inputs.get("text_ids");
    Tensor textMask = inputs.get("text_mask");
    Tensor frames = inputs.get("frames");
    Tensor frameMask = inputs.get("frame_mask");
    int videos = (int) ids.size(0);
    long[] lengths = new long[videos];
    textMask.sum(new long[] {1}, false, new ScalarTypeOptional(
        ScalarType.Long)).contiguous().data_ptr_long().get(lengths);

    double throughput;
    Tensor logits;
    try (NoGradGuard noGrad = new NoGradGuard()) {
      if (workload.equals("full")) {
        int[] first = IntStream.range(0, Math.min(batch, videos)).toArray();
        ModelInputs in = select(ids, textMask, frames, frameMask, first, ids.size(1));
        logits = forward(model, in).retainReference();
        long start = System.nanoTime();
        for (int i = 0; i < b16Iterations; i++) {
          forward(model, in);
        }
        throughput = (double) first.length * b16Iterations / seconds(start);
      } else {
        List<int[]> batches = lengthBatches(lengths, batch);
        forward(model, select(ids, textMask, frames, frameMask, batches.get(0),
            maxLength(lengths, batches.get(0))));
        Tensor all = torch.zeros(videos, model.config().numClasses());
        long start = System.nanoTime();
        for (int[] indices : batches) {
          try (PointerScope scope = new PointerScope()) {
            Tensor out = forward(model, select(ids, textMask, frames, frameMask, indices,
                maxLength(lengths, indices)));
            all.index_copy_(0, indexTensor(indices), out);
          }
        }
        throughput = videos / seconds(start);
        logits = all;
      }
    }

    double[] latencies = new double[b1Iterations];
    try (NoGradGuard noGrad = new NoGradGuard()) {
      for (int i = -2; i < b1Iterations; i++) {
        int video = Math.floorMod(i, videos);
        ModelInputs one = select(ids, textMask, frames, frameMask, new int[] {video},
            workload.equals("full") ? ids.size(1) : lengths[video]);
        long start = System.nanoTime();
        forward(model, one);
        if (i >= 0) {
          latencies[i] = seconds(start) * 1000;
        }
      }
    }
    Arrays.sort(latencies);

    writeLogits(a.path("--logits"), logits);
    String json = String.format(Locale.ROOT,
        "{\"system\": \"%s\", \"precision\": \"%s\", \"workload\": \"%s\", \"threads\": %d,"
            + " \"blas_threads\": %d, \"blas\": \"%s\", \"videos\": %d, \"b16_videos_per_s\": %.4f, \"b1_p50_ms\": %.2f,"
            + " \"b1_p99_ms\": %.2f, \"peak_rss_mb\": %.1f}%n",
        "VidTag/" + TorchRuntime.blas() + (TorchRuntime.initialize().nativeAllocation().equals("retain")
            ? ", memory kept" : "") + (AttentionBackend.forNewModels() == AttentionBackend.SDPA
            ? ", SDPA attention" : ""), precision, workload, threads, blasThreads, TorchRuntime.blas(),
        videos, throughput, percentile(latencies, 0.50),
        percentile(latencies, 0.99), peakRssMegabytes());
    Files.writeString(a.path("--out"), json);
    System.out.print(json);
  }

  private static Tensor forward(VideoClassifierModel model, ModelInputs in) {
    try (PointerScope scope = new PointerScope()) {
      Tensor logits = model.forward(in).logits();
      logits.retainReference();
      return logits;
    }
  }

  /** Indices of the videos in batches of {@code size}, longest texts first. */
  static List<int[]> lengthBatches(long[] lengths, int size) {
    Integer[] order = IntStream.range(0, lengths.length).boxed().toArray(Integer[]::new);
    Arrays.sort(order, Comparator.comparingLong((Integer i) -> -lengths[i]));
    List<int[]> batches = new ArrayList<>();
    for (int from = 0; from < order.length; from += size) {
      batches.add(Arrays.stream(order, from, Math.min(order.length, from + size))
          .mapToInt(Integer::intValue).toArray());
    }
    return batches;
  }

  private static long maxLength(long[] lengths, int[] indices) {
    return Math.max(1, Arrays.stream(indices).mapToLong(i -> lengths[i]).max().orElse(1));
  }

  private static ModelInputs select(Tensor ids, Tensor textMask, Tensor frames, Tensor frameMask,
      int[] indices, long textLength) {
    Tensor index = indexTensor(indices);
    return new ModelInputs(ids.index_select(0, index).narrow(1, 0, textLength),
        textMask.index_select(0, index).narrow(1, 0, textLength),
        frames.index_select(0, index), frameMask.index_select(0, index));
  }

  private static Tensor indexTensor(int[] indices) {
    return torch.tensor(Arrays.stream(indices).asLongStream().toArray());
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private static double percentile(double[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    // nearest rank: with 20 samples p99 is the slowest one
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, rank - 1)];
  }

  /** The process's peak resident set (VmHWM), in MB; NaN where /proc is absent. */
  static double peakRssMegabytes() throws IOException {
    Path status = Path.of("/proc/self/status");
    if (!Files.isReadable(status)) {
      return Double.NaN;
    }
    for (String line : Files.readAllLines(status)) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    return Double.NaN;
  }

  private static void writeLogits(Path file, Tensor logits) throws IOException {
    Tensor flat = logits.to(ScalarType.Float).contiguous();
    float[] values = new float[(int) flat.numel()];
    flat.data_ptr_float().get(values);
    Files.write(file, NpyWriter.float32(values, (int) flat.size(0), (int) flat.size(1)));
  }
}

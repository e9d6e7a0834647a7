package dev.vidtag.benchmarks.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.data.NpyWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * What the race's JVM peers of PyTorch and ONNX Runtime (RaceOnnxRuntimeJava, RaceDjl) share:
 * the workload's inputs read from race.py's safetensors file in plain Java (no LibTorch of
 * VidTag's loaded), the three measurements done exactly as race.py's {@code measure} does them,
 * and the result JSON and logits {@code .npy} in the same format as the other rows.
 *
 * <p>Like race.py's PyTorch and ONNX Runtime rows, a peer always gets the inputs padded to the
 * fixed lengths (258 tokens, 14 frames): workload {@code full} forwards the first {@code batch}
 * videos {@code b16-iters} times after one warm-up (inputs made before the clock starts);
 * {@code mix} forwards every video once in batches of {@code batch} in the file's order after a
 * warm-up batch, selecting each batch's rows inside the timed loop as race.py does; the latency
 * forwards video {@code i mod videos} alone {@code b1-iters} times after two warm-ups.
 */
final class RacePeer {
  private RacePeer() {}

  /** One batch of videos: row-major copies of the four inputs. */
  record Batch(int videos, int textLength, int frameCount, int frameDim, long[] textIds,
      long[] textMask, float[] frames, long[] frameMask) {}

  /** A system under test: {@code prepare} makes its input values, {@code run} forwards them. */
  interface Engine<T> {
    T prepare(Batch batch) throws Exception;

    /** Row-major logits of the batch, {@code videos * classes} values. */
    float[] run(T prepared) throws Exception;

    /** Frees what {@code prepare} made. */
    default void release(T prepared) throws Exception {}
  }

  /** The four inputs of every video of a workload (race.py's {@code inputs}). */
  static final class Inputs {
    final int videos;
    final int textLength;
    final int frameCount;
    final int frameDim;
    private final long[] textIds;
    private final long[] textMask;
    private final float[] frames;
    private final long[] frameMask;

    private Inputs(long[] textIds, long[] textMask, float[] frames, long[] frameMask,
        long[] idsShape, long[] framesShape) {
      this.videos = Math.toIntExact(idsShape[0]);
      this.textLength = Math.toIntExact(idsShape[1]);
      this.frameCount = Math.toIntExact(framesShape[1]);
      this.frameDim = Math.toIntExact(framesShape[2]);
      this.textIds = textIds;
      this.textMask = textMask;
      this.frames = frames;
      this.frameMask = frameMask;
    }

    /** Reads text_ids, text_mask, frame_mask (I64) and frames (F32) from a safetensors file. */
    static Inputs read(Path file) throws IOException {
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, length, 0);
        int headerBytes = Math.toIntExact(length.flip().getLong());
        ByteBuffer header = ByteBuffer.allocate(headerBytes);
        readFully(channel, header, 8);
        JsonNode entries = new ObjectMapper().readTree(header.array());
        long base = 8L + headerBytes;
        long[][] shapes = new long[2][];
        long[] ids = longs(channel, base, entries, "text_ids", 2, null);
        shapes[0] = shape(entries.get("text_ids"));
        long[] mask = longs(channel, base, entries, "text_mask", 2, shapes[0]);
        ByteBuffer frameBytes = tensor(channel, base, entries, "frames", "F32", 3);
        shapes[1] = shape(entries.get("frames"));
        float[] frames = new float[frameBytes.remaining() / 4];
        frameBytes.asFloatBuffer().get(frames);
        long[] frameMask = longs(channel, base, entries, "frame_mask", 2,
            new long[] {shapes[1][0], shapes[1][1]});
        if (shapes[1][0] != shapes[0][0]) {
          throw new IOException(file + ": " + shapes[0][0] + " texts but " + shapes[1][0]
              + " videos of frames");
        }
        return new Inputs(ids, mask, frames, frameMask, shapes[0], shapes[1]);
      }
    }

    /** The given videos' rows, in that order. */
    Batch rows(int[] indices) {
      int n = indices.length;
      long[] ids = new long[n * textLength];
      long[] mask = new long[n * textLength];
      float[] f = new float[n * frameCount * frameDim];
      long[] fm = new long[n * frameCount];
      for (int r = 0; r < n; r++) {
        int v = indices[r];
        System.arraycopy(textIds, v * textLength, ids, r * textLength, textLength);
        System.arraycopy(textMask, v * textLength, mask, r * textLength, textLength);
        System.arraycopy(frames, v * frameCount * frameDim, f, r * frameCount * frameDim,
            frameCount * frameDim);
        System.arraycopy(frameMask, v * frameCount, fm, r * frameCount, frameCount);
      }
      return new Batch(n, textLength, frameCount, frameDim, ids, mask, f, fm);
    }

    private static long[] shape(JsonNode entry) {
      long[] shape = new long[entry.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = entry.get("shape").get(i).asLong();
      }
      return shape;
    }

    private static long[] longs(FileChannel channel, long base, JsonNode entries, String name,
        int rank, long[] expected) throws IOException {
      ByteBuffer bytes = tensor(channel, base, entries, name, "I64", rank);
      if (expected != null && !Arrays.equals(expected, shape(entries.get(name)))) {
        throw new IOException(name + " has shape " + entries.get(name).get("shape")
            + ", expected " + Arrays.toString(expected));
      }
      long[] values = new long[bytes.remaining() / 8];
      bytes.asLongBuffer().get(values);
      return values;
    }

    private static ByteBuffer tensor(FileChannel channel, long base, JsonNode entries,
        String name, String dtype, int rank) throws IOException {
      JsonNode entry = entries.get(name);
      if (entry == null || !dtype.equals(entry.get("dtype").asText())
          || entry.get("shape").size() != rank) {
        throw new IOException("the inputs need " + name + " as a rank-" + rank + " " + dtype
            + " tensor, found " + entry);
      }
      long from = entry.get("data_offsets").get(0).asLong();
      long to = entry.get("data_offsets").get(1).asLong();
      ByteBuffer bytes = ByteBuffer.allocate(Math.toIntExact(to - from))
          .order(ByteOrder.LITTLE_ENDIAN);
      readFully(channel, bytes, base + from);
      return bytes.flip().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position)
        throws IOException {
      while (buffer.hasRemaining()) {
        int read = channel.read(buffer, position + buffer.position());
        if (read < 0) {
          throw new IOException("the file ends early");
        }
      }
    }
  }

  /** What {@link #measure} measured. */
  record Measurement(int videos, int rows, int classes, float[] logits, double videosPerSecond,
      double p50Milliseconds, double p99Milliseconds) {}

  /** race.py's {@code measure}: the workload, then the batch-1 latency. */
  static <T> Measurement measure(Engine<T> engine, Inputs inputs, String workload, int batch,
      int b16Iterations, int b1Iterations) throws Exception {
    int videos = inputs.videos;
    float[] logits;
    double throughput;
    if (workload.equals("full")) {
      T prepared = engine.prepare(inputs.rows(IntStream.range(0, Math.min(batch, videos))
          .toArray()));
      logits = engine.run(prepared);
      long start = System.nanoTime();
      for (int i = 0; i < b16Iterations; i++) {
        engine.run(prepared);
      }
      throughput = (double) Math.min(batch, videos) * b16Iterations / seconds(start);
      engine.release(prepared);
    } else if (workload.equals("mix")) {
      List<int[]> batches = new ArrayList<>();
      for (int from = 0; from < videos; from += batch) {
        batches.add(IntStream.range(from, Math.min(videos, from + batch)).toArray());
      }
      T warm = engine.prepare(inputs.rows(batches.get(0)));
      engine.run(warm);
      engine.release(warm);
      List<float[]> outputs = new ArrayList<>();
      long start = System.nanoTime();
      for (int[] indices : batches) {
        T prepared = engine.prepare(inputs.rows(indices));
        outputs.add(engine.run(prepared));
        engine.release(prepared);
      }
      throughput = videos / seconds(start);
      int total = outputs.stream().mapToInt(o -> o.length).sum();
      logits = new float[total];
      int at = 0;
      for (float[] o : outputs) {
        System.arraycopy(o, 0, logits, at, o.length);
        at += o.length;
      }
    } else {
      throw new IllegalArgumentException("workload must be full or mix");
    }
    int rows = workload.equals("full") ? Math.min(batch, videos) : videos;
    int classes = logits.length / rows;

    double[] latencies = new double[b1Iterations];
    for (int i = -2; i < b1Iterations; i++) {
      T one = engine.prepare(inputs.rows(new int[] {Math.floorMod(i, videos)}));
      long start = System.nanoTime();
      engine.run(one);
      if (i >= 0) {
        latencies[i] = seconds(start) * 1000;
      }
      engine.release(one);
    }
    Arrays.sort(latencies);
    return new Measurement(videos, rows, classes, logits, throughput, percentile(latencies, 0.50),
        percentile(latencies, 0.99));
  }

  /** Writes the logits and the result JSON (the fields race.py's rows write) and prints it. */
  static void report(Measurement m, String system, String precision, String workload,
      int threads, String version, Path out, Path logits) throws IOException {
    Files.write(logits, NpyWriter.float32(m.logits(), m.rows(), m.classes()));
    String json = String.format(Locale.ROOT,
        "{\"system\": \"%s\", \"precision\": \"%s\", \"workload\": \"%s\", \"threads\": %d,"
            + " \"videos\": %d, \"b16_videos_per_s\": %.4f, \"b1_p50_ms\": %.2f,"
            + " \"b1_p99_ms\": %.2f, \"peak_rss_mb\": %.1f, \"version\": \"%s\"}%n",
        system, precision, workload, threads, m.videos(), m.videosPerSecond(),
        m.p50Milliseconds(), m.p99Milliseconds(), peakRssMegabytes(), version);
    Files.writeString(out, json);
    System.out.print(json);
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  /** Nearest rank, as race.py and RaceVidTag take it. */
  static double percentile(double[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[Math.max(0, (int) Math.ceil(q * sorted.length) - 1)];
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
}

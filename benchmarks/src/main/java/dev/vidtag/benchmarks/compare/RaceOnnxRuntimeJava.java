package dev.vidtag.benchmarks.compare;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Map;
import java.util.Set;

/**
 * ONNX Runtime's own Java API in the race (benchmarks/compare/run.sh, row {@code ort-java}): the
 * ONNX file that race.py's ONNX Runtime row runs (race.py export; or its int8 dynamic quantisation,
 * race.py quantize), the same inputs and workloads as race.py's rows (see {@link RacePeer}), and
 * the same session options: intra-op threads {@code --threads}, one inter-op thread, sequential
 * execution, all graph optimisations, the CPU execution provider.
 *
 * <pre>
 * RaceOnnxRuntimeJava --onnx FILE --inputs FILE --workload full|mix [--precision fp32|int8]
 *                     --threads 2 --batch 16 --b16-iters 3 --b1-iters 20
 *                     --out RESULT.json --logits OUT.npy
 * </pre>
 * {@code --precision} only names the row: the ONNX file decides what runs.
 */
public final class RaceOnnxRuntimeJava {
  private RaceOnnxRuntimeJava() {}

  public static void main(String[] args) throws Exception {
    Arguments a = new Arguments(args, 0);
    String workload = a.string("--workload", "full");
    String precision = a.string("--precision", "fp32");
    int threads = a.integer("--threads", 2);
    RacePeer.Inputs inputs = RacePeer.Inputs.read(a.path("--inputs"));

    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(threads);
      options.setInterOpNumThreads(1);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      try (OrtSession session = env.createSession(a.string("--onnx", null), options)) {
        RacePeer.Measurement m = RacePeer.measure(new Engine(env, session), inputs, workload,
            a.integer("--batch", 16), a.integer("--b16-iters", 3), a.integer("--b1-iters", 20));
        RacePeer.report(m, "ONNX Runtime (Java)", precision, workload, threads,
            "onnxruntime-java " + env.getVersion(), a.path("--out"), a.path("--logits"));
      }
    }
  }

  /** The batch's inputs as ONNX Runtime tensors (it copies the heap arrays into direct memory). */
  private record Engine(OrtEnvironment env, OrtSession session)
      implements RacePeer.Engine<Map<String, OnnxTensor>> {
    @Override
    public Map<String, OnnxTensor> prepare(RacePeer.Batch b) throws OrtException {
      long[] text = {b.videos(), b.textLength()};
      long[] frameShape = {b.videos(), b.frameCount()};
      return Map.of(
          "text_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(b.textIds()), text),
          "text_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(b.textMask()), text),
          "frames", OnnxTensor.createTensor(env, FloatBuffer.wrap(b.frames()),
              new long[] {b.videos(), b.frameCount(), b.frameDim()}),
          "frame_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(b.frameMask()),
              frameShape));
    }

    @Override
    public float[] run(Map<String, OnnxTensor> prepared) throws OrtException {
      try (OrtSession.Result result = session.run(prepared, Set.of("logits"))) {
        OnnxTensor logits = (OnnxTensor) result.get(0);
        FloatBuffer values = logits.getFloatBuffer();
        float[] out = new float[values.remaining()];
        values.get(out);
        return out;
      }
    }

    @Override
    public void release(Map<String, OnnxTensor> prepared) {
      prepared.values().forEach(OnnxTensor::close);
    }
  }
}

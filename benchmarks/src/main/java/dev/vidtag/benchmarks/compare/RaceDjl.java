package dev.vidtag.benchmarks.compare;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;

/**
 * DJL's PyTorch engine in the race (benchmarks/compare/run.sh, row {@code djl}): the TorchScript
 * trace of race.py's PyTorch model (race.py torchscript, the same weights), on the same inputs and
 * workloads as race.py's rows (see {@link RacePeer}), intra-op threads {@code --threads} and one
 * inter-op thread.
 *
 * <pre>
 * RaceDjl --torchscript FILE --inputs FILE --workload full|mix
 *         --threads 2 --batch 16 --b16-iters 3 --b1-iters 20 --out RESULT.json --logits OUT.npy
 * </pre>
 *
 * <p>DJL runs the LibTorch CPU build of the {@code pytorch-native-cpu} jar on the class path and
 * the JNI library of the {@code pytorch-jni} jar, both extracted into DJL's cache
 * ({@code ENGINE_CACHE_DIR}, default {@code ~/.djl.ai}) on first use; offline mode is forced, so
 * a missing native fails at once rather than being downloaded. Nothing of JavaCPP's LibTorch is
 * loaded in this process: DJL's is a different LibTorch.
 */
public final class RaceDjl {
  /** The LibTorch of the pytorch-native-cpu jar in benchmarks/pom.xml. */
  static final String PYTORCH_VERSION = "2.7.1";

  private RaceDjl() {}

  public static void main(String[] args) throws Exception {
    Arguments a = new Arguments(args, 0);
    String workload = a.string("--workload", "full");
    int threads = a.integer("--threads", 2);
    Path torchscript = a.path("--torchscript").toAbsolutePath();
    RacePeer.Inputs inputs = RacePeer.Inputs.read(a.path("--inputs"));

    // DJL reads these as system properties or environment variables; what the caller set wins
    setDefault("ai.djl.offline", "true");
    setDefault("PYTORCH_VERSION", PYTORCH_VERSION);
    setDefault("PYTORCH_FLAVOR", "cpu");
    System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
    System.setProperty("ai.djl.pytorch.num_interop_threads", "1");

    Engine engine = Engine.getEngine("PyTorch");
    if (JniUtils.getNumThreads() != threads || JniUtils.getNumInteropThreads() != 1) {
      throw new IllegalStateException("DJL's LibTorch runs " + JniUtils.getNumThreads()
          + " intra-op and " + JniUtils.getNumInteropThreads() + " inter-op threads, not "
          + threads + " and 1");
    }
    try (Model model = Model.newInstance("race", Device.cpu(), "PyTorch")) {
      // the file itself, not a directory and prefix: run.sh keeps the model directory of the same
      // name beside it
      model.load(torchscript);
      try (NDManager manager = model.getNDManager().newSubManager()) {
        RacePeer.Measurement m = RacePeer.measure(new Forward(model.getBlock(), manager), inputs,
            workload, a.integer("--batch", 16), a.integer("--b16-iters", 3),
            a.integer("--b1-iters", 20));
        RacePeer.report(m, "DJL/PyTorch", "fp32", workload, threads,
            "djl " + Engine.getDjlVersion() + ", libtorch " + engine.getVersion(),
            a.path("--out"), a.path("--logits"));
      }
    }
  }

  private static void setDefault(String name, String value) {
    if (System.getProperty(name) == null && System.getenv(name) == null) {
      System.setProperty(name, value);
    }
  }

  /** The batch as LibTorch tensors in a manager of their own; the traced module's forward. */
  private record Forward(Block block, NDManager parent) implements RacePeer.Engine<NDList> {
    @Override
    public NDList prepare(RacePeer.Batch b) {
      NDManager manager = parent.newSubManager();
      Shape text = new Shape(b.videos(), b.textLength());
      return new NDList(
          manager.create(LongBuffer.wrap(b.textIds()), text),
          manager.create(LongBuffer.wrap(b.textMask()), text),
          manager.create(FloatBuffer.wrap(b.frames()),
              new Shape(b.videos(), b.frameCount(), b.frameDim())),
          manager.create(LongBuffer.wrap(b.frameMask()), new Shape(b.videos(), b.frameCount())));
    }

    @Override
    public float[] run(NDList prepared) {
      NDManager manager = prepared.head().getManager();
      try (NDManager scratch = manager.newSubManager()) {
        NDList in = new NDList(prepared);
        NDList out = block.forward(new ParameterStore(scratch, false), in, false);
        float[] logits = out.head().toFloatArray();
        out.close();
        return logits;
      }
    }

    @Override
    public void release(NDList prepared) {
      prepared.head().getManager().close();
    }
  }
}

package dev.vidtag.benchmarks;

import dev.vidtag.runtime.RuntimeOptions;
import dev.vidtag.runtime.TorchRuntime;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Times the small linears of a tiny model (56 positions, widths 64 to 512), the GEMMs where
 * thread start-up rather than arithmetic sets the cost: run it with and without
 * {@code OPENBLAS_NUM_THREADS=1} in the environment to see what OpenBLAS's thread pool costs
 * when the runtime has already asked it for one thread.
 *
 * <pre>java -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*"
 *     dev.vidtag.benchmarks.SmallLinearProbe [threads] [repetitions]</pre>
 */
public final class SmallLinearProbe {
  private SmallLinearProbe() {}

  public static void main(String[] args) {
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
    int repetitions = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    TorchRuntime.initialize(RuntimeOptions.defaults().withThreads(threads));
    System.out.printf(Locale.ROOT, "threads %d, OPENBLAS_NUM_THREADS=%s%n", threads,
        System.getenv("OPENBLAS_NUM_THREADS"));
    try (NoGradGuard noGrad = new NoGradGuard()) {
      for (int[] shape : new int[][] {{64, 64}, {64, 192}, {64, 256}, {256, 64}, {128, 512},
          {512, 128}}) {
        LinearImpl linear = new LinearImpl(shape[0], shape[1]);
        Tensor x = torch.randn(new long[] {1, 56, shape[0]}, new TensorOptions(ScalarType.Float));
        double best = Double.MAX_VALUE;
        long start = System.nanoTime();
        for (int i = 0; i < repetitions; i++) {
          long t = System.nanoTime();
          try (PointerScope scope = new PointerScope()) {
            linear.forward(x);
          }
          best = Math.min(best, (System.nanoTime() - t) / 1e6);
        }
        double mean = (System.nanoTime() - start) / 1e6 / repetitions;
        System.out.printf(Locale.ROOT, "linear [56 x %d] -> %d: mean %.3f ms, best %.3f ms%n",
            shape[0], shape[1], mean, best);
      }
    }
  }
}

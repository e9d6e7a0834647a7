package dev.vidtag.benchmarks;

import dev.vidtag.kernels.FusedKernels;
import dev.vidtag.kernels.TensorList;
import dev.vidtag.runtime.TorchRuntime;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One PGD step on the 21128x768 word-embedding matrix (alpha 0.3, epsilon 1.0; the projection
 * is active, as it is from the fourth step of a long attack): the fused kernel against the
 * reference's attack-and-project written with LibTorch ops.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class PgdBenchmark {
  private static final double ALPHA = 0.3;
  private static final double EPSILON = 1.0;

  private Tensor param;
  private Tensor backup;
  private Tensor grad;
  private TensorList paramList;
  private TensorList backupList;
  private TensorList gradList;

  @Setup(Level.Trial)
  public void setUp() {
    TorchRuntime.initialize();
    backup = torch.randn(21128, 768);
    grad = torch.randn(21128, 768);
    // start on the epsilon sphere, so every step projects
    Tensor direction = torch.randn(21128, 768);
    param = backup.add(direction.div(direction.norm()).mul(new Scalar(EPSILON)));
    paramList = TensorList.of("embedding", List.of("word_embeddings"), List.of(param));
    backupList = TensorList.of("backup", List.of("word_embeddings"), List.of(backup));
    gradList = TensorList.of("gradient", List.of("word_embeddings"), List.of(grad));
  }

  @Benchmark
  public void fusedKernel() {
    FusedKernels.pgdStep(paramList, backupList, gradList, ALPHA, EPSILON);
  }

  @Benchmark
  public void libTorchOps() {
    try (PointerScope scope = new PointerScope()) {
      double norm = grad.norm().item_double();
      if (norm != 0 && !Double.isNaN(norm)) {
        param.add_(grad, new Scalar(ALPHA / norm));
        Tensor r = param.sub(backup);
        double rNorm = r.norm().item_double();
        if (rNorm > EPSILON) {
          param.copy_(backup.add(r, new Scalar(EPSILON / rNorm)));
        }
      }
    }
  }
}

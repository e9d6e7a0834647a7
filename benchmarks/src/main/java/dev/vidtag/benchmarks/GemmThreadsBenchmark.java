package dev.vidtag.benchmarks;

import dev.vidtag.runtime.TorchRuntime;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Why OpenBLAS keeps as many threads as LibTorch: the FFN-shaped linear of BERT-base at batch 16
 * (4352 x 768 -> 3072, 20.5 GFLOP) and a small linear (32 x 768 -> 768), with LibTorch at all
 * cores and OpenBLAS at 1 thread or at all cores. GFLOP/s = 2*M*N*K / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class GemmThreadsBenchmark {
  @Param({"1", "all"})
  public String openBlasThreads;

  @Param({"4352", "32"})
  public int rows;

  private Tensor input;
  private Tensor weight;

  @Setup(Level.Trial)
  public void setUp() {
    int cores = Runtime.getRuntime().availableProcessors();
    TorchRuntime.initialize();
    TorchRuntime.setThreads(cores);
    openblas_nolapack.blas_set_num_threads(openBlasThreads.equals("all") ? cores : 1);
    input = torch.randn(rows, 768);
    weight = torch.randn(rows == 32 ? 768 : 3072, 768);
  }

  @Benchmark
  public void linear() {
    try (PointerScope scope = new PointerScope()) {
      torch.linear(input, weight);
    }
  }
}

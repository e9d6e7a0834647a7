package dev.vidtag.benchmarks;

import dev.vidtag.kernels.FusedKernels;
import dev.vidtag.kernels.TensorList;
import dev.vidtag.runtime.TorchRuntime;
import java.util.ArrayList;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One EMA update over a BERT-base parameter set (201 fp32 tensors, about 103M values):
 * the fused kernel, the per-parameter LibTorch loop a Java trainer would otherwise write
 * (mul_ + add_, or lerp_), and two copies of the same bytes as bandwidth references: LibTorch's
 * copy_ of one flat buffer, and the fused copy_many over the same list. EMA moves 12 bytes per
 * value (read shadow and param, write shadow); a copy moves 8.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class EmaBenchmark {
  private static final double DECAY = 0.995;

  private final List<Tensor> shadow = new ArrayList<>();
  private final List<Tensor> params = new ArrayList<>();
  private TensorList shadowList;
  private TensorList paramList;
  private final List<Tensor> copies = new ArrayList<>();
  private TensorList copyList;
  private Tensor flatSource;
  private Tensor flatDestination;

  @Setup(Level.Trial)
  public void setUp() {
    TorchRuntime.initialize();
    List<String> names = new ArrayList<>();
    long total = 0;
    for (BertBaseParameters.Shape shape : BertBaseParameters.shapes()) {
      names.add(shape.name());
      params.add(torch.randn(shape.dims()));
      shadow.add(torch.randn(shape.dims()));
      copies.add(torch.randn(shape.dims()));
      total += shape.numel();
    }
    shadowList = TensorList.of("shadow", names, shadow);
    paramList = TensorList.of("params", names, params);
    copyList = TensorList.of("copies", names, copies);
    flatSource = torch.randn(total);
    flatDestination = torch.randn(total);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    shadowList.close();
    paramList.close();
    copyList.close();
  }

  @Benchmark
  public void fusedKernel() {
    FusedKernels.emaUpdate(shadowList, paramList, DECAY);
  }

  @Benchmark
  public void libTorchLoopMulAdd() {
    try (PointerScope scope = new PointerScope()) {
      Scalar decay = new Scalar(DECAY);
      Scalar keep = new Scalar(1 - DECAY);
      for (int i = 0; i < shadow.size(); i++) {
        shadow.get(i).mul_(decay).add_(params.get(i), keep);
      }
    }
  }

  @Benchmark
  public void libTorchLoopLerp() {
    try (PointerScope scope = new PointerScope()) {
      Scalar weight = new Scalar(1 - DECAY);
      for (int i = 0; i < shadow.size(); i++) {
        shadow.get(i).lerp_(params.get(i), weight);
      }
    }
  }

  @Benchmark
  public void fusedCopyOfSameList() {
    FusedKernels.copy(copyList, paramList);
  }

  @Benchmark
  public void copyOfSameSize() {
    try (PointerScope scope = new PointerScope()) {
      flatDestination.copy_(flatSource);
    }
  }
}

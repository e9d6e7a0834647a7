package dev.vidtag.benchmarks.compare;

import dev.vidtag.model.Int8Linear;
import dev.vidtag.runtime.TorchRuntime;
import java.util.Arrays;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * The BERT-base FFN-shaped linear ([16 * 272, 768] x [768, 3072] + bias, 20.5 GFLOP) through each
 * CPU GEMM this LibTorch can reach, interleaved round by round so that a shared machine's load
 * hits all of them alike: the BLAS LibTorch was built against (OpenBLAS, or whatever the OpenBLAS
 * preset loaded in its place), oneDNN's fp32 inner product ({@code mkldnn_linear}, input and
 * output converted to and from oneDNN's layout), and int8 weights through FBGEMM.
 *
 * <pre>FfnGemm [--rows 4352] [--threads 2] [--rounds 5]</pre>
 */
public final class FfnGemm {
  private FfnGemm() {}

  public static void main(String[] args) {
    Arguments a = new Arguments(args, 0);
    int rows = a.integer("--rows", 16 * 272);
    int threads = a.integer("--threads", 2);
    int rounds = a.integer("--rounds", 5);
    TorchRuntime.initialize();
    TorchRuntime.setThreads(threads);
    torch.manual_seed(0);
    Tensor x = torch.randn(rows, 768);
    Tensor w = torch.randn(3072, 768).mul_(new org.bytedeco.pytorch.Scalar(0.02));
    Tensor b = torch.randn(3072);
    Int8Linear int8 = Int8Linear.quantize(w, b);
    double flop = 2.0 * rows * 768 * 3072;
    String[] names = {"BLAS (torch.linear)", "oneDNN (mkldnn_linear)", "int8 FBGEMM"};
    double[][] seconds = new double[names.length][rounds];
    for (int round = -1; round < rounds; round++) {
      for (int path = 0; path < names.length; path++) {
        try (PointerScope scope = new PointerScope()) {
          long start = System.nanoTime();
          switch (path) {
            case 0 -> torch.linear(x, w, new TensorOptional(b));
            case 1 -> torch.mkldnn_linear(x.to_mkldnn(), w, new TensorOptional(b)).to_dense();
            default -> int8.forward(x);
          }
          if (round >= 0) {
            seconds[path][round] = (System.nanoTime() - start) / 1e9;
          }
        }
      }
    }
    System.out.printf(Locale.ROOT, "FFN linear [%d, 768] x [768, 3072], %d threads, %d rounds%n",
        rows, threads, rounds);
    for (int path = 0; path < names.length; path++) {
      double[] s = seconds[path].clone();
      Arrays.sort(s);
      System.out.printf(Locale.ROOT, "  %-24s best %7.1f ms (%5.1f GFLOP/s)  median %7.1f ms (%5.1f)%n",
          names[path], s[0] * 1e3, flop / s[0] / 1e9, s[s.length / 2] * 1e3,
          flop / s[s.length / 2] / 1e9);
    }
  }
}

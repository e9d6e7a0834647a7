package dev.vidtag.benchmarks.compare;

import dev.vidtag.runtime.TorchRuntime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Where a BERT-base layer's fp32 time goes in LibTorch: each operation of one encoder layer at
 * the race's full-length shape ([16, 272, 768], 12 heads, FFN 3072, an additive key-padding
 * bias), timed on its own, round by round, under inference mode, with the BLAS and thread count
 * of the process. Attention is timed both as LibTorch's fused {@code scaled_dot_product_attention}
 * and as its two batched matrix products around a softmax. The layer's sum times 12 is the
 * encoder's share of a batch.
 *
 * <p>With {@code --chain 12} the operations instead run as an encoder does, each on the previous
 * one's output, through 12 layers of their own weights per round, and the time of each kind of
 * operation is summed over the layers: what differs from the isolated times is the cost of
 * running them one after another on fresh data.
 *
 * <pre>LayerProfile [--batch 16] [--length 272] [--threads 2] [--rounds 5] [--chain 0]</pre>
 */
public final class LayerProfile {
  private LayerProfile() {}

  public static void main(String[] args) {
    Arguments a = new Arguments(args, 0);
    int batch = a.integer("--batch", 16);
    int length = a.integer("--length", 272);
    int threads = a.integer("--threads", 2);
    int rounds = a.integer("--rounds", 5);
    int chain = a.integer("--chain", 0);
    int hidden = 768;
    int heads = 12;
    int ffn = 3072;
    TorchRuntime.initialize();
    TorchRuntime.setThreads(threads);
    torch.manual_seed(0);
    if (chain > 0) {
      chained(batch, length, threads, rounds, chain);
      return;
    }
    try (InferenceMode inference = new InferenceMode()) {
      Tensor x = torch.randn(batch, length, hidden);
      Tensor wQkv = torch.randn(hidden, hidden).mul_(new Scalar(0.02));
      Tensor wUp = torch.randn(ffn, hidden).mul_(new Scalar(0.02));
      Tensor wDown = torch.randn(hidden, ffn).mul_(new Scalar(0.02));
      Tensor bHidden = torch.zeros(hidden);
      Tensor bFfn = torch.zeros(ffn);
      Tensor gamma = torch.ones(hidden);
      Tensor q = split(torch.linear(x, wQkv, new TensorOptional(bHidden)), heads);
      Tensor bias = torch.zeros(batch, 1, 1, length);
      Tensor up = torch.linear(x, wUp, new TensorOptional(bFfn));
      Tensor context = torch.randn(batch, length, hidden);
      double scale = 1.0 / Math.sqrt(hidden / heads);

      Map<String, Supplier<Tensor>> ops = new LinkedHashMap<>();
      ops.put("query, key, value (3 linear 768x768)", () -> {
        torch.linear(x, wQkv, new TensorOptional(bHidden));
        torch.linear(x, wQkv, new TensorOptional(bHidden));
        return torch.linear(x, wQkv, new TensorOptional(bHidden));
      });
      ops.put("split heads (view) + merge (copy)", () ->
          split(x, heads).transpose(1, 2).reshape(batch, length, hidden));
      ops.put("attention: scaled_dot_product_attention", () ->
          torch.scaled_dot_product_attention(q, q, q, new TensorOptional(bias), 0.0, false,
              new DoubleOptional(), false));
      ops.put("attention: matmul, softmax, matmul", () -> {
        Tensor scores = torch.matmul(q, q.transpose(-1, -2)).mul_(new Scalar(scale)).add_(bias);
        return torch.matmul(torch.softmax(scores, -1), q);
      });
      ops.put("attention output (linear 768x768)", () ->
          torch.linear(context, wQkv, new TensorOptional(bHidden)));
      ops.put("residual add + LayerNorm", () -> layerNorm(context.add(x), gamma, bHidden));
      ops.put("FFN up (linear 768x3072)", () -> torch.linear(x, wUp, new TensorOptional(bFfn)));
      Tensor upOut = torch.empty_like(up);
      Tensor geluOut = torch.empty_like(up);
      ops.put("FFN up into a reused output", () ->
          torch.linear_out(upOut, x, wUp, new TensorOptional(bFfn)));
      ops.put("GELU (erf) on [., 3072]", () -> torch.gelu(up));
      ops.put("GELU into a reused output", () -> torch.gelu_out(geluOut, up));
      ops.put("FFN down (linear 3072x768)", () ->
          torch.linear(up, wDown, new TensorOptional(bHidden)));
      ops.put("residual add + LayerNorm (2)", () -> layerNorm(context.add(x), gamma, bHidden));

      List<String> names = new ArrayList<>(ops.keySet());
      double[][] seconds = new double[names.size()][rounds];
      for (int round = -1; round < rounds; round++) {
        for (int i = 0; i < names.size(); i++) {
          try (PointerScope scope = new PointerScope()) {
            long start = System.nanoTime();
            ops.get(names.get(i)).get();
            if (round >= 0) {
              seconds[i][round] = (System.nanoTime() - start) / 1e9;
            }
          }
        }
      }
      System.out.printf(Locale.ROOT, "one BERT-base layer at [%d, %d, %d], %s, ATen CPU "
          + "capability %s, %d threads, median of %d rounds%n", batch, length, hidden,
          TorchRuntime.blas(), torch.get_cpu_capability().getString(), threads, rounds);
      double layer = 0;
      for (int i = 0; i < names.size(); i++) {
        double[] s = seconds[i].clone();
        Arrays.sort(s);
        double median = s[s.length / 2];
        boolean alternative = names.get(i).startsWith("attention: matmul")
            || names.get(i).contains("reused");
        if (!alternative) {
          layer += median;
        }
        System.out.printf(Locale.ROOT, "  %-42s %8.1f ms%s%n", names.get(i), median * 1e3,
            alternative ? "  (not in the sum)" : "");
      }
      System.out.printf(Locale.ROOT, "  %-42s %8.1f ms; x12 layers: %.2f s per batch%n",
          "layer with the fused attention", layer * 1e3, layer * 12);
    }
  }

  /** The layer's operations in encoder order, on each other's outputs, through {@code layers}. */
  private static void chained(int batch, int length, int threads, int rounds, int layers) {
    int hidden = 768;
    int heads = 12;
    int ffn = 3072;
    String[] names = {"query, key, value", "attention (fused)", "merge heads", "attention output",
        "residual add + LayerNorm", "FFN up", "GELU", "FFN down", "residual add + LayerNorm (2)"};
    try (InferenceMode inference = new InferenceMode()) {
      List<Tensor[]> weights = new ArrayList<>();
      for (int layer = 0; layer < layers; layer++) {
        weights.add(new Tensor[] {
            torch.randn(hidden, hidden).mul_(new Scalar(0.02)),
            torch.randn(hidden, hidden).mul_(new Scalar(0.02)),
            torch.randn(hidden, hidden).mul_(new Scalar(0.02)),
            torch.randn(hidden, hidden).mul_(new Scalar(0.02)),
            torch.randn(ffn, hidden).mul_(new Scalar(0.02)),
            torch.randn(hidden, ffn).mul_(new Scalar(0.02))});
      }
      Tensor bHidden = torch.zeros(hidden);
      Tensor bFfn = torch.zeros(ffn);
      Tensor gamma = torch.ones(hidden);
      Tensor bias = torch.zeros(batch, 1, 1, length);
      Tensor input = torch.randn(batch, length, hidden);
      double[][] seconds = new double[names.length][rounds];
      double[] totals = new double[rounds];
      for (int round = -1; round < rounds; round++) {
        double[] spent = new double[names.length];
        long roundStart = System.nanoTime();
        try (PointerScope roundScope = new PointerScope()) {
          Tensor x = input;
          for (Tensor[] w : weights) {
            // each layer's temporaries freed at its end, as the model's per-layer scopes do
            PointerScope layerScope = new PointerScope();
            long t = System.nanoTime();
            Tensor q = split(torch.linear(x, w[0], new TensorOptional(bHidden)), heads);
            Tensor k = split(torch.linear(x, w[1], new TensorOptional(bHidden)), heads);
            Tensor v = split(torch.linear(x, w[2], new TensorOptional(bHidden)), heads);
            t = lap(spent, 0, t);
            Tensor context = torch.scaled_dot_product_attention(q, k, v,
                new TensorOptional(bias), 0.0, false, new DoubleOptional(), false);
            t = lap(spent, 1, t);
            Tensor merged = context.transpose(1, 2).reshape(batch, length, hidden);
            t = lap(spent, 2, t);
            Tensor attended = torch.linear(merged, w[3], new TensorOptional(bHidden));
            t = lap(spent, 3, t);
            Tensor h = layerNorm(attended.add(x), gamma, bHidden);
            t = lap(spent, 4, t);
            Tensor up = torch.linear(h, w[4], new TensorOptional(bFfn));
            t = lap(spent, 5, t);
            Tensor activated = torch.gelu(up);
            t = lap(spent, 6, t);
            Tensor down = torch.linear(activated, w[5], new TensorOptional(bHidden));
            t = lap(spent, 7, t);
            x = layerNorm(down.add(h), gamma, bHidden);
            lap(spent, 8, t);
            roundScope.attach(x);
            layerScope.close();
          }
        }
        if (round >= 0) {
          totals[round] = (System.nanoTime() - roundStart) / 1e9;
          for (int i = 0; i < names.length; i++) {
            seconds[i][round] = spent[i];
          }
        }
      }
      System.out.printf(Locale.ROOT, "%d chained BERT-base layers at [%d, %d, %d], %s, %d "
          + "threads, median of %d rounds%n", layers, batch, length, hidden, TorchRuntime.blas(),
          threads, rounds);
      for (int i = 0; i < names.length; i++) {
        double[] s = seconds[i].clone();
        Arrays.sort(s);
        System.out.printf(Locale.ROOT, "  %-42s %8.1f ms over %d layers%n", names[i],
            s[s.length / 2] * 1e3, layers);
      }
      Arrays.sort(totals);
      System.out.printf(Locale.ROOT, "  %-42s %8.2f s%n", "all layers", totals[rounds / 2]);
    }
  }

  private static long lap(double[] spent, int op, long since) {
    long now = System.nanoTime();
    spent[op] += (now - since) / 1e9;
    return now;
  }

  private static Tensor split(Tensor x, int heads) {
    return x.view(x.size(0), x.size(1), heads, x.size(2) / heads).transpose(1, 2);
  }

  private static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta) {
    return torch.layer_norm(x, new long[] {x.size(2)}, new TensorOptional(gamma),
        new TensorOptional(beta), 1e-12, false);
  }
}

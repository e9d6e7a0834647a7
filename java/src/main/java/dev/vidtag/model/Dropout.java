package dev.vidtag.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Where a model's dropout draws its random numbers: a generator of the model's own rather than
 * LibTorch's process-wide default, so that two models training in one JVM each stay repeatable
 * (a trainer reseeds it before every step). Every block of a model, and the momentum copies a
 * pretraining task makes of it, share one.
 *
 * <p>Masks are drawn as {@code torch.dropout} draws them on the CPU (a Bernoulli(1 - p) tensor
 * scaled by 1 / (1 - p), then multiplied in), and attention with dropout on its probabilities
 * computes what {@code scaled_dot_product_attention} computes in training with dropout (its math
 * path): the same generator state gives the same numbers, bit for bit, as LibTorch's own
 * functions seeded alike. That is the {@code sdpa} attention backend's; on VidTag's kernels the
 * attention masks come from the kernels' counter-based numbers, one seed per call drawn from
 * this generator, so they too are fixed by a reseed.
 */
public final class Dropout {
  private final Generator generator = torch.createCPUGenerator(0);
  private long reseeds;

  /** Reseeds the generator: the masks that follow depend only on {@code seed}. */
  public void reseed(long seed) {
    generator.set_current_seed(seed);
    reseeds++;
  }

  /**
   * How many times {@link #reseed} was called: the trainers reseed before every step, so this
   * tells the graphs of earlier steps apart.
   */
  long reseeds() {
    return reseeds;
  }

  /** A seed for the attention kernels' counter-based dropout, drawn from this generator. */
  long nextKernelSeed() {
    return torch.empty(new long[] {1}, new TensorOptions(torch.ScalarType.Long),
            new MemoryFormatOptional())
        .random_(new GeneratorOptional(generator)).item_long();
  }

  /** {@code x} with each element zeroed with probability p and the rest scaled by 1 / (1 - p). */
  Tensor apply(Tensor x, double p, boolean training) {
    if (!training || p <= 0) {
      return x;
    }
    if (p >= 1) {
      return x.mul(torch.zeros_like(x));
    }
    Tensor noise = torch.empty_like(x).bernoulli_(1 - p, new GeneratorOptional(generator));
    noise.div_(new Scalar(1 - p));
    return x.mul(noise);
  }

  /**
   * softmax(q k^T / sqrt(d) + bias) v with dropout p on the probabilities, for training: q, k, v
   * [B, heads, L, d] (fp32 or bf16, computed in fp32 as LibTorch does), bias broadcast to the
   * scores. Both factors are scaled by d^-1/4 before their product, as LibTorch's math path does
   * for stability.
   */
  Tensor attention(Tensor q, Tensor k, Tensor v, Tensor bias, double p) {
    Tensor q32 = toFloat(q);
    Tensor k32 = toFloat(k);
    Tensor v32 = toFloat(v);
    double scale = Math.sqrt(1.0 / Math.sqrt(q.size(-1)));
    Tensor scores = q32.mul(new Scalar(scale)).matmul(k32.transpose(-2, -1).mul(new Scalar(scale)));
    if (bias != null) {
      scores.add_(bias);
    }
    Tensor probabilities = apply(scores.softmax(-1), p, true);
    return probabilities.matmul(v32).to(q.scalar_type());
  }

  private static Tensor toFloat(Tensor t) {
    return t.scalar_type().intern() == torch.ScalarType.Float ? t : t.to(torch.ScalarType.Float);
  }
}

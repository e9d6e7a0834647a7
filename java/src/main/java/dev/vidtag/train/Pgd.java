package dev.vidtag.train;

import dev.vidtag.kernels.FusedKernels;
import dev.vidtag.kernels.TensorList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * PGD on the embeddings with the reference's gradient bookkeeping (K 3, epsilon 1.0, alpha 0.3):
 * back up every gradient and the embeddings; K times: step the embeddings by
 * {@code alpha * g / ||g||} and project their displacement onto the epsilon ball, zero the
 * gradients (restore the clean ones before the last pass) and run forward/backward on the
 * perturbed model. The final gradients are the clean ones plus the last adversarial ones; the
 * embeddings are restored. All of it runs in the fused kernels: no per-element Java.
 */
public final class Pgd implements Adversary, AutoCloseable {
  private final TensorList parameters;
  private final TensorList gradientBackup;
  private final TensorList embeddings;
  private final TensorList embeddingBackup;
  private final int steps;
  private final double epsilon;
  private final double alpha;

  /**
   * @param parameterNames every trained parameter (their gradients are backed up)
   * @param embeddingNames the perturbed tensors (the reference: the word embeddings only)
   */
  public Pgd(List<String> parameterNames, List<Tensor> parameters, List<String> embeddingNames,
      List<Tensor> embeddings, int steps, double epsilon, double alpha) {
    if (steps < 1) {
      throw new IllegalArgumentException("PGD steps must be at least 1, got " + steps);
    }
    this.parameters = TensorList.of("parameters", parameterNames, parameters);
    this.gradientBackup = TensorList.of("gradient backup", parameterNames, Fgm.zerosLike(parameters));
    this.embeddings = Fgm.requireFloat32(TensorList.of("embedding", embeddingNames, embeddings));
    this.embeddingBackup = TensorList.of("embedding backup", embeddingNames, Fgm.zerosLike(embeddings));
    this.steps = steps;
    this.epsilon = epsilon;
    this.alpha = alpha;
  }

  @Override
  public int passes() {
    return steps;
  }

  /**
   * Pass 0 first backs up the clean gradients and the embeddings. Each pass steps the
   * embeddings from their current gradient, then zeroes every gradient for the pass to fill,
   * except before the last pass, which adds to the clean gradients restored.
   */
  @Override
  public List<String> perturb(int pass) {
    try (TensorList gradients = TensorList.gradientsOf(parameters)) {
      if (pass == 0) {
        FusedKernels.copy(gradientBackup, gradients);
        FusedKernels.copy(embeddingBackup, embeddings);
      }
      List<String> skipped;
      try (TensorList embeddingGradients = TensorList.gradientsOf(embeddings)) {
        skipped = FusedKernels.pgdStep(embeddings, embeddingBackup, embeddingGradients, alpha,
            epsilon).skipped();
      }
      if (pass < steps - 1) {
        for (Tensor gradient : gradients.tensors()) {
          gradient.zero_();
        }
      } else {
        FusedKernels.copy(gradients, gradientBackup);
      }
      return skipped;
    }
  }

  @Override
  public void restore() {
    FusedKernels.restore(embeddings, embeddingBackup);
  }

  @Override
  public void close() {
    parameters.close();
    gradientBackup.close();
    embeddings.close();
    embeddingBackup.close();
  }
}

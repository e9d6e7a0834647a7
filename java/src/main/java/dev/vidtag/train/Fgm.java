package dev.vidtag.train;

import dev.vidtag.kernels.FusedKernels;
import dev.vidtag.kernels.TensorList;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * FGM (the reference's alternative to PGD, epsilon 0.75): one perturbation
 * {@code epsilon * g / ||g||} of the embeddings, one extra forward/backward whose gradients add
 * to the clean ones, then the embeddings are restored.
 */
public final class Fgm implements Adversary, AutoCloseable {
  private final TensorList embeddings;
  private final TensorList backup;
  private final double epsilon;

  public Fgm(List<String> names, List<Tensor> embeddings, double epsilon) {
    this.embeddings = requireFloat32(TensorList.of("embedding", names, embeddings));
    this.backup = TensorList.of("embedding backup", names, zerosLike(embeddings));
    this.epsilon = epsilon;
  }

  @Override
  public int passes() {
    return 1;
  }

  @Override
  public List<String> perturb(int pass) {
    try (TensorList gradients = TensorList.gradientsOf(embeddings)) {
      return FusedKernels.fgmPerturb(embeddings, backup, gradients, epsilon).skipped();
    }
  }

  @Override
  public void restore() {
    FusedKernels.restore(embeddings, backup);
  }

  /** The perturbation kernels work on fp32 weights (fp32 master weights under mixed precision). */
  static TensorList requireFloat32(TensorList list) {
    if (list.size() > 0 && list.elementType() != TensorList.ElementType.FLOAT32) {
      throw new IllegalArgumentException(list.role() + " '" + list.names().get(0) + "' is "
          + list.elementType() + "; adversarial training perturbs FLOAT32 weights");
    }
    return list;
  }

  static List<Tensor> zerosLike(List<Tensor> tensors) {
    List<Tensor> zeros = new ArrayList<>();
    for (Tensor t : tensors) {
      zeros.add(t.detach().clone().zero_());
    }
    return zeros;
  }

  @Override
  public void close() {
    embeddings.close();
    backup.close();
  }
}

package dev.vidtag.train;

import dev.vidtag.kernels.FusedKernels;
import dev.vidtag.kernels.TensorList;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * An exponential moving average of a model's weights, updated with the fused kernel after each
 * optimizer step. Evaluation and checkpoints use the average by swapping it in and back out, so
 * no second copy of the model is allocated. Make it outside any PointerScope: it owns the shadow
 * tensors for the life of the training run.
 */
public final class ExponentialMovingAverage implements AutoCloseable {
  private final TensorList live;
  private final TensorList shadow;
  private final double decay;
  private boolean swapped;

  public ExponentialMovingAverage(List<String> names, List<Tensor> parameters, double decay) {
    if (!(decay >= 0 && decay <= 1)) {
      throw new IllegalArgumentException("EMA decay must be in [0, 1], got " + decay);
    }
    this.decay = decay;
    this.live = TensorList.of("parameters", names, parameters);
    List<Tensor> copies = new ArrayList<>();
    for (Tensor p : parameters) {
      copies.add(p.detach().clone());
    }
    this.shadow = TensorList.of("EMA shadow", names, copies);
  }

  public double decay() {
    return decay;
  }

  /** shadow = decay * shadow + (1 - decay) * live. */
  public void update() {
    if (swapped) {
      throw new IllegalStateException("EMA weights are swapped in; swap back before updating");
    }
    FusedKernels.emaUpdate(shadow, live, decay);
  }

  /** Runs {@code action} with the averaged weights in the model, then puts the live ones back. */
  public void withAveragedWeights(Runnable action) {
    swap();
    try {
      action.run();
    } finally {
      swap();
    }
  }

  private void swap() {
    FusedKernels.swap(live, shadow);
    swapped = !swapped;
  }

  /** The shadow tensors, in parameter order (for saving and resuming). */
  public List<Tensor> shadowTensors() {
    return shadow.tensors();
  }

  @Override
  public void close() {
    live.close();
    shadow.close();
  }
}

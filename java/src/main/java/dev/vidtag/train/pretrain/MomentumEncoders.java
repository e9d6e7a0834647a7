package dev.vidtag.train.pretrain;

import dev.vidtag.kernels.FusedKernels;
import dev.vidtag.kernels.TensorList;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Momentum copies of some parameters (ALBEF): after every optimizer step each copy moves
 * towards its live parameter, {@code copy = m * copy + (1 - m) * live}, through the fused EMA
 * kernel in one call over all of them. The copies start equal to the live parameters and get no
 * gradient. Build it outside any PointerScope: it holds the tensor lists for the run.
 */
public final class MomentumEncoders implements AutoCloseable {
  private final TensorList live;
  private final TensorList momentum;
  private final double decay;

  /**
   * @param live the live parameters by name
   * @param momentumModule a module holding a parameter of the same name and shape for each
   */
  public MomentumEncoders(Map<String, Tensor> live, Module momentumModule, double decay) {
    if (!(decay >= 0 && decay <= 1)) {
      throw new IllegalArgumentException("momentum must be in [0, 1], got " + decay);
    }
    this.decay = decay;
    Map<String, Tensor> copies = dev.vidtag.model.weights.StateDicts.parameters(momentumModule);
    List<String> names = new ArrayList<>(live.keySet());
    List<Tensor> liveTensors = new ArrayList<>();
    List<Tensor> copyTensors = new ArrayList<>();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      for (String name : names) {
        Tensor copy = copies.get(name);
        if (copy == null) {
          throw new IllegalArgumentException("no momentum copy of " + name);
        }
        copy.copy_(live.get(name));
        copy.set_requires_grad(false);
        liveTensors.add(live.get(name));
        copyTensors.add(copy);
      }
    }
    if (copies.size() != names.size()) {
      throw new IllegalArgumentException(copies.size() + " momentum parameters for "
          + names.size() + " live ones");
    }
    this.live = TensorList.of("live parameters", names, liveTensors);
    this.momentum = TensorList.of("momentum parameters", names, copyTensors);
  }

  public double decay() {
    return decay;
  }

  /** Sets every copy to its live parameter. */
  public void reset() {
    FusedKernels.emaUpdate(momentum, live, 0.0);
  }

  /** copy = decay * copy + (1 - decay) * live, for every pair. */
  public void update() {
    FusedKernels.emaUpdate(momentum, live, decay);
  }

  @Override
  public void close() {
    live.close();
    momentum.close();
  }
}

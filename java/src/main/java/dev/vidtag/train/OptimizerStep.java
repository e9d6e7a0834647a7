package dev.vidtag.train;

import dev.vidtag.data.Seeds;
import dev.vidtag.kernels.TensorList;
import dev.vidtag.model.Dropout;
import dev.vidtag.train.ParameterGroups.LearningRates;
import java.util.List;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The optimizer step that fine-tuning and pretraining share: AdamW over the reference's
 * parameter groups (weight decay 0.01 except biases and LayerNorm weights, eps 1e-6), the
 * learning rate of each step from the schedule, dropout reseeded from (seed, step) before each
 * step, optional gradient clipping, and a guard that skips a step with a non-finite loss or
 * gradient (and stops the run after {@value #MAX_CONSECUTIVE_SKIPS} in a row).
 *
 * <p>Steps are numbered from 1: {@link #begin} and {@link #finish} of one step take the same
 * number, the schedule gives that step its factor at index {@code step - 1}. Build it outside any
 * pointer scope; run each step inside one.
 */
public final class OptimizerStep implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(OptimizerStep.class);
  static final int MAX_CONSECUTIVE_SKIPS = 20;
  private static final double WEIGHT_DECAY = 0.01;
  private static final double EPSILON = 1e-6;
  /** Mixed into the run's seed for dropout, apart from every other random stream of a run. */
  private static final long DROPOUT_STREAM = 0x64726f70L;

  /**
   * @param learningRates the peak rates of the parameter groups
   * @param schedule the factor on them per step
   * @param clipGradNorm the norm gradients are clipped to before the update; 0 for none
   * @param seed the run's seed
   */
  public record Settings(LearningRates learningRates, LearningRateSchedule schedule,
      double clipGradNorm, long seed) {}

  private final TrainedParameters parameters;
  private final Dropout dropout;
  private final Settings settings;
  private final List<ParameterGroups.Group> groups;
  private final AdamW optimizer;
  private final TensorList trained;
  private NonFiniteGuard guard = new NonFiniteGuard(MAX_CONSECUTIVE_SKIPS);
  private double learningRate;

  /** A step over {@code parameters}, reseeding {@code dropout} (the model's) before each. */
  public OptimizerStep(TrainedParameters parameters, Dropout dropout, Settings settings) {
    this.parameters = parameters;
    this.dropout = dropout;
    this.settings = settings;
    this.groups = ParameterGroups.of(parameters.names(), parameters.tensors(),
        settings.learningRates(), WEIGHT_DECAY);
    this.optimizer = ParameterGroups.adamW(groups, EPSILON);
    this.trained = TensorList.of("parameters", parameters.names(), parameters.tensors());
  }

  /**
   * Starts step {@code step}: dropout reseeded, the learning rates set, the gradients zeroed.
   * Returns the first group's learning rate.
   */
  public double begin(long step) {
    dropout.reseed(Seeds.mix(settings.seed(), step, DROPOUT_STREAM));
    double factor = settings.schedule().factor(step - 1);
    ParameterGroups.setLearningRates(optimizer, groups, factor);
    learningRate = groups.get(0).learningRate() * factor;
    zeroGradients();
    return learningRate;
  }

  /** Zeroes every gradient in place (the tensors stay, as adversarial passes expect). */
  public void zeroGradients() {
    optimizer.zero_grad(false);
  }

  /**
   * Ends step {@code step}: when the loss and every gradient are finite, clips and updates the
   * weights and returns true; otherwise counts a skipped step and returns false.
   *
   * @throws IllegalStateException when too many steps in a row were skipped
   */
  public boolean finish(long step, double loss) {
    boolean finite;
    try (TensorList gradients = TensorList.gradientsOf(trained)) {
      finite = guard.allowStep(step, loss, gradients);
    }
    if (!finite) {
      log.warn("step {}: non-finite loss or gradient, step skipped", step);
      return false;
    }
    if (settings.clipGradNorm() > 0) {
      torch.clip_grad_norm_(new TensorVector(parameters.tensors().toArray(new Tensor[0])),
          settings.clipGradNorm());
    }
    optimizer.step();
    return true;
  }

  /** The learning rate of the first group at the last {@link #begin}. */
  public double learningRate() {
    return learningRate;
  }

  /** AdamW itself: its state is what a resumed run needs besides the weights. */
  public AdamW optimizer() {
    return optimizer;
  }

  public TrainedParameters parameters() {
    return parameters;
  }

  /** Steps skipped so far for a non-finite loss or gradient. */
  public long skipped() {
    return guard.skipped();
  }

  /** Steps skipped in a row up to the last one. */
  public int consecutiveSkips() {
    return guard.consecutive();
  }

  /** Continues a resumed run's counts of skipped steps. */
  public void restoreSkips(long skipped, int consecutive) {
    guard = new NonFiniteGuard(MAX_CONSECUTIVE_SKIPS, skipped, consecutive);
  }

  @Override
  public void close() {
    trained.close();
  }
}

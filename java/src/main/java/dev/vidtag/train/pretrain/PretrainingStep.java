package dev.vidtag.train.pretrain;

import dev.vidtag.kernels.TensorList;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.train.NonFiniteGuard;
import dev.vidtag.train.ParameterGroups;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One optimizer step of a pretraining task: AdamW over the encoder and the heads (weight decay
 * 0.01 except biases and LayerNorm weights, eps 1e-6; the classifier and the BERT pooler are
 * not trained), the learning rate set by a schedule factor, steps with a non-finite loss or
 * gradient skipped, then the task's post-step work (momentum encoders). Build it outside any
 * PointerScope, run each step inside one.
 */
public final class PretrainingStep implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PretrainingStep.class);
  private final PretrainingTask task;
  private final List<ParameterGroups.Group> groups;
  private final AdamW optimizer;
  private final TensorList trained;
  private static final int MAX_CONSECUTIVE_SKIPS = 20;
  private final NonFiniteGuard guard;

  public PretrainingStep(PretrainingTask task, double learningRate) {
    this(task, learningRate, 0, 0);
  }

  /** A step that continues a resumed run's counts of skipped steps. */
  public PretrainingStep(PretrainingTask task, double learningRate, long skippedSteps,
      int consecutiveSkips) {
    this.task = task;
    this.guard = new NonFiniteGuard(MAX_CONSECUTIVE_SKIPS, skippedSteps, consecutiveSkips);
    List<String> names = new ArrayList<>();
    List<Tensor> parameters = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : StateDicts.parameters(task.model()).entrySet()) {
      if (e.getKey().startsWith("classifier.") || e.getKey().startsWith("bert.pooler.")) {
        e.getValue().set_requires_grad(false);
      } else {
        names.add(e.getKey());
        parameters.add(e.getValue());
      }
    }
    for (Map.Entry<String, Tensor> e : StateDicts.parameters(task.heads()).entrySet()) {
      if (e.getValue().requires_grad()) {
        names.add(e.getKey());
        parameters.add(e.getValue());
      }
    }
    groups = ParameterGroups.of(names, parameters,
        new ParameterGroups.LearningRates(learningRate, learningRate, learningRate), 0.01);
    optimizer = ParameterGroups.adamW(groups, 1e-6);
    trained = TensorList.of("parameters", names, parameters);
  }

  /** The optimizer (its state is what a resumed run needs besides the weights). */
  public AdamW optimizer() {
    return optimizer;
  }

  /** Steps skipped so far for a non-finite loss or gradient. */
  public long skipped() {
    return guard.skipped();
  }

  /** Steps skipped in a row up to the last one. */
  public int consecutiveSkips() {
    return guard.consecutive();
  }

  /**
   * Computes the batch's losses, back-propagates and updates the weights with the base rate
   * times {@code factor}; returns the loss terms (also when the step was skipped).
   */
  public Map<String, Double> run(ModelInputs batch, StepContext context, double factor) {
    ParameterGroups.setLearningRates(optimizer, groups, factor);
    optimizer.zero_grad(false);
    PretrainingLoss loss = task.loss(batch, context);
    loss.total().backward();
    Map<String, Double> values = loss.values();
    boolean allowed;
    try (TensorList gradients = TensorList.gradientsOf(trained)) {
      allowed = guard.allowStep(context.step() + 1, values.get("loss"), gradients);
    }
    if (allowed) {
      optimizer.step();
      task.afterOptimizerStep();
    } else {
      log.warn("step {}: non-finite loss or gradient, step skipped", context.step() + 1);
    }
    return values;
  }

  @Override
  public void close() {
    trained.close();
  }
}

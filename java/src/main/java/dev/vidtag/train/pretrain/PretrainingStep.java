package dev.vidtag.train.pretrain;

import dev.vidtag.model.ModelInputs;
import dev.vidtag.train.LearningRateSchedule;
import dev.vidtag.train.OptimizerStep;
import dev.vidtag.train.ParameterGroups.LearningRates;
import dev.vidtag.train.TrainedParameters;
import java.util.Map;

/**
 * One pretraining step, the twin of fine-tuning's: the task's losses of a batch and their
 * gradients, then the shared {@link OptimizerStep} over the encoder and the heads (the
 * classifier and the BERT pooler are not trained) and the task's post-step work (momentum
 * encoders). Build it outside any pointer scope; run each step inside one.
 */
public final class PretrainingStep implements AutoCloseable {
  private final PretrainingTask task;
  private final OptimizerStep optimizer;

  /** A step of the run's optimizer: one learning rate for every group, on a schedule. */
  public PretrainingStep(PretrainingTask task, double learningRate,
      LearningRateSchedule schedule, long seed) {
    this.task = task;
    TrainedParameters trained = TrainedParameters
        .of(task.model(), TrainedParameters.UNUSED_BY_PRETRAINING)
        .and(TrainedParameters.requiringGradients(task.heads()));
    this.optimizer = new OptimizerStep(trained, task.model().dropout(),
        new OptimizerStep.Settings(new LearningRates(learningRate, learningRate, learningRate),
            schedule, 0.0, seed));
  }

  /** A step at a constant learning rate (tests, benchmarks). */
  public PretrainingStep(PretrainingTask task, double learningRate) {
    this(task, learningRate, LearningRateSchedule.CONSTANT, 0);
  }

  public OptimizerStep optimizer() {
    return optimizer;
  }

  /**
   * Computes the batch's losses at the step {@code context} names, back-propagates and updates
   * the weights; returns the loss terms (also when the step was skipped).
   */
  public Map<String, Double> run(ModelInputs batch, StepContext context) {
    long step = context.step() + 1;
    optimizer.begin(step);
    PretrainingLoss loss = task.loss(batch, context);
    loss.total().backward();
    Map<String, Double> values = loss.values();
    if (optimizer.finish(step, values.get("loss"))) {
      task.afterOptimizerStep();
    }
    return values;
  }

  @Override
  public void close() {
    optimizer.close();
  }
}

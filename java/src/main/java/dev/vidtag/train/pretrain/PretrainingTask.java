package dev.vidtag.train.pretrain;

import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.VideoClassifierModel;
import org.bytedeco.pytorch.Module;

/**
 * One architecture's pretraining objectives around a classifier model: the losses of a batch,
 * the heads saved beside the model, and whatever must follow each optimizer step.
 */
public interface PretrainingTask extends AutoCloseable {

  /** The model whose encoder is pretrained (its classifier is not trained here). */
  VideoClassifierModel model();

  /** The pretraining heads: trained with the model, saved as a checkpoint's heads file. */
  Module heads();

  /**
   * The losses of one batch in training mode. Every random choice (masks, pairs) derives from
   * the step's seed, so a step is repeatable.
   */
  PretrainingLoss loss(ModelInputs batch, StepContext step);

  /** The masked-token head (Hugging Face's {@code cls.predictions.*}). */
  MlmHead mlmHead();

  /** Called when weights were loaded into the model or heads from outside (a text model's). */
  default void weightsLoaded() {}

  /** Called after every optimizer step (momentum encoders follow the model here). */
  default void afterOptimizerStep() {}

  @Override
  default void close() {}
}

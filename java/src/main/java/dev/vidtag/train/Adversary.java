package dev.vidtag.train;

import java.util.List;

/**
 * Adversarial training on the word embeddings: called after the clean backward and before the
 * optimizer step, it perturbs the embeddings, runs extra forward/backward passes, and leaves the
 * gradients the method prescribes with the embedding weights restored.
 */
public interface Adversary {

  /**
   * @param forwardBackward computes the loss on the current batch and calls backward (gradients
   *     accumulate)
   * @param zeroGradients zeroes every parameter's gradient in place (keeping the tensors)
   * @return the names of tensors left unperturbed because their gradient norm was zero or not
   *     finite, once per skipped perturbation
   */
  List<String> attack(Runnable forwardBackward, Runnable zeroGradients);

  /** No adversarial training. */
  Adversary NONE = (forwardBackward, zeroGradients) -> List.of();
}

package dev.vidtag.train;

import java.util.List;

/**
 * Adversarial training on the word embeddings, between the clean backward and the optimizer
 * step. The step drives it, so that its extra passes are in plain sight:
 *
 * <pre>{@code
 * loss(batch).backward();
 * for (int pass = 0; pass < adversary.passes(); pass++) {
 *   skipped.addAll(adversary.perturb(pass));
 *   loss(batch).backward();            // on the perturbed embeddings
 * }
 * adversary.restore();
 * }</pre>
 *
 * leaving the gradients the method prescribes with the embedding weights as they were.
 */
public interface Adversary {

  /** The extra forward/backward passes of one attack: 0 without one, 1 for FGM, K for PGD. */
  int passes();

  /**
   * Perturbs the embeddings for extra pass {@code pass} (from 0) from the gradients so far, and
   * leaves the gradients that pass accumulates into.
   *
   * @return the names of tensors left unperturbed because their gradient norm was zero or not
   *     finite
   */
  List<String> perturb(int pass);

  /** After the last pass: puts the embeddings back as they were before the attack. */
  void restore();

  /** No adversarial training. */
  Adversary NONE = new Adversary() {
    @Override
    public int passes() {
      return 0;
    }

    @Override
    public List<String> perturb(int pass) {
      throw new IllegalStateException("no adversary to perturb with");
    }

    @Override
    public void restore() {}
  };
}

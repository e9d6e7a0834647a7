package dev.vidtag.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.runtime.TorchRuntime;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * FGM, PGD and EMA against the reference's loops written with plain LibTorch ops on a toy
 * model (mean word embedding, then a linear classifier). Tolerance: 1e-5 relative (the
 * perturbation is computed in fp32 by the kernels and by LibTorch in slightly different orders).
 */
class AdversaryTest {
  private static final double TOLERANCE = 1e-5;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  /** embedding [20, 8], weight [5, 8], bias [5]; a batch of 6 videos of 4 tokens. */
  static final class Toy {
    final List<String> names = List.of("bert.embeddings.word_embeddings.weight", "classifier.weight",
        "classifier.bias");
    final List<Tensor> parameters = new ArrayList<>();
    final Tensor ids;
    final Tensor labels;

    Toy(long seed) {
      torch.manual_seed(seed);
      parameters.add(torch.randn(20, 8).set_requires_grad(true));
      parameters.add(torch.randn(5, 8).set_requires_grad(true));
      parameters.add(torch.randn(5).set_requires_grad(true));
      ids = torch.randint(20, new long[] {6, 4});
      labels = torch.randint(5, new long[] {6});
    }

    Tensor embedding() {
      return parameters.get(0);
    }

    void forwardBackward() {
      try (PointerScope scope = new PointerScope()) {
        Tensor text = torch.embedding(embedding(), ids).mean(1);
        Tensor logits = torch.linear(text, parameters.get(1), parameters.get(2));
        torch.nll_loss(torch.log_softmax(logits, 1), labels).backward();
      }
    }

    void zeroGradients() {
      for (Tensor p : parameters) {
        if (p.grad().defined()) {
          p.grad().zero_();
        }
      }
    }
  }

  private static void assertClose(Tensor expected, Tensor actual, String what) {
    double scale = expected.abs().max().item_double();
    double diff = actual.sub(expected).abs().max().item_double();
    assertTrue(diff <= TOLERANCE * Math.max(scale, 1e-30), what + ": " + diff + " vs scale " + scale);
  }

  /** The reference PGD (K steps), as its Python code reads, in LibTorch ops. */
  private static void referencePgd(Toy toy, int steps, double epsilon, double alpha) {
    List<Tensor> gradBackup = new ArrayList<>();
    for (Tensor p : toy.parameters) {
      gradBackup.add(p.grad().clone());
    }
    Tensor embBackup = toy.embedding().detach().clone();
    for (int t = 0; t < steps; t++) {
      try (NoGradGuard noGrad = new NoGradGuard()) {
        Tensor g = toy.embedding().grad();
        double norm = g.norm().item_double();
        if (norm != 0 && !Double.isNaN(norm)) {
          toy.embedding().add_(g.mul(new Scalar(alpha / norm)));
          Tensor r = toy.embedding().sub(embBackup);
          double rNorm = r.norm().item_double();
          if (rNorm > epsilon) {
            toy.embedding().copy_(embBackup.add(r.mul(new Scalar(epsilon / rNorm))));
          }
        }
      }
      if (t != steps - 1) {
        toy.zeroGradients();
      } else {
        for (int i = 0; i < gradBackup.size(); i++) {
          toy.parameters.get(i).grad().copy_(gradBackup.get(i));
        }
      }
      toy.forwardBackward();
    }
    try (NoGradGuard noGrad = new NoGradGuard()) {
      toy.embedding().copy_(embBackup);
    }
  }

  /** An attack as the fine-tuning step drives it: each pass perturbs, then runs forward/backward. */
  private static List<String> attack(Adversary adversary, Runnable forwardBackward) {
    List<String> skipped = new ArrayList<>();
    for (int pass = 0; pass < adversary.passes(); pass++) {
      skipped.addAll(adversary.perturb(pass));
      forwardBackward.run();
    }
    adversary.restore();
    return skipped;
  }

  @Test
  void pgdMatchesTheReferenceLoop() {
    // alpha 0.6 with epsilon 1.0 makes the third step project
    Toy ours = new Toy(11);
    Toy reference = new Toy(11);
    ours.forwardBackward();
    reference.forwardBackward();
    Tensor cleanEmbedding = ours.embedding().detach().clone();
    try (Pgd pgd = new Pgd(ours.names, ours.parameters, List.of(ours.names.get(0)),
        List.of(ours.embedding()), 3, 1.0, 0.6)) {
      List<String> skipped = attack(pgd, ours::forwardBackward);
      assertEquals(List.of(), skipped);
    }
    referencePgd(reference, 3, 1.0, 0.6);
    assertTrue(ours.embedding().equal(cleanEmbedding), "embeddings restored exactly");
    for (int i = 0; i < ours.parameters.size(); i++) {
      assertClose(reference.parameters.get(i).grad(), ours.parameters.get(i).grad(),
          "gradient of " + ours.names.get(i));
    }
  }

  @Test
  void pgdGradientsAreCleanPlusLastAdversarial() {
    Toy toy = new Toy(5);
    toy.forwardBackward();
    Tensor clean = toy.parameters.get(1).grad().clone();
    List<Tensor> lastAdversarial = new ArrayList<>();
    try (Pgd pgd = new Pgd(toy.names, toy.parameters, List.of(toy.names.get(0)),
        List.of(toy.embedding()), 2, 1.0, 0.3)) {
      int[] pass = {0};
      attack(pgd, () -> {
        pass[0]++;
        if (pass[0] == 2) {
          // what the last pass adds: its own gradient, measured from zero
          Tensor before = toy.parameters.get(1).grad().clone();
          toy.forwardBackward();
          lastAdversarial.add(toy.parameters.get(1).grad().sub(before));
        } else {
          toy.forwardBackward();
        }
      });
    }
    assertClose(clean.add(lastAdversarial.get(0)), toy.parameters.get(1).grad(), "clean + last");
  }

  @Test
  void fgmMatchesTheReference() {
    Toy ours = new Toy(3);
    Toy reference = new Toy(3);
    ours.forwardBackward();
    reference.forwardBackward();
    try (Fgm fgm = new Fgm(List.of(ours.names.get(0)), List.of(ours.embedding()), 0.75)) {
      attack(fgm, ours::forwardBackward);
    }
    Tensor backup = reference.embedding().detach().clone();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      Tensor g = reference.embedding().grad();
      reference.embedding().add_(g.mul(new Scalar(0.75 / g.norm().item_double())));
    }
    reference.forwardBackward();
    try (NoGradGuard noGrad = new NoGradGuard()) {
      reference.embedding().copy_(backup);
    }
    assertTrue(ours.embedding().equal(reference.embedding()), "restored");
    for (int i = 0; i < ours.parameters.size(); i++) {
      assertClose(reference.parameters.get(i).grad(), ours.parameters.get(i).grad(),
          "gradient of " + ours.names.get(i));
    }
  }

  @Test
  void pgdReportsAZeroGradientAndLeavesTheEmbeddings() {
    Toy toy = new Toy(8);
    toy.forwardBackward();
    toy.embedding().grad().zero_();
    Tensor before = toy.embedding().detach().clone();
    try (Pgd pgd = new Pgd(toy.names, toy.parameters, List.of(toy.names.get(0)),
        List.of(toy.embedding()), 1, 1.0, 0.3)) {
      List<String> skipped = attack(pgd, toy::forwardBackward);
      assertEquals(List.of("bert.embeddings.word_embeddings.weight"), skipped);
    }
    assertTrue(toy.embedding().equal(before));
  }

  @Test
  void emaFollowsItsFormulaAndSwapsBack() {
    Toy toy = new Toy(1);
    Tensor start = toy.parameters.get(1).detach().clone();
    try (ExponentialMovingAverage ema = new ExponentialMovingAverage(toy.names, toy.parameters, 0.9)) {
      try (NoGradGuard noGrad = new NoGradGuard()) {
        toy.parameters.get(1).add_(torch.ones(5, 8));
      }
      ema.update();
      // shadow = 0.9 * start + 0.1 * (start + 1) = start + 0.1
      Tensor expected = start.add(torch.full(new long[] {5, 8}, new Scalar(0.1)));
      assertClose(expected, ema.shadowTensors().get(1), "shadow");
      Tensor live = toy.parameters.get(1).detach().clone();
      ema.withAveragedWeights(() -> assertClose(expected, toy.parameters.get(1), "swapped in"));
      assertTrue(toy.parameters.get(1).equal(live), "live weights back");
    }
  }

  @Test
  void bf16EmbeddingsAreRefusedUpFrontWithTheirName() {
    Tensor half = torch.zeros(4).to(ScalarType.BFloat16);
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> new Pgd(List.of("w"), List.of(torch.zeros(4)),
            List.of("emb"), List.of(half), 3, 1.0, 0.3));
    assertEquals("embedding 'emb' is BFLOAT16; adversarial training perturbs FLOAT32 weights",
        e.getMessage());
  }
}

package dev.vidtag.train.pretrain;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * The pretraining losses on the rows they apply to. Each is a mean; with no row to average
 * (no token or frame chosen in a batch) it is a zero that still connects to the graph, never
 * 0/0.
 */
public final class PretrainingLosses {
  private PretrainingLosses() {}

  /** Cross-entropy of logits [M, C] against class ids [M] (masked tokens, matching pairs). */
  public static Tensor crossEntropy(Tensor logits, Tensor targets) {
    if (logits.size(0) == 0) {
      return logits.sum();
    }
    return torch.nll_loss(torch.log_softmax(logits, 1), targets);
  }

  /**
   * Masked frame modelling as noise-contrastive estimation: each prediction [M, H] is scored
   * against every candidate frame [N, H] by dot product, and the cross-entropy of those scores
   * is taken against the index of its own frame among the candidates, trueIndex [M].
   */
  public static Tensor frameNce(Tensor predicted, Tensor candidates, Tensor trueIndex) {
    if (predicted.size(0) == 0) {
      return predicted.sum().add(candidates.sum().mul(new Scalar(0.0)));
    }
    Tensor scores = predicted.matmul(candidates.t());
    return torch.nll_loss(torch.log_softmax(scores, 1), trueIndex);
  }

  /** Binary cross-entropy of matching logits [B] against 1 (matched) / 0 (mismatched). */
  public static Tensor matching(Tensor logits, Tensor matched) {
    return torch.binary_cross_entropy_with_logits(logits, matched, new TensorOptional(),
        new TensorOptional(), 1 /* mean */);
  }

  /**
   * ALBEF's image-text contrastive loss. Similarities are dot products of L2-normalised
   * features over the temperature; each video is scored against the batch's momentum text
   * features followed by the queued ones ({@code textAll} [B + Q, E]), and each text against
   * {@code imageAll}. The targets mix the momentum similarities' softmax (weight alpha) with
   * the one-hot of the true pair; the loss is the mean of both directions' soft cross-entropy.
   */
  public static Tensor contrastive(Tensor image, Tensor text, Tensor imageAll, Tensor textAll,
      Tensor imageMomentum, Tensor textMomentum, Tensor temperature, double alpha) {
    long batch = image.size(0);
    Tensor i2tTargets;
    Tensor t2iTargets;
    try (org.bytedeco.pytorch.NoGradGuard noGrad = new org.bytedeco.pytorch.NoGradGuard()) {
      Tensor t = temperature.detach();
      Tensor oneHot = torch.eye(batch, textAll.size(0),
          new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Float));
      Tensor i2tMomentum = imageMomentum.matmul(textAll.t()).div(t);
      Tensor t2iMomentum = textMomentum.matmul(imageAll.t()).div(t);
      i2tTargets = torch.softmax(i2tMomentum, 1).mul(new Scalar(alpha))
          .add(oneHot.mul(new Scalar(1 - alpha)));
      t2iTargets = torch.softmax(t2iMomentum, 1).mul(new Scalar(alpha))
          .add(oneHot.mul(new Scalar(1 - alpha)));
    }
    Tensor i2t = image.matmul(textAll.t()).div(temperature);
    Tensor t2i = text.matmul(imageAll.t()).div(temperature);
    return softCrossEntropy(i2t, i2tTargets).add(softCrossEntropy(t2i, t2iTargets))
        .div(new Scalar(2.0));
  }

  /** x / max(||x||, 1e-12) along the last dimension (a zero row stays zero). */
  public static Tensor normalize(Tensor x) {
    Tensor norm = x.mul(x).sum(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional())
        .clamp_min(new Scalar(1e-24)).sqrt(); // no infinite gradient at 0
    return x.div(norm);
  }

  /** Cross-entropy of logits [B, C] against soft targets [B, C] (rows summing to 1). */
  public static Tensor softCrossEntropy(Tensor logits, Tensor targets) {
    return torch.log_softmax(logits, 1).mul(targets).sum(new long[] {1}, false,
        new org.bytedeco.pytorch.ScalarTypeOptional()).neg().mean();
  }
}

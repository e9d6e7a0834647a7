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

  /** Cross-entropy of logits [M, V] against target ids [M]. */
  public static Tensor maskedTokens(Tensor logits, Tensor targets) {
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

  /** Cross-entropy of logits [B, C] against soft targets [B, C] (rows summing to 1). */
  public static Tensor softCrossEntropy(Tensor logits, Tensor targets) {
    return torch.log_softmax(logits, 1).mul(targets).sum(new long[] {1}, false,
        new org.bytedeco.pytorch.ScalarTypeOptional()).neg().mean();
  }
}

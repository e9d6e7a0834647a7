package dev.vidtag.infer;

import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * How an ensemble combines its models' logits into one row of scores per video. Either way the
 * result is a logit vector: its softmax is the ensemble's probability distribution and its argmax
 * the prediction.
 */
public enum Fuse {
  /**
   * {@code sum_i w_i * logits_i}, the weights as given (the reference: 0.5 and 0.5 on raw
   * logits).
   */
  LOGITS,
  /**
   * The mixture {@code sum_i (w_i / sum w) * softmax(logits_i)}, returned as its logarithm
   * (computed as a log-sum-exp of the models' log-probabilities, so a class no model believes in
   * stays finite instead of becoming log 0).
   */
  PROBS;

  /**
   * The fused scores of models' logits, each {@code [B, C]} float32 on one device.
   *
   * @param weights one positive weight per model
   */
  public Tensor combine(List<Tensor> logits, double[] weights) {
    if (logits.isEmpty() || logits.size() != weights.length) {
      throw new IllegalArgumentException(logits.size() + " logit tensors for " + weights.length
          + " weights");
    }
    if (this == LOGITS) {
      Tensor sum = logits.get(0).mul(new Scalar(weights[0]));
      for (int i = 1; i < logits.size(); i++) {
        sum = sum.add(logits.get(i).mul(new Scalar(weights[i])));
      }
      return sum;
    }
    double total = 0;
    for (double w : weights) {
      total += w;
    }
    TensorVector weighted = new TensorVector();
    for (int i = 0; i < logits.size(); i++) {
      weighted.push_back(logits.get(i).log_softmax(1).add(new Scalar(Math.log(weights[i] / total))));
    }
    return torch.stack(weighted, 0).logsumexp(new long[] {0}, false);
  }

  /**
   * The fused scores of models' logits of the same videos, in their order.
   *
   * @param weights one positive weight per model
   */
  public SplitLogits combineLogits(List<SplitLogits> parts, double[] weights) {
    if (parts.isEmpty()) {
      throw new IllegalArgumentException("no logits to fuse");
    }
    SplitLogits first = parts.get(0);
    int n = first.size();
    int classes = first.classes();
    for (SplitLogits part : parts) {
      if (!part.videoIds().equals(first.videoIds()) || part.classes() != classes) {
        throw new IllegalArgumentException("the models' logits are not of the same videos and "
            + "classes");
      }
    }
    try (PointerScope scope = new PointerScope()) {
      List<Tensor> tensors = parts.stream()
          .map(part -> VideoClassifier.floatTensor(part.values(), n, classes)).toList();
      return new SplitLogits(first.videoIds(), classes,
          VideoClassifier.floats(combine(tensors, weights), (long) n * classes));
    }
  }

  /** The name on the command line: {@code logits}, {@code probs}. */
  public String optionName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Fuse parse(String text) {
    String name = text.trim().toLowerCase(Locale.ROOT);
    for (Fuse f : values()) {
      if (f.optionName().equals(name)) {
        return f;
      }
    }
    throw new IllegalArgumentException("unknown fusion '" + text + "': expected logits or probs");
  }
}

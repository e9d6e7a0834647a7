package dev.vidtag.train.pretrain;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * A step's weighted total and each unweighted term by name (e.g. mlm, mfm, itm), in the order
 * they are logged.
 */
public record PretrainingLoss(Tensor total, Map<String, Tensor> terms) {
  public PretrainingLoss {
    terms = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(terms));
  }

  /** The values of the total and of every term, for the metrics log. */
  public Map<String, Double> values() {
    Map<String, Double> out = new LinkedHashMap<>();
    out.put("loss", total.item_double());
    terms.forEach((name, term) -> out.put(name, term.item_double()));
    return out;
  }
}

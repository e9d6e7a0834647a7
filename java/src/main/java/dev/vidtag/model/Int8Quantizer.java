package dev.vidtag.model;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * Quantizes a model's linear layers to int8 weights at one {@link Int8WeightRange}, and keeps
 * every layer it made, so that the model frees them with its own weights.
 */
final class Int8Quantizer {
  private final Int8WeightRange range;
  private final List<Int8Linear> made = new ArrayList<>();

  Int8Quantizer(Int8WeightRange range) {
    this.range = range;
  }

  Int8Linear quantize(Tensor weight, Tensor bias) {
    Int8Linear linear = Int8Linear.quantize(weight, bias, range);
    made.add(linear);
    return linear;
  }

  /** Frees every layer made; they must not run again. */
  void release() {
    made.forEach(Int8Linear::release);
    made.clear();
  }
}

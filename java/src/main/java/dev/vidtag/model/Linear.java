package dev.vidtag.model;

import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * A linear layer of the models: LibTorch's {@code LinearImpl}, registered in its parent under the
 * checkpoint's name (so {@code name.weight} and {@code name.bias} stay the saved names), which can
 * switch to int8 weights ({@link Int8Linear}) for inference.
 */
final class Linear {
  private final LinearImpl fp;
  private Int8Linear int8;

  Linear(Module parent, String name, int in, int out) {
    fp = parent.register_module(name, new LinearImpl(in, out));
  }

  Tensor forward(Tensor x) {
    return int8 != null ? int8.forward(x) : fp.forward(x);
  }

  /** From now on, forward runs with int8 weights quantized from the current ones. */
  void quantizeInt8(Int8Quantizer quantizer) {
    int8 = quantizer.quantize(fp.weight(), fp.bias());
  }

  boolean isInt8() {
    return int8 != null;
  }

  Tensor weight() {
    return fp.weight();
  }

  Tensor bias() {
    return fp.bias();
  }
}

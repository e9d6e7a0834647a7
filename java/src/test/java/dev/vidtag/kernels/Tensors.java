package dev.vidtag.kernels;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Small helpers for comparing kernel results with plain LibTorch computations. */
final class Tensors {
  private Tensors() {}

  static List<Tensor> randomList(long[][] shapes, double scale) {
    List<Tensor> list = new ArrayList<>();
    for (long[] shape : shapes) {
      list.add(torch.randn(shape).mul(new Scalar(scale)));
    }
    return list;
  }

  static List<Tensor> clones(List<Tensor> tensors) {
    List<Tensor> copies = new ArrayList<>();
    for (Tensor t : tensors) {
      copies.add(t.clone());
    }
    return copies;
  }

  static List<Tensor> toBf16(List<Tensor> tensors) {
    List<Tensor> converted = new ArrayList<>();
    for (Tensor t : tensors) {
      converted.add(t.to(ScalarType.BFloat16));
    }
    return converted;
  }

  static List<String> names(int count) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      names.add("t" + i);
    }
    return names;
  }

  static TensorList list(String role, List<Tensor> tensors) {
    return TensorList.of(role, names(tensors.size()), tensors);
  }

  /** max |ours - expected| / max |expected|, in float64 (the plain difference when expected is 0). */
  static double relativeError(Tensor ours, Tensor expected) {
    if (expected.numel() == 0) {
      return 0.0;
    }
    Tensor e = expected.to(ScalarType.Double);
    double diff = ours.to(ScalarType.Double).sub(e).abs().max().item_double();
    double scale = e.abs().max().item_double();
    return scale == 0.0 ? diff : diff / scale;
  }

  static boolean identical(Tensor a, Tensor b) {
    return a.numel() == b.numel() && (a.numel() == 0 || a.equal(b));
  }
}

package dev.vidtag.model.weights;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;

/** A module's tensors by registered path, and loading named tensors into them. */
public final class StateDicts {
  private StateDicts() {}

  /** Parameters, then buffers, by their registered path: live aliases of the module's tensors. */
  public static Map<String, Tensor> of(Module module) {
    Map<String, Tensor> out = parameters(module);
    addAll(out, module.named_buffers(true));
    return out;
  }

  /** The parameters by their registered path: live aliases, valid as long as the module. */
  public static Map<String, Tensor> parameters(Module module) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    addAll(out, module.named_parameters(true));
    return out;
  }

  /**
   * A dictionary item's value is a reference into the dictionary, which is freed with it: each
   * tensor is copied into a handle of its own (sharing the storage and the autograd identity).
   */
  private static void addAll(Map<String, Tensor> out, StringTensorDict dict) {
    for (long i = 0; i < dict.size(); i++) {
      out.put(dict.get(i).key().getString(), new Tensor(dict.get(i).value()));
    }
  }

  /**
   * Copies every source tensor whose name is one of the module's into it (converting the dtype,
   * e.g. a fp16 checkpoint into fp32 weights). A name whose shape differs is an error naming the
   * file, the tensor and both shapes; checked for all tensors before anything is copied.
   */
  public static LoadReport load(Module module, Map<String, Tensor> source, Path file) {
    Map<String, Tensor> target = of(module);
    List<String> missing = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : target.entrySet()) {
      Tensor from = source.get(e.getKey());
      if (from == null) {
        missing.add(e.getKey());
      } else if (!Arrays.equals(shape(from), shape(e.getValue()))) {
        throw WeightFormatException.of(file, e.getKey(), "shape " + Arrays.toString(shape(from))
            + " does not match the model's " + Arrays.toString(shape(e.getValue())));
      }
    }
    List<String> unexpected = new ArrayList<>();
    for (String name : source.keySet()) {
      if (!target.containsKey(name)) {
        unexpected.add(name);
      }
    }
    try (NoGradGuard noGrad = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : target.entrySet()) {
        Tensor from = source.get(e.getKey());
        if (from != null) {
          e.getValue().copy_(from);
        }
      }
    }
    return new LoadReport(missing, unexpected);
  }

  /** Renames keys (a null new name drops the tensor), keeping order. */
  public static Map<String, Tensor> rename(Map<String, Tensor> source,
      Function<String, String> renaming) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : source.entrySet()) {
      String name = renaming.apply(e.getKey());
      if (name != null) {
        out.put(name, e.getValue());
      }
    }
    return out;
  }

  public static long[] shape(Tensor t) {
    long[] s = new long[(int) t.dim()];
    for (int i = 0; i < s.length; i++) {
      s[i] = t.size(i);
    }
    return s;
  }
}

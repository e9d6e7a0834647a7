package dev.vidtag.train;

import dev.vidtag.model.weights.StateDicts;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * The parameters a run trains, by name, in their module's order (the optimizer groups, EMA and
 * gradient checks follow it). Parameters a rule freezes stop requiring gradients.
 */
public record TrainedParameters(List<String> names, List<Tensor> tensors) {
  /** The BERT pooler feeds no output of these classifiers: it would never get a gradient. */
  public static final Predicate<String> UNUSED_BY_CLASSIFIERS =
      name -> name.startsWith("bert.pooler.");
  /** Pretraining trains the encoder, not the classifier. */
  public static final Predicate<String> UNUSED_BY_PRETRAINING =
      UNUSED_BY_CLASSIFIERS.or(name -> name.startsWith("classifier."));

  public TrainedParameters {
    if (names.size() != tensors.size()) {
      throw new IllegalArgumentException(names.size() + " names for " + tensors.size()
          + " parameters");
    }
    names = List.copyOf(names);
    tensors = List.copyOf(tensors);
  }

  /** The module's parameters but those {@code frozen} names, which are frozen. */
  public static TrainedParameters of(Module module, Predicate<String> frozen) {
    List<String> names = new ArrayList<>();
    List<Tensor> tensors = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : StateDicts.parameters(module).entrySet()) {
      if (frozen.test(e.getKey())) {
        e.getValue().set_requires_grad(false);
      } else {
        names.add(e.getKey());
        tensors.add(e.getValue());
      }
    }
    return new TrainedParameters(names, tensors);
  }

  /** The module's parameters that require gradients (a head's, beside its frozen copies). */
  public static TrainedParameters requiringGradients(Module module) {
    List<String> names = new ArrayList<>();
    List<Tensor> tensors = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : StateDicts.parameters(module).entrySet()) {
      if (e.getValue().requires_grad()) {
        names.add(e.getKey());
        tensors.add(e.getValue());
      }
    }
    return new TrainedParameters(names, tensors);
  }

  /** These parameters followed by {@code more}'s. */
  public TrainedParameters and(TrainedParameters more) {
    List<String> allNames = new ArrayList<>(names);
    allNames.addAll(more.names);
    List<Tensor> all = new ArrayList<>(tensors);
    all.addAll(more.tensors);
    return new TrainedParameters(allNames, all);
  }

  public Tensor get(String name) {
    int index = names.indexOf(name);
    if (index < 0) {
      throw new IllegalArgumentException("no trained parameter " + name);
    }
    return tensors.get(index);
  }
}

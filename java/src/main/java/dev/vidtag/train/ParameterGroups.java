package dev.vidtag.train;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * The reference's optimizer groups: parameters under {@code bert.}, under
 * {@code multi_head_decoder.} and the rest, each with its own learning rate, each split into
 * weights that decay and those that do not (names containing "bias" or "LayerNorm.weight", the
 * reference's rule, which leaves the decoder's norm1..3 weights decaying).
 */
public final class ParameterGroups {
  private ParameterGroups() {}

  /** One optimizer group. */
  public record Group(String name, List<String> parameterNames, List<Tensor> parameters,
      double learningRate, double weightDecay) {}

  /** Learning rates per part of the model (the reference: 7e-5, 8e-5, 5e-5). */
  public record LearningRates(double bert, double decoder, double other) {
    public static final LearningRates REFERENCE = new LearningRates(7e-5, 8e-5, 5e-5);
  }

  public static boolean decays(String parameterName) {
    return !(parameterName.contains("bias") || parameterName.contains("LayerNorm.weight"));
  }

  /** The groups, in a fixed order, leaving out empty ones. */
  public static List<Group> of(List<String> names, List<Tensor> parameters, LearningRates rates,
      double weightDecay) {
    if (names.size() != parameters.size()) {
      throw new IllegalArgumentException(names.size() + " names for " + parameters.size()
          + " parameters");
    }
    String[] parts = {"bert", "multi_head_decoder", "other"};
    double[] partRates = {rates.bert(), rates.decoder(), rates.other()};
    List<Group> groups = new ArrayList<>();
    for (int part = 0; part < parts.length; part++) {
      for (boolean decay : new boolean[] {true, false}) {
        List<String> groupNames = new ArrayList<>();
        List<Tensor> groupParameters = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
          String name = names.get(i);
          if (partOf(name).equals(parts[part]) && decays(name) == decay) {
            groupNames.add(name);
            groupParameters.add(parameters.get(i));
          }
        }
        if (!groupNames.isEmpty()) {
          groups.add(new Group(parts[part] + (decay ? "" : " (no decay)"), groupNames,
              groupParameters, partRates[part], decay ? weightDecay : 0.0));
        }
      }
    }
    return groups;
  }

  private static String partOf(String name) {
    if (name.startsWith("bert.")) {
      return "bert";
    }
    if (name.startsWith("multi_head_decoder.")) {
      return "multi_head_decoder";
    }
    return "other";
  }

  /** AdamW over the groups, each with its own learning rate and weight decay. */
  public static AdamW adamW(List<Group> groups, double eps) {
    if (groups.isEmpty()) {
      throw new IllegalArgumentException("no parameters to optimize");
    }
    AdamW optimizer = null;
    for (int g = 0; g < groups.size(); g++) {
      Group group = groups.get(g);
      TensorVector tensors = new TensorVector(group.parameters().toArray(new Tensor[0]));
      if (optimizer == null) {
        AdamWOptions options = new AdamWOptions(group.learningRate());
        options.weight_decay().put(group.weightDecay());
        options.eps().put(eps);
        optimizer = new AdamW(tensors, options);
      } else {
        optimizer.add_param_group(new OptimizerParamGroup(tensors));
        AdamWOptions options = new AdamWOptions(optimizer.param_groups().get(g).options());
        options.lr().put(group.learningRate());
        options.weight_decay().put(group.weightDecay());
        options.eps().put(eps);
      }
    }
    return optimizer;
  }

  /** Sets every group's learning rate to its base rate times a schedule factor. */
  public static void setLearningRates(AdamW optimizer, List<Group> groups, double factor) {
    for (int g = 0; g < groups.size(); g++) {
      optimizer.param_groups().get(g).options().set_lr(groups.get(g).learningRate() * factor);
    }
  }
}

package dev.vidtag.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vidtag.runtime.TorchRuntime;
import java.util.List;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class ScheduleAndGroupsTest {
  @Test
  void warmupThenLinearDecayByHand() {
    LinearWarmupDecay schedule = LinearWarmupDecay.withWarmupFraction(100, 0.06);
    assertEquals(6, schedule.warmupSteps());
    assertEquals(0.0, schedule.factor(0));
    assertEquals(0.5, schedule.factor(3));
    assertEquals(1.0, schedule.factor(6));
    assertEquals(0.5, schedule.factor(53));
    assertEquals(1.0 / 94, schedule.factor(99), 1e-15);
    assertEquals(0.0, schedule.factor(100));
    assertEquals(0.0, schedule.factor(150));
    assertThrows(IllegalArgumentException.class, () -> new LinearWarmupDecay(10, 11));
  }

  @Test
  void groupsFollowTheReferenceNamesAndDecayRule() {
    TorchRuntime.initialize();
    List<String> names = List.of(
        "bert.embeddings.word_embeddings.weight",
        "bert.embeddings.LayerNorm.weight",
        "bert.encoder.layer.0.attention.self.query.bias",
        "multi_head_decoder.layers.0.linear1.weight",
        "multi_head_decoder.layers.0.norm1.weight",
        "multi_head_decoder.layers.0.self_attn.in_proj_bias",
        "video_fc.weight",
        "classifier.bias");
    List<Tensor> tensors = names.stream().map(n -> torch.zeros(2)).toList();
    List<ParameterGroups.Group> groups = ParameterGroups.of(names, tensors,
        ParameterGroups.LearningRates.REFERENCE, 0.01);
    assertEquals(List.of("bert", "bert (no decay)", "multi_head_decoder",
        "multi_head_decoder (no decay)", "other", "other (no decay)"),
        groups.stream().map(ParameterGroups.Group::name).toList());
    assertEquals(List.of("bert.embeddings.word_embeddings.weight"), groups.get(0).parameterNames());
    assertEquals(List.of("bert.embeddings.LayerNorm.weight",
        "bert.encoder.layer.0.attention.self.query.bias"), groups.get(1).parameterNames());
    // the reference's substring rule keeps decay on the decoder's norm weights
    assertEquals(List.of("multi_head_decoder.layers.0.linear1.weight",
        "multi_head_decoder.layers.0.norm1.weight"), groups.get(2).parameterNames());
    assertEquals(7e-5, groups.get(1).learningRate());
    assertEquals(0.0, groups.get(1).weightDecay());
    assertEquals(8e-5, groups.get(2).learningRate());
    assertEquals(5e-5, groups.get(5).learningRate());

    AdamW optimizer = ParameterGroups.adamW(groups, 1e-6);
    assertEquals(6, optimizer.param_groups().size());
    ParameterGroups.setLearningRates(optimizer, groups, 0.5);
    for (int g = 0; g < groups.size(); g++) {
      AdamWOptions options = new AdamWOptions(optimizer.param_groups().get(g).options());
      assertEquals(groups.get(g).learningRate() * 0.5, options.get_lr(), 1e-20);
      assertEquals(groups.get(g).weightDecay(), options.weight_decay().get(), 0.0);
      assertEquals(1e-6, options.eps().get(), 0.0);
    }
  }
}

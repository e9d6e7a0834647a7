package dev.vidtag.train.pretrain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.SingleStreamModel;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.runtime.TorchRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One single-stream pretraining step on a tiny model: pairs, masks, gradients, finiteness. */
class SingleStreamPretrainingTest {
  static final int VOCAB = 50;

  @BeforeAll
  static void start() {
    TorchRuntime.initialize();
  }

  static SingleStreamPretraining task() {
    return task(LossWeights.REFERENCE);
  }

  static SingleStreamPretraining task(LossWeights weights) {
    BertConfig text = new BertConfig(VOCAB, 32, 2, 2, 64, 64, 2, 1e-12, 0.0, 0.0, "gelu");
    torch.manual_seed(3);
    SingleStreamModel model = (SingleStreamModel) VideoClassifierModel.create(
        new ModelConfig(Architecture.SINGLE, 200, 8, 6, 10, Pooling.MEAN_MASKED, null, text));
    model.train(true);
    return new SingleStreamPretraining(model,
        new MlmMasking(VOCAB, 4, new int[] {0, 2, 3}, null, 1, 0.15), new MfmMasking(0.135),
        weights);
  }

  /** Four videos with 6, 3, 0 and 5 real frames; texts of 10, 7, 4 and 10 tokens. */
  static ModelInputs batch() {
    int[] frames = {6, 3, 0, 5};
    int[] texts = {10, 7, 4, 10};
    Tensor frameMask = torch.arange(new Scalar(6L)).unsqueeze(0).lt(lengths(frames).unsqueeze(1));
    Tensor textMask = torch.arange(new Scalar(10L)).unsqueeze(0).lt(lengths(texts).unsqueeze(1));
    Tensor ids = torch.randint(5, VOCAB, new long[] {4, 10}, new TensorOptions(ScalarType.Long));
    ids = ids.masked_fill(textMask.logical_not(), new Scalar(0L));
    ids.select(1, 0).fill_(new Scalar(2L));
    Tensor feats = torch.randn(new long[] {4, 6, 8}, new TensorOptions(ScalarType.Float))
        .mul(frameMask.unsqueeze(2).to(ScalarType.Float));
    return new ModelInputs(ids, textMask, feats, frameMask);
  }

  static Tensor lengths(int[] values) {
    long[] l = new long[values.length];
    for (int i = 0; i < l.length; i++) {
      l[i] = values[i];
    }
    Tensor t = torch.zeros(new long[] {l.length}, new TensorOptions(ScalarType.Long));
    t.data_ptr_long().put(l, 0, l.length);
    return t;
  }

  static long[] longs(Tensor t) {
    long[] out = new long[(int) t.numel()];
    t.to(ScalarType.Long).contiguous().data_ptr_long().get(out);
    return out;
  }

  @Test
  void frameMasksMoveWithTheFramesAndOnlyRealFramesAreCandidates() {
    SingleStreamPretraining task = task();
    ModelInputs batch = batch();
    for (long seed = 0; seed < 8; seed++) {
      SingleStreamPretraining.Step step = task.step(batch, seed);
      Tensor expectedMask = batch.frameMask().index_select(0, step.pairs().frameSourceTensor());
      assertArrayEquals(longs(expectedMask), longs(step.frameMask()), "seed " + seed);
      long[] realPerVideo = {6, 3, 0, 5};
      long real = 0;
      for (long source : step.pairs().frameSource()) {
        real += realPerVideo[(int) source];
      }
      assertEquals(real, step.candidateFrames(), "candidates are the real frames after pairing");
      long[] chosen = longs(step.chosenFrames());
      long[] mask = longs(step.frameMask());
      for (int i = 0; i < chosen.length; i++) {
        assertTrue(chosen[i] <= mask[i], "a padded frame was chosen");
      }
      for (Map.Entry<String, Double> term : step.loss().values().entrySet()) {
        assertTrue(Double.isFinite(term.getValue()), term.getKey() + " " + term.getValue());
      }
    }
  }

  @Test
  void theEncodersFrameInputsKeepTheirGradientIntoVideoFc() {
    // without MFM, video_fc is reached only through the frames the encoder reads
    SingleStreamPretraining task = task(new LossWeights(1, 0, 1));
    task.loss(batch(), new StepContext(5, 0, 1)).total().backward();
    Tensor videoFc = StateDicts.parameters(task.model()).get("video_fc.weight").grad();
    assertTrue(videoFc.defined() && videoFc.abs().sum().item_double() > 0);
  }

  @Test
  void totalIsTheWeightedSumAndGradientsReachVideoFcThroughTheFrames() {
    SingleStreamPretraining task = task();
    PretrainingLoss loss = task.loss(batch(), new StepContext(5, 0, 1));
    Map<String, Double> v = loss.values();
    assertEquals(v.get("mlm") / 1.25 + v.get("mfm") / 3 + v.get("itm"), v.get("loss"), 1e-5);
    loss.total().backward();
    Map<String, Tensor> parameters = StateDicts.parameters(task.model());
    Tensor videoFc = parameters.get("video_fc.weight").grad();
    assertTrue(videoFc.defined() && videoFc.abs().sum().item_double() > 0,
        "video_fc gets a gradient");
    for (String head : new String[] {"cls.predictions.transform.dense.weight",
        "cls.predictions.bias", "mfm_head.decoder.weight", "itm_head.weight"}) {
      Tensor g = StateDicts.parameters(task.heads()).get(head).grad();
      assertTrue(g.defined() && g.abs().sum().item_double() > 0, head + " gets a gradient");
    }
  }

  @Test
  void aCheckpointKeepsTheOptimizerStateForAResume(@TempDir Path dir) {
    SingleStreamPretraining task = task();
    ModelInputs batch = batch();
    PretrainingStep training = new PretrainingStep(task, 1e-3);
    training.run(batch, new StepContext(1, 0, 10));
    Path checkpoint = dir.resolve("step-000001");
    PretrainCheckpoint.save(checkpoint, task, null, new PretrainCheckpoint.Info("single", 1, 0,
        List.of("labeled"), Map.of("loss", 1.0), 0, 0), training.optimizer().optimizer());
    assertTrue(PretrainCheckpoint.isCheckpoint(checkpoint));
    Map<String, Tensor> live = new java.util.LinkedHashMap<>(StateDicts.parameters(task.model()));
    StateDicts.parameters(task.heads()).forEach((name, t) -> live.put("heads." + name, t));
    Map<String, Tensor> saved = new java.util.LinkedHashMap<>();
    live.forEach((name, t) -> saved.put(name, t.detach().clone()));

    Tensor continued = secondStep(training, batch, live, saved);
    PretrainingStep resumed = new PretrainingStep(task, 1e-3);
    PretrainCheckpoint.loadOptimizer(checkpoint, resumed.optimizer().optimizer());
    Tensor afterResume = secondStep(resumed, batch, live, saved);
    Tensor afterFreshStart = secondStep(new PretrainingStep(task, 1e-3), batch, live, saved);
    assertTrue(torch.allclose(continued, afterResume, 1e-6, 1e-9, false),
        "a resumed optimizer takes the step the uninterrupted one takes");
    assertTrue(!torch.allclose(continued, afterFreshStart, 1e-3, 1e-6, false),
        "a fresh optimizer would not");
  }

  /** The update of video_fc.weight that a second step makes from the saved weights. */
  private static Tensor secondStep(PretrainingStep training, ModelInputs batch,
      Map<String, Tensor> live, Map<String, Tensor> saved) {
    try (org.bytedeco.pytorch.NoGradGuard noGrad = new org.bytedeco.pytorch.NoGradGuard()) {
      live.forEach((name, t) -> t.copy_(saved.get(name)));
    }
    training.run(batch, new StepContext(2, 1, 10));
    return live.get("video_fc.weight").detach().sub(saved.get("video_fc.weight"));
  }
}

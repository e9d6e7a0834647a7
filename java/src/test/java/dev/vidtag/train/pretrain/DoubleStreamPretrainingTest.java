package dev.vidtag.train.pretrain;

import static dev.vidtag.train.pretrain.PretrainingLossesTest.floats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.DecoderConfig;
import dev.vidtag.model.DoubleStreamModel;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.runtime.TorchRuntime;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The double stream's contrastive loss, queues, momentum encoders, hard negatives and step. */
class DoubleStreamPretrainingTest {
  @BeforeAll
  static void start() {
    TorchRuntime.initialize();
  }

  static double[][] rows(Tensor t) {
    int r = (int) t.size(0);
    int c = (int) t.size(1);
    float[] flat = new float[r * c];
    t.contiguous().data_ptr_float().get(flat);
    double[][] out = new double[r][c];
    for (int i = 0; i < r; i++) {
      for (int j = 0; j < c; j++) {
        out[i][j] = flat[i * c + j];
      }
    }
    return out;
  }

  /** One direction of ALBEF's loss, naively in float64. */
  static double direction(double[][] query, double[][] queryMomentum, double[][] keysAll,
      double temp, double alpha) {
    double total = 0;
    for (int i = 0; i < query.length; i++) {
      double[] s = new double[keysAll.length];
      double[] sm = new double[keysAll.length];
      for (int j = 0; j < keysAll.length; j++) {
        for (int d = 0; d < keysAll[j].length; d++) {
          s[j] += query[i][d] * keysAll[j][d] / temp;
          sm[j] += queryMomentum[i][d] * keysAll[j][d] / temp;
        }
      }
      double lse = PretrainingLossesTest.logSumExp(s);
      double lsem = PretrainingLossesTest.logSumExp(sm);
      for (int j = 0; j < keysAll.length; j++) {
        double target = alpha * Math.exp(sm[j] - lsem) + (1 - alpha) * (i == j ? 1 : 0);
        total -= target * (s[j] - lse);
      }
    }
    return total / query.length;
  }

  @Test
  void contrastiveLossMatchesANaiveFloat64Computation() {
    Tensor image = PretrainingLosses.normalize(floats(new long[] {2, 2}, 1, 0.5, -0.2, 1));
    Tensor text = PretrainingLosses.normalize(floats(new long[] {2, 2}, 0.9, 0.4, 0.1, 1));
    Tensor imageM = PretrainingLosses.normalize(floats(new long[] {2, 2}, 1, 0.4, -0.3, 1));
    Tensor textM = PretrainingLosses.normalize(floats(new long[] {2, 2}, 0.8, 0.5, 0, 1));
    Tensor imageQueue = PretrainingLosses.normalize(floats(new long[] {1, 2}, -1, -1));
    Tensor textQueue = PretrainingLosses.normalize(floats(new long[] {1, 2}, 1, -1));
    Tensor imageAll = torch.cat(new org.bytedeco.pytorch.TensorVector(imageM, imageQueue), 0);
    Tensor textAll = torch.cat(new org.bytedeco.pytorch.TensorVector(textM, textQueue), 0);
    Tensor temp = torch.full(new long[] {}, new Scalar(0.07), new TensorOptions(ScalarType.Float));
    double alpha = 0.3;
    double expected = (direction(rows(image), rows(imageM), rows(textAll), 0.07, alpha)
        + direction(rows(text), rows(textM), rows(imageAll), 0.07, alpha)) / 2;
    double actual = PretrainingLosses.contrastive(image, text, imageAll, textAll, imageM, textM,
        temp, alpha).item_double();
    assertEquals(expected, actual, 1e-5 * Math.abs(expected));
  }

  @Test
  void theQueueWrapsAroundAndKeepsTheNewestFeatures() {
    Module owner = new Module();
    FeatureQueue queue = new FeatureQueue(owner, "q", 3, 2);
    assertEquals(0, queue.position());
    double[][] initial = rows(queue.features());
    for (double[] row : initial) {
      assertEquals(1.0, Math.hypot(row[0], row[1]), 1e-5, "starts with unit vectors");
    }
    queue.enqueue(floats(new long[] {2, 2}, 1, 2, 3, 4));
    assertEquals(2, queue.position());
    queue.enqueue(floats(new long[] {2, 2}, 5, 6, 7, 8));
    assertEquals(1, queue.position());
    assertArrayEquals(new double[][] {{7, 8}, {3, 4}, {5, 6}}, rows(queue.features()));
    Map<String, Tensor> buffers = StateDicts.of(owner);
    assertTrue(buffers.containsKey("q") && buffers.containsKey("q_ptr"), buffers.keySet().toString());
    assertEquals(3, queue.withQueued(floats(new long[] {0, 2})).size(0));
  }

  @Test
  void momentumCopiesStartEqualAndMoveByTheDecay() {
    Module live = new Module();
    Tensor p = new Tensor(live.register_parameter("w", floats(new long[] {3}, 1, 2, 3)));
    Module copy = new Module();
    copy.register_parameter("w", torch.zeros(3));
    MomentumEncoders momentum = new MomentumEncoders(StateDicts.parameters(live), copy, 0.9);
    Tensor c = StateDicts.parameters(copy).get("w");
    assertTrue(torch.equal(c, p));
    assertTrue(!c.requires_grad());
    try (NoGradGuard noGrad = new NoGradGuard()) {
      p.copy_(floats(new long[] {3}, 11, 12, 13));
    }
    momentum.update();
    float[] got = new float[3];
    c.contiguous().data_ptr_float().get(got);
    assertArrayEquals(new float[] {0.9f * 1 + 0.1f * 11, 0.9f * 2 + 0.1f * 12,
        0.9f * 3 + 0.1f * 13}, got, 1e-6f);
    momentum.close();
  }

  @Test
  void hardNegativesAreNeverTheOwnPairAndFollowTheSimilarity() {
    // row i is most similar to column (i + 1) % 4, apart from itself
    Tensor similarity = torch.zeros(new long[] {4, 4}, new TensorOptions(ScalarType.Float));
    for (int i = 0; i < 4; i++) {
      similarity.select(0, i).select(0, i).fill_(new Scalar(1.0));
      similarity.select(0, i).select(0, (i + 1) % 4).fill_(new Scalar(5.0));
    }
    int[] preferred = new int[4];
    for (long seed = 0; seed < 200; seed++) {
      long[] picked = new long[4];
      HardNegatives.sample(similarity, torch.createCPUGenerator(seed)).data_ptr_long().get(picked);
      for (int i = 0; i < 4; i++) {
        assertNotEquals(i, picked[i]);
        preferred[i] += picked[i] == (i + 1) % 4 ? 1 : 0;
      }
    }
    for (int count : preferred) {
      // exp(5) against exp(0) + exp(0): about 98.7% of draws
      assertTrue(count > 185, "hard negative drawn " + count + " of 200 times");
    }
  }

  static DoubleStreamPretraining task(int queue) {
    BertConfig text = new BertConfig(50, 32, 2, 2, 64, 64, 2, 1e-12, 0.0, 0.0, "gelu");
    torch.manual_seed(4);
    DoubleStreamModel model = (DoubleStreamModel) VideoClassifierModel.create(new ModelConfig(
        Architecture.DOUBLE, 200, 8, 6, 10, Pooling.MEAN_MASKED,
        new DecoderConfig(1, 2, 64, 0.0, 1e-5), text));
    model.train(true);
    return new DoubleStreamPretraining(model,
        new MlmMasking(50, 4, new int[] {0, 2, 3}, null, 1, 0.15),
        new PretrainOptions.Contrastive(queue, 0.995, 0.07, 0.3));
  }

  @Test
  void aStepPairsEachVideoWithAHardNegativeTextAndEachTextWithAVideo() {
    DoubleStreamPretraining task = task(8);
    ModelInputs batch = SingleStreamPretrainingTest.batch();
    Map<String, Tensor> before = new java.util.LinkedHashMap<>();
    StateDicts.parameters(task.heads()).forEach((n, t) -> before.put(n, t.detach().clone()));
    DoubleStreamPretraining.Step step = task.step(batch, new StepContext(7, 2, 4));
    long[] labels = new long[12];
    step.itmLabels().data_ptr_long().get(labels);
    assertArrayEquals(new long[] {1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}, labels);
    long[] texts = new long[4];
    long[] videos = new long[4];
    step.negativeTexts().data_ptr_long().get(texts);
    step.negativeVideos().data_ptr_long().get(videos);
    for (int i = 0; i < 4; i++) {
      assertNotEquals(i, texts[i]);
      assertNotEquals(i, videos[i]);
    }
    Map<String, Double> values = step.loss().values();
    assertEquals(0.15, values.get("alpha"), 1e-6, "alpha ramps over the first epoch");
    assertEquals(values.get("mlm") + values.get("itc") + values.get("itm"), values.get("loss"),
        1e-5);
    assertEquals(4, task.imageQueue().position());
    assertEquals(4, task.textQueue().position());

    step.loss().total().backward();
    Map<String, Tensor> heads = StateDicts.parameters(task.heads());
    for (String name : new String[] {"temp", "text_proj.weight", "vision_proj.weight",
        "itm_head.weight", "cls.predictions.bias"}) {
      Tensor g = heads.get(name).grad();
      assertTrue(g.defined() && g.abs().sum().item_double() > 0, name + " gets a gradient");
    }
    Tensor decoderGrad = StateDicts.parameters(task.model()).entrySet().stream()
        .filter(e -> e.getKey().startsWith("multi_head_decoder.")).findFirst().orElseThrow()
        .getValue().grad();
    assertTrue(decoderGrad.defined() && decoderGrad.abs().sum().item_double() > 0);
    assertTrue(!heads.get("momentum.text_proj.weight").grad().defined(),
        "momentum encoders get no gradient");

    // a parameter step, then the momentum copy moves 0.5% of the way
    try (NoGradGuard noGrad = new NoGradGuard()) {
      heads.get("text_proj.weight").add_(new Scalar(1.0));
    }
    task.afterOptimizerStep();
    Tensor expected = before.get("momentum.text_proj.weight").mul(new Scalar(0.995))
        .add(heads.get("text_proj.weight").detach().mul(new Scalar(0.005)));
    assertTrue(torch.allclose(expected, heads.get("momentum.text_proj.weight"), 1e-6, 1e-7,
        false));
  }

  @Test
  void alphaReachesItsValueAfterTheFirstEpoch() {
    DoubleStreamPretraining task = task(8);
    assertEquals(0.0, task.alpha(new StepContext(0, 0, 10)));
    assertEquals(0.15, task.alpha(new StepContext(0, 5, 10)), 1e-12);
    assertEquals(0.3, task.alpha(new StepContext(0, 10, 10)), 1e-12);
    assertEquals(0.3, task.alpha(new StepContext(0, 25, 10)), 1e-12);
  }
}

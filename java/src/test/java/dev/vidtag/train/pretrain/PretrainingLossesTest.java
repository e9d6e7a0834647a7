package dev.vidtag.train.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vidtag.runtime.TorchRuntime;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each loss against a value computed by hand in float64 from its definition. Tolerance: 1e-6
 * relative (the losses run in float32).
 */
class PretrainingLossesTest {
  @BeforeAll
  static void start() {
    TorchRuntime.initialize();
  }

  static Tensor floats(long[] shape, double... values) {
    float[] f = new float[values.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) values[i];
    }
    Tensor t = torch.empty(shape, new TensorOptions(ScalarType.Float), new MemoryFormatOptional());
    if (f.length > 0) {
      t.data_ptr_float().put(f, 0, f.length);
    }
    return t;
  }

  static Tensor longs(long... values) {
    Tensor t = torch.empty(new long[] {values.length}, new TensorOptions(ScalarType.Long),
        new MemoryFormatOptional());
    if (values.length > 0) {
      t.data_ptr_long().put(values, 0, values.length);
    }
    return t;
  }

  static double logSumExp(double... x) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : x) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (double v : x) {
      sum += Math.exp(v - max);
    }
    return max + Math.log(sum);
  }

  static void assertClose(double expected, double actual) {
    assertEquals(expected, actual, 1e-6 * Math.max(1, Math.abs(expected)));
  }

  @Test
  void crossEntropyIsTheMeanOverTheRows() {
    Tensor logits = floats(new long[] {2, 3}, 1.0, 2.0, 0.5, -1.0, 0.0, 3.0);
    double expected = ((logSumExp(1, 2, 0.5) - 2.0) + (logSumExp(-1, 0, 3) - (-1.0))) / 2;
    assertClose(expected, PretrainingLosses.crossEntropy(logits, longs(1, 0)).item_double());
  }

  @Test
  void frameNceScoresEachPredictionAgainstEveryCandidateByDotProduct() {
    // two predictions, three candidate frames in 2-d
    Tensor predicted = floats(new long[] {2, 2}, 1.0, 0.0, 0.5, -1.0);
    Tensor candidates = floats(new long[] {3, 2}, 2.0, 1.0, 0.0, 1.0, -1.0, 0.5);
    // prediction 0 scores 2, 0, -1 (truth 0); prediction 1 scores 0, -1, -1 (truth 2)
    double expected = ((logSumExp(2, 0, -1) - 2) + (logSumExp(0, -1, -1) - (-1))) / 2;
    assertClose(expected,
        PretrainingLosses.frameNce(predicted, candidates, longs(0, 2)).item_double());
  }

  @Test
  void matchingIsBinaryCrossEntropyOnLogits() {
    Tensor logits = floats(new long[] {3}, 2.0, -1.0, 0.5);
    Tensor matched = floats(new long[] {3}, 1, 0, 0);
    double expected = (Math.log1p(Math.exp(-2.0)) + Math.log1p(Math.exp(-1.0))
        + Math.log1p(Math.exp(0.5))) / 3;
    assertClose(expected, PretrainingLosses.matching(logits, matched).item_double());
  }

  @Test
  void softCrossEntropyWeighsEveryClassByItsTarget() {
    Tensor logits = floats(new long[] {1, 3}, 1.0, 0.0, -1.0);
    Tensor targets = floats(new long[] {1, 3}, 0.7, 0.2, 0.1);
    double lse = logSumExp(1, 0, -1);
    double expected = -(0.7 * (1 - lse) + 0.2 * (0 - lse) + 0.1 * (-1 - lse));
    assertClose(expected, PretrainingLosses.softCrossEntropy(logits, targets).item_double());
  }

  @Test
  void noRowsGiveZeroNotNaN() {
    Tensor none = torch.zeros(new long[] {0, 4}, new TensorOptions(ScalarType.Float));
    assertEquals(0.0, PretrainingLosses.crossEntropy(none, longs()).item_double());
    assertEquals(0.0, PretrainingLosses.frameNce(none, floats(new long[] {1, 4}, 1, 2, 3, 4),
        longs()).item_double());
  }
}

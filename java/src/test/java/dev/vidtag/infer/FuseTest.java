package dev.vidtag.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vidtag.runtime.TorchRuntime;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The two fusions on values small enough to compute by hand. */
class FuseTest {
  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  // model a: logits [0, ln 3] -> probabilities [1/4, 3/4]; model b: [0, 0] -> [1/2, 1/2]
  private static final float LN3 = (float) Math.log(3);

  private static float[] fuse(Fuse fuse, double wa, double wb) {
    try (PointerScope scope = new PointerScope()) {
      Tensor a = VideoClassifier.floatTensor(new float[] {0f, LN3, 1f, 1f}, 2, 2);
      Tensor b = VideoClassifier.floatTensor(new float[] {0f, 0f, 2f, 0f}, 2, 2);
      return VideoClassifier.floats(fuse.combine(List.of(a, b), new double[] {wa, wb}), 4);
    }
  }

  @Test
  void logitsAreSummedWithTheWeightsAsGiven() {
    // 1*[0, ln3] + 3*[0, 0] = [0, ln3];  1*[1, 1] + 3*[2, 0] = [7, 1]
    assertArrayEquals(new float[] {0f, LN3, 7f, 1f}, fuse(Fuse.LOGITS, 1, 3), 1e-6f);
  }

  @Test
  void probabilitiesAreMixedWithNormalisedWeightsAndReturnedAsLogarithms() {
    // row 0: (1/4 * 1/4 + 3/4 * 1/2, 1/4 * 3/4 + 3/4 * 1/2) = (7/16, 9/16)
    // row 1: a = [1/2, 1/2], b = softmax([2, 0]) = [e^2, 1] / (e^2 + 1)
    double e2 = Math.exp(2);
    double p0 = 0.25 * 0.5 + 0.75 * e2 / (e2 + 1);
    double p1 = 0.25 * 0.5 + 0.75 / (e2 + 1);
    float[] expected = {(float) Math.log(7 / 16.0), (float) Math.log(9 / 16.0),
        (float) Math.log(p0), (float) Math.log(p1)};
    assertArrayEquals(expected, fuse(Fuse.PROBS, 1, 3), 1e-6f);
    assertArrayEquals(expected, fuse(Fuse.PROBS, 0.25, 0.75), 1e-6f, "only the ratio counts");
  }

  @Test
  void parsesTheCommandLineNames() {
    assertEquals(Fuse.PROBS, Fuse.parse("probs"));
    assertEquals(Fuse.LOGITS, Fuse.parse(" Logits "));
    assertThrows(IllegalArgumentException.class, () -> Fuse.parse("mean"));
    assertEquals(Precision.BF16, Precision.parse("bf16"));
    assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp16"));
  }

  @Test
  void ensembleMembersParseTheirWeight() {
    assertEquals(new EnsembleMember(Path.of("runs/a"), 1.0), EnsembleMember.parse("runs/a"));
    assertEquals(new EnsembleMember(Path.of("runs/a=b"), 0.25), EnsembleMember.parse("runs/a=b=0.25"));
    assertThrows(IllegalArgumentException.class, () -> EnsembleMember.parse("runs/a=x"));
    assertThrows(IllegalArgumentException.class, () -> EnsembleMember.parse("runs/a=0"));
    assertThrows(IllegalArgumentException.class, () -> EnsembleMember.parse("runs/a=-1"));
  }
}

package dev.vidtag.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.kernels.TensorList;
import dev.vidtag.runtime.TorchRuntime;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class NonFiniteGuardTest {
  @Test
  void skipsNonFiniteStepsAndStopsAfterTooManyInARow() {
    TorchRuntime.initialize();
    Tensor gradient = torch.ones(4);
    TensorList gradients = TensorList.of("gradient", List.of("w"), List.of(gradient));
    NonFiniteGuard guard = new NonFiniteGuard(3);
    assertTrue(guard.allowStep(1, 0.5, gradients));
    assertFalse(guard.allowStep(2, Double.NaN, gradients));
    gradient.select(0, 2).fill_(new Scalar(Double.POSITIVE_INFINITY));
    assertFalse(guard.allowStep(3, 0.5, gradients));
    gradient.fill_(new Scalar(1.0));
    assertTrue(guard.allowStep(4, 0.5, gradients), "a finite step resets the streak");
    assertEquals(2, guard.skipped());
    assertFalse(guard.allowStep(5, Double.POSITIVE_INFINITY, null));
    assertFalse(guard.allowStep(6, Double.NaN, null));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> guard.allowStep(7, Double.NaN, null));
    assertTrue(e.getMessage().startsWith("step 7: the loss or the gradients were not finite 3 steps in a row"),
        e.getMessage());
  }
}

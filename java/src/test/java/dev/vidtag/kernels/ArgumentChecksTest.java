package dev.vidtag.kernels;

import static dev.vidtag.kernels.Tensors.list;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.runtime.TorchRuntime;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad arguments are refused in Java, with the offending tensor named, before any native call. */
class ArgumentChecksTest {
  private PointerScope scope;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  @BeforeEach
  void openScope() {
    scope = new PointerScope();
  }

  @AfterEach
  void closeScope() {
    scope.close();
  }

  private static void assertRefused(String expectedInMessage, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(expectedInMessage),
        "message '" + e.getMessage() + "' should contain '" + expectedInMessage + "'");
  }

  @Test
  void nonContiguousTensorIsNamed() {
    Tensor transposed = torch.randn(4, 3).t();
    assertRefused("parameters 'encoder.weight' is not contiguous",
        () -> TensorList.of("parameters", List.of("encoder.weight"), List.of(transposed)));
  }

  @Test
  void unsupportedDtypeIsNamed() {
    Tensor ids = torch.ones(5).to(ScalarType.Long);
    assertRefused("parameters 'ids' has dtype Long",
        () -> TensorList.of("parameters", List.of("ids"), List.of(ids)));
  }

  @Test
  void mixedDtypesInOneListAreRefused() {
    List<Tensor> mixed = List.of(torch.ones(2), torch.ones(2).to(ScalarType.BFloat16));
    assertRefused("a list holds one element type", () -> list("params", mixed));
  }

  @Test
  void undefinedTensorIsRefused() {
    assertRefused("params 't0' is undefined", () -> list("params", List.of(new Tensor())));
  }

  @Test
  void missingGradientIsNamed() {
    TensorList params = TensorList.of("parameters", List.of("classifier.bias"),
        List.of(torch.ones(3)));
    assertRefused("parameters 'classifier.bias' has no gradient",
        () -> TensorList.gradientsOf(params));
  }

  @Test
  void namesMustMatchTensors() {
    assertRefused("2 names for 1 tensors",
        () -> TensorList.of("parameters", List.of("a", "b"), List.of(torch.ones(1))));
  }

  @Test
  void sizeMismatchNamesBothTensors() {
    TensorList shadow = TensorList.of("shadow", List.of("w"), List.of(torch.zeros(4)));
    TensorList params = TensorList.of("params", List.of("w"), List.of(torch.zeros(5)));
    assertRefused("shadow 'w' has 4 elements but params 'w' has 5",
        () -> FusedKernels.emaUpdate(shadow, params, 0.9));
  }

  @Test
  void countMismatchIsRefused() {
    TensorList one = list("shadow", List.of(torch.zeros(2)));
    TensorList two = list("params", List.of(torch.zeros(2), torch.zeros(2)));
    assertRefused("shadow has 1 tensors but params has 2",
        () -> FusedKernels.emaUpdate(one, two, 0.9));
  }

  @Test
  void shadowMustBeFloat32() {
    TensorList shadow = list("shadow", List.of(torch.zeros(2).to(ScalarType.BFloat16)));
    TensorList params = list("params", List.of(torch.zeros(2)));
    assertRefused("shadow must be FLOAT32", () -> FusedKernels.emaUpdate(shadow, params, 0.9));
  }

  @Test
  void swapNeedsOneElementType() {
    TensorList a = list("live", List.of(torch.zeros(2).to(ScalarType.BFloat16)));
    TensorList b = list("shadow", List.of(torch.zeros(2)));
    assertRefused("live is BFLOAT16 but shadow is FLOAT32", () -> FusedKernels.swap(a, b));
  }

  @Test
  void aliasedTensorsAreRefused() {
    Tensor weights = torch.randn(8);
    TensorList params = list("params", List.of(weights));
    TensorList backup = list("backup", List.of(weights.narrow(0, 4, 4).contiguous()));
    TensorList overlapping = list("backup", List.of(weights));
    TensorList grads = list("grads", List.of(torch.ones(8)));
    assertRefused("params 't0' and backup 't0' share memory",
        () -> FusedKernels.fgmPerturb(params, overlapping, grads, 0.75));
    assertRefused("has 8 elements but backup 't0' has 4",
        () -> FusedKernels.fgmPerturb(params, backup, grads, 0.75));
  }

  @Test
  void hyperparametersAreChecked() {
    TensorList a = list("a", List.of(torch.zeros(2)));
    TensorList b = list("b", List.of(torch.zeros(2)));
    TensorList g = list("g", List.of(torch.ones(2)));
    assertRefused("decay must be in [0, 1]", () -> FusedKernels.emaUpdate(a, b, 1.5));
    assertRefused("decay must be in [0, 1]", () -> FusedKernels.emaUpdate(a, b, Double.NaN));
    assertRefused("epsilon must be positive", () -> FusedKernels.fgmPerturb(a, b, g, 0));
    assertRefused("alpha must be positive", () -> FusedKernels.pgdStep(a, b, g, Double.NaN, 1));
    assertRefused("averagedSoFar must be >= 0", () -> FusedKernels.swaAccumulate(a, b, -1));
  }

  @Test
  void refusedCallsLeaveTensorsUntouched() {
    Tensor shadow = torch.zeros(3);
    TensorList shadowList = list("shadow", List.of(shadow));
    TensorList wrong = list("params", List.of(torch.ones(4)));
    assertThrows(IllegalArgumentException.class,
        () -> FusedKernels.emaUpdate(shadowList, wrong, 0.5));
    assertEquals(0.0, shadow.abs().sum().item_double());
  }
}

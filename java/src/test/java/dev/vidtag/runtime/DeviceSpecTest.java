package dev.vidtag.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class DeviceSpecTest {
  @Test
  void parsesTheUsualSpellings() {
    assertEquals(DeviceSpec.CPU, DeviceSpec.parse("cpu"));
    assertEquals(new DeviceSpec(DeviceSpec.Kind.CUDA, 0), DeviceSpec.parse("CUDA"));
    assertEquals(new DeviceSpec(DeviceSpec.Kind.CUDA, 3), DeviceSpec.parse(" cuda:3 "));
    assertEquals("cuda:3", DeviceSpec.parse("cuda:3").toString());
  }

  @Test
  void rejectsUnknownDevices() {
    for (String bad : new String[] {"gpu", "cuda:", "cuda:x", "cuda:-1", "cpu:0", ""}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> DeviceSpec.parse(bad), bad);
      assertTrue(e.getMessage().contains("device"), e.getMessage());
    }
  }

  @Test
  void cudaWithoutCudaIsAClearError() {
    TorchRuntime.initialize();
    assumeFalse(torch.cuda_is_available(), "this machine has CUDA");
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> TorchRuntime.device(DeviceSpec.parse("cuda:1")));
    assertTrue(e.getMessage().contains("cuda:1 requested, but CUDA is not available"),
        e.getMessage());
  }

  @Test
  void cpuAlwaysExists() {
    assertTrue(TorchRuntime.device(DeviceSpec.CPU).is_cpu());
  }
}

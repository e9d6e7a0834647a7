package dev.vidtag.runtime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Child process of {@link NativeAllocationTest}: touches and frees 400 MB of tensors as one
 * burst of work, then idles, printing the resident set (kB) before, just after the burst, and
 * after the idle wait: "rss-kb BEFORE AFTER_BURST AFTER_IDLE".
 */
public final class IdleTrimProbe {
  private IdleTrimProbe() {}

  public static void main(String[] args) throws Exception {
    TorchRuntime.initialize();
    long idleMillis = Long.parseLong(args[0]);
    long before = rss();
    try (PointerScope scope = new PointerScope()) {
      List<Tensor> burst = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        burst.add(torch.ones(5L << 20)); // 20 MB each, every page written
      }
      burst.clear();
    }
    long afterBurst = rss();
    Thread.sleep(idleMillis);
    System.out.println("rss-kb " + before + " " + afterBurst + " " + rss());
  }

  static long rss() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no VmRSS");
  }
}

package dev.vidtag.data;

import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Child-JVM entry of {@link CollatorTest}: builds a collator, says whether LibTorch started. */
public final class CollatorStartProbe {
  private CollatorStartProbe() {}

  public static void main(String[] args) throws IOException {
    Collator collator = new Collator(Collator.Padding.DYNAMIC, 16, 4, 0);
    System.out.println("padding=" + collator.padding());
    System.out.println("started=" + TorchRuntime.isStarted());
    System.out.println("libtorch-mapped="
        + Files.readString(Path.of("/proc/self/maps")).contains("libtorch_cpu"));
  }
}

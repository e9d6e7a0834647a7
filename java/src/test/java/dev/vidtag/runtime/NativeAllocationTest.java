package dev.vidtag.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The default allocation policy, {@code reuse}: freed memory kept while busy, returned idle. */
class NativeAllocationTest {
  private static final long BURST_KB = 400L << 10;

  @TempDir Path dir;

  @Test
  void freedMemoryIsKeptForReuseAndReturnedOnceTheProcessIdles() throws Exception {
    Assumptions.assumeTrue(Files.isReadable(Path.of("/proc/self/status")), "Linux only");
    long[] kept = probe("reuse", "1s", 3000);
    assertTrue(kept[1] - kept[0] > BURST_KB * 3 / 4, "the burst's memory is kept: "
        + java.util.Arrays.toString(kept));
    assertTrue(kept[2] - kept[0] < BURST_KB / 4, "and returned after the idle second: "
        + java.util.Arrays.toString(kept));
    // the control: with trimming off the memory stays, so the drop above is the trim's
    long[] untrimmed = probe("reuse", "off", 3000);
    assertTrue(untrimmed[2] - untrimmed[0] > BURST_KB * 3 / 4, "without the idle trim it stays: "
        + java.util.Arrays.toString(untrimmed));
  }

  @Test
  void sizesAndDurationsParse() {
    assertEquals(1L << 30, NativeAllocation.parseSize("p", "1g"));
    assertEquals(512L << 20, NativeAllocation.parseSize("p", " 512M "));
    assertEquals(4096, NativeAllocation.parseSize("p", "4096"));
    assertThrows(IllegalArgumentException.class, () -> NativeAllocation.parseSize("p", "2g"));
    assertThrows(IllegalArgumentException.class, () -> NativeAllocation.parseSize("p", "lots"));
    assertEquals(Duration.ofSeconds(2), IdleTrim.parseIdle("p", "2s"));
    assertEquals(Duration.ofMillis(500), IdleTrim.parseIdle("p", "500ms"));
    assertEquals(Duration.ofMinutes(1), IdleTrim.parseIdle("p", "1m"));
    assertEquals(Duration.ZERO, IdleTrim.parseIdle("p", "off"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> IdleTrim.parseIdle("vidtag.malloc.idle", "soon"));
    assertTrue(e.getMessage().contains("vidtag.malloc.idle"), e.getMessage());
  }

  private long[] probe(String policy, String idle, long waitMillis) throws Exception {
    Path out = dir.resolve("probe-" + idle + ".txt");
    Process probe = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        "-Dvidtag.cache.dir=" + TorchRuntime.cacheRoot(), "-Dvidtag.malloc=" + policy,
        "-Dvidtag.malloc.idle=" + idle, IdleTrimProbe.class.getName(),
        String.valueOf(waitMillis))
        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    assertTrue(probe.waitFor(120, TimeUnit.SECONDS), "the probe finished in time");
    String output = Files.readString(out);
    assertEquals(0, probe.exitValue(), output);
    String[] fields = output.lines().filter(l -> l.startsWith("rss-kb ")).findFirst()
        .orElseThrow(() -> new AssertionError(output)).split(" ");
    return new long[] {Long.parseLong(fields[1]), Long.parseLong(fields[2]),
        Long.parseLong(fields[3])};
  }
}

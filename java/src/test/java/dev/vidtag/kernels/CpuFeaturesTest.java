package dev.vidtag.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The native library's cpuid reading against the kernel's own list of CPU flags. */
class CpuFeaturesTest {
  @Test
  void agreesWithProcCpuinfo() throws IOException {
    Path cpuinfo = Path.of("/proc/cpuinfo");
    assumeTrue(Files.isReadable(cpuinfo), "needs Linux's /proc/cpuinfo");
    String flagsLine = Files.readAllLines(cpuinfo).stream()
        .filter(line -> line.startsWith("flags")).findFirst().orElseThrow();
    Set<String> flags = Arrays.stream(flagsLine.substring(flagsLine.indexOf(':') + 1).trim()
        .split("\\s+")).collect(Collectors.toSet());
    CpuFeatures cpu = CpuFeatures.detect();
    assertEquals(flags.contains("avx2") && flags.contains("fma"), cpu.avx2Fma(), "avx2+fma");
    boolean avx512 = flags.containsAll(Set.of("avx512f", "avx512bw", "avx512dq", "avx512vl"));
    assertEquals(avx512, cpu.avx512(), "avx512");
    assertEquals(avx512 && flags.contains("avx512_vnni"), cpu.avx512Vnni(), "avx512_vnni");
    assertEquals(avx512 && flags.contains("avx512_bf16"), cpu.avx512Bf16(), "avx512_bf16");
    assertEquals(flags.contains("avx_vnni"), cpu.avxVnni(), "avx_vnni");
  }
}

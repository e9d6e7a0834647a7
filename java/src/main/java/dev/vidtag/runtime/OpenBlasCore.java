package dev.vidtag.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which of OpenBLAS's CPU-specific kernels LibTorch's fp32 GEMM runs. OpenBLAS picks them when
 * it loads, from {@code OPENBLAS_CORETYPE} or its own CPU detection; the OpenBLAS that ships
 * with this LibTorch (0.3.31) does not know AMD's Zen 5 and falls back to its AVX2 (Haswell)
 * kernels, half the speed of its AVX-512 (SkylakeX) ones there with the operands in cache (188
 * against 360 GFLOP/s on the BERT-base feed-forward GEMM); a BERT-base single-stream model ran
 * batches of 16 at 2.03 instead of 1.56 videos/s (benchmarks/RESULTS.md). So on an AMD CPU with the AVX-512 subsets those kernels use,
 * VidTag sets {@code OPENBLAS_CORETYPE=SKYLAKEX} before OpenBLAS loads. Intel CPUs are left to
 * OpenBLAS's detection, which knows them.
 *
 * <p>{@code OPENBLAS_CORETYPE} in the environment, or {@code -Dvidtag.openblas.coretype=NAME},
 * wins; {@code -Dvidtag.openblas.coretype=detect} leaves the choice to OpenBLAS.
 */
final class OpenBlasCore {
  static final String PROPERTY = "vidtag.openblas.coretype";
  private static final String VARIABLE = "OPENBLAS_CORETYPE";
  private static final List<String> SKYLAKEX_FLAGS =
      List.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl");

  private OpenBlasCore() {}

  /**
   * Sets {@code OPENBLAS_CORETYPE} in the C environment when VidTag chooses the kernels; returns
   * the core type that OpenBLAS will be told, or "detect" when it chooses.
   */
  static String configure() {
    String set = TorchRuntime.environmentValue(VARIABLE);
    if (set != null && !set.isBlank()) {
      return set;
    }
    String choice = System.getProperty(PROPERTY, "auto");
    if (choice.equals("detect")) {
      return choice;
    }
    String core = choice.equals("auto") ? forCpu(cpuInfo()) : choice;
    if (core == null) {
      return "detect";
    }
    NativeEnvironment.setenv(VARIABLE, core, 1);
    return core;
  }

  /** The core type VidTag picks for a CPU described as in /proc/cpuinfo, or null for none. */
  static String forCpu(String cpuInfo) {
    String vendor = null;
    Set<String> flags = new HashSet<>();
    for (String line : cpuInfo.lines().toList()) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String key = line.substring(0, colon).trim();
      String value = line.substring(colon + 1).trim();
      if (key.equals("vendor_id") && vendor == null) {
        vendor = value;
      } else if (key.equals("flags") && flags.isEmpty()) {
        flags.addAll(Arrays.asList(value.split("\\s+")));
      }
    }
    return "AuthenticAMD".equals(vendor) && flags.containsAll(SKYLAKEX_FLAGS) ? "SKYLAKEX" : null;
  }

  private static String cpuInfo() {
    try {
      return Files.readString(Path.of("/proc/cpuinfo"));
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }
}

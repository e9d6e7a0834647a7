package dev.vidtag.kernels;

import java.util.ArrayList;
import java.util.List;

/**
 * The x86 vector extensions of this CPU that VidTag's choices depend on, as the native library
 * reads them (cpuid, with the operating system's support for the wider registers checked).
 *
 * @param avx2Fma AVX2 and FMA
 * @param avx512 AVX-512 F, BW, DQ and VL together
 * @param avx512Vnni AVX-512 VNNI: int8 dot products accumulated in int32
 * @param avx512Bf16 AVX-512 BF16
 * @param avxVnni the 256-bit VEX form of VNNI
 */
public record CpuFeatures(boolean avx2Fma, boolean avx512, boolean avx512Vnni,
    boolean avx512Bf16, boolean avxVnni) {
  // the VIDTAG_CPU_* bits of kernels.h
  private static final int AVX2_FMA = 1;
  private static final int AVX512 = 1 << 1;
  private static final int AVX512_VNNI = 1 << 2;
  private static final int AVX512_BF16 = 1 << 3;
  private static final int AVX_VNNI = 1 << 4;

  private static final class Detected {
    static final CpuFeatures VALUE = fromBits(NativeKernels.vidtag_cpu_features());
  }

  /** The features of the CPU this process runs on. */
  public static CpuFeatures detect() {
    return Detected.VALUE;
  }

  static CpuFeatures fromBits(int bits) {
    return new CpuFeatures((bits & AVX2_FMA) != 0, (bits & AVX512) != 0,
        (bits & AVX512_VNNI) != 0, (bits & AVX512_BF16) != 0, (bits & AVX_VNNI) != 0);
  }

  /** The features present, in the spelling of /proc/cpuinfo's groups ("avx2+fma avx512 ..."). */
  public List<String> names() {
    List<String> names = new ArrayList<>();
    if (avx2Fma) {
      names.add("avx2+fma");
    }
    if (avx512) {
      names.add("avx512");
    }
    if (avx512Vnni) {
      names.add("avx512_vnni");
    }
    if (avx512Bf16) {
      names.add("avx512_bf16");
    }
    if (avxVnni) {
      names.add("avx_vnni");
    }
    return names;
  }

  @Override
  public String toString() {
    return names().isEmpty() ? "baseline x86-64" : String.join(" ", names());
  }
}

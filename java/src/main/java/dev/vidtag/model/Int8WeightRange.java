package dev.vidtag.model;

import dev.vidtag.kernels.CpuFeatures;
import java.util.Locale;

/**
 * How many levels the int8 weights of {@link Int8Linear} use, so that FBGEMM's kernel cannot
 * overflow on the CPU it runs on. FBGEMM multiplies uint8 activations (0..255) by int8 weights.
 * With AVX-512 VNNI the products are summed in int32. Its AVX2 kernel, and its AVX-512 kernel
 * without VNNI, first add pairs of products in a saturating int16 ({@code vpmaddubsw}): two
 * products of 255 x 127 make 64,770, twice what int16 holds, so full-range weights come out
 * clipped (5-12% relative error on one linear, measured on an AVX2-only AMD EPYC). Weights in
 * [-63, 63] keep every pair within 2 x 255 x 63 = 32,130.
 */
public enum Int8WeightRange {
  /** Weights quantized to [-128, 127] by FBGEMM's own rule: for kernels that sum in int32. */
  FULL(127),
  /** Weights quantized symmetrically to [-63, 63]: safe for every FBGEMM kernel. */
  REDUCED(63);

  /** The environment variable through which FBGEMM lets a user pick its instruction set. */
  static final String FBGEMM_INSTRUCTIONS = "FBGEMM_ENABLE_INSTRUCTIONS";

  private final int largestLevel;

  Int8WeightRange(int largestLevel) {
    this.largestLevel = largestLevel;
  }

  /** The largest magnitude a quantized weight takes. */
  public int largestLevel() {
    return largestLevel;
  }

  /** The range FBGEMM's kernels on this CPU, in this process's environment, compute exactly. */
  public static Int8WeightRange forThisProcess() {
    return forCpu(CpuFeatures.detect(), System.getenv(FBGEMM_INSTRUCTIONS));
  }

  /**
   * FULL when FBGEMM will run its VNNI kernels: the CPU has AVX-512 VNNI and FBGEMM was not told
   * to use a narrower set ({@code FBGEMM_ENABLE_INSTRUCTIONS}; its VNNI sets are the
   * {@code AVX512_E1} ones). REDUCED otherwise.
   */
  static Int8WeightRange forCpu(CpuFeatures cpu, String fbgemmInstructions) {
    boolean vnniKernels = cpu.avx512Vnni() && (fbgemmInstructions == null
        || fbgemmInstructions.isBlank()
        || fbgemmInstructions.toUpperCase(Locale.ROOT).startsWith("AVX512_E1"));
    return vnniKernels ? FULL : REDUCED;
  }
}

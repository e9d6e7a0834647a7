// vidtag_cpu_features: the CPU's vector extensions, read once through GCC's cpuid wrapper, which
// also checks that the operating system saves the wider registers (XGETBV).
#include "internal.h"

namespace {

uint32_t detect() {
  uint32_t features = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    features |= VIDTAG_CPU_AVX2_FMA;
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
    features |= VIDTAG_CPU_AVX512;
    if (__builtin_cpu_supports("avx512vnni")) features |= VIDTAG_CPU_AVX512_VNNI;
    if (__builtin_cpu_supports("avx512bf16")) features |= VIDTAG_CPU_AVX512_BF16;
  }
  if (__builtin_cpu_supports("avxvnni")) features |= VIDTAG_CPU_AVX_VNNI;
#endif
  return features;
}

}  // namespace

VIDTAG_EXPORT uint32_t vidtag_cpu_features(void) {
  static const uint32_t features = detect();
  return features;
}

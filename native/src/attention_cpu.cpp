// CPU attention (kernels.h, "attention"): placeholder until the kernels land.
#include "internal.h"

VIDTAG_EXPORT float vidtag_dropout_uniform(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

VIDTAG_EXPORT int vidtag_attention_forward_cpu(const vidtag_attention_shape*, const void*,
                                               const void*, const void*, const int32_t*,
                                               const uint8_t*, void*, float*, int) {
  return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT, "attention_forward_cpu: not implemented");
}

VIDTAG_EXPORT int vidtag_attention_backward_cpu(const vidtag_attention_shape*, const void*,
                                                const void*, const void*, const int32_t*,
                                                const uint8_t*, const void*, const float*,
                                                const void*, void*, void*, void*, int) {
  return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT, "attention_backward_cpu: not implemented");
}

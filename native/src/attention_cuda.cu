// CUDA attention (kernels.h, "attention"): placeholder until the kernels land.
#include "internal.h"

VIDTAG_EXPORT int vidtag_attention_forward_cuda(const vidtag_attention_shape*, const void*,
                                                const void*, const void*, const int32_t*,
                                                const uint8_t*, void*, float*, void*) {
  return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT, "attention_forward_cuda: not implemented");
}
VIDTAG_EXPORT int vidtag_attention_backward_cuda(const vidtag_attention_shape*, const void*,
                                                 const void*, const void*, const int32_t*,
                                                 const uint8_t*, const void*, const float*,
                                                 const void*, void*, void*, void*, void*) {
  return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT, "attention_backward_cuda: not implemented");
}

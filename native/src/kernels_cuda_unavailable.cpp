// The _cuda entry points of a library built without a CUDA compiler: each reports
// VIDTAG_ERR_CUDA_UNAVAILABLE, which the Java facades turn into a clear exception.
#include "internal.h"

namespace {
int unavailable(const char* kernel) {
  return vidtag::fail(VIDTAG_ERR_CUDA_UNAVAILABLE,
                      std::string(kernel) + ": this VidTag native library was built without CUDA");
}
}  // namespace

VIDTAG_EXPORT int vidtag_cuda_compiled(void) { return 0; }

VIDTAG_EXPORT int vidtag_cuda_device_count(void) { return 0; }

VIDTAG_EXPORT int vidtag_ema_update_cuda(float* const*, const void* const*, int, const int64_t*,
                                         int64_t, float, void*) {
  return unavailable("ema_update_cuda");
}
VIDTAG_EXPORT int vidtag_swap_cuda(void* const*, void* const*, int, const int64_t*, int64_t,
                                   void*) {
  return unavailable("swap_cuda");
}
VIDTAG_EXPORT int vidtag_swa_accumulate_cuda(float* const*, const void* const*, int,
                                             const int64_t*, int64_t, int64_t, void*) {
  return unavailable("swa_accumulate_cuda");
}
VIDTAG_EXPORT int vidtag_l2_norm_cuda(const void* const*, int, const int64_t*, int64_t, double*,
                                      double*, void*) {
  return unavailable("l2_norm_cuda");
}
VIDTAG_EXPORT int vidtag_copy_many_cuda(void* const*, const void* const*, const int64_t*, int64_t,
                                        void*) {
  return unavailable("copy_many_cuda");
}
VIDTAG_EXPORT int vidtag_fgm_perturb_cuda(float* const*, float* const*, const float* const*,
                                          const int64_t*, int64_t, float, int32_t*, void*) {
  return unavailable("fgm_perturb_cuda");
}
VIDTAG_EXPORT int vidtag_restore_cuda(float* const*, const float* const*, const int64_t*, int64_t,
                                      void*) {
  return unavailable("restore_cuda");
}
VIDTAG_EXPORT int vidtag_pgd_step_cuda(float* const*, const float* const*, const float* const*,
                                       const int64_t*, int64_t, float, float, int32_t*, void*) {
  return unavailable("pgd_step_cuda");
}
VIDTAG_EXPORT int vidtag_attention_forward_cuda(const vidtag_attention_shape*, const void*,
                                                const void*, const void*, const int32_t*,
                                                const uint8_t*, void*, float*, void*) {
  return unavailable("attention_forward_cuda");
}
VIDTAG_EXPORT int vidtag_attention_backward_cuda(const vidtag_attention_shape*, const void*,
                                                 const void*, const void*, const int32_t*,
                                                 const uint8_t*, const void*, const float*,
                                                 const void*, void*, void*, void*, void*) {
  return unavailable("attention_backward_cuda");
}

// Where no CUDA device can be used (this library built without CUDA, or no driver or GPU), every
// _cuda entry must refuse with VIDTAG_ERR_CUDA_UNAVAILABLE and a message, never crash. On a
// machine with a GPU this test is skipped; native/gpu-check/ covers the kernels there.
#include <cstdio>
#include <cstring>
#include <string>

#include "vidtag/kernels.h"

int main() {
  if (vidtag_cuda_device_count() > 0) {
    std::printf("SKIP: a CUDA device is present\n");
    return 77;
  }
  float a = 1.0f;
  float b = 2.0f;
  float* fa[] = {&a};
  float* fb[] = {&b};
  const float* cb[] = {&b};
  void* va[] = {&a};
  void* vb[] = {&b};
  const void* cvb[] = {&b};
  const int64_t numel[] = {1};
  const int64_t nbytes[] = {4};
  double norm = 0.0;
  int32_t applied = 0;

  struct Case {
    const char* name;
    int status;
  };
  const Case cases[] = {
      {"ema_update_cuda", vidtag_ema_update_cuda(fa, cvb, VIDTAG_FLOAT32, numel, 1, 0.9f, nullptr)},
      {"swap_cuda", vidtag_swap_cuda(va, vb, VIDTAG_FLOAT32, numel, 1, nullptr)},
      {"swa_accumulate_cuda", vidtag_swa_accumulate_cuda(fa, cvb, VIDTAG_FLOAT32, numel, 1, 1, nullptr)},
      {"l2_norm_cuda", vidtag_l2_norm_cuda(cvb, VIDTAG_FLOAT32, numel, 1, nullptr, &norm, nullptr)},
      {"copy_many_cuda", vidtag_copy_many_cuda(va, cvb, nbytes, 1, nullptr)},
      {"fgm_perturb_cuda", vidtag_fgm_perturb_cuda(fa, fb, cb, numel, 1, 0.75f, &applied, nullptr)},
      {"restore_cuda", vidtag_restore_cuda(fa, cb, numel, 1, nullptr)},
      {"pgd_step_cuda", vidtag_pgd_step_cuda(fa, cb, cb, numel, 1, 0.3f, 1.0f, &applied, nullptr)},
  };
  int failures = 0;
  for (const Case& c : cases) {
    if (c.status != VIDTAG_ERR_CUDA_UNAVAILABLE) {
      std::fprintf(stderr, "FAIL: %s returned %d (%s), expected CUDA unavailable\n", c.name, c.status,
                   vidtag_status_string(c.status));
      ++failures;
    }
  }
  if (std::strlen(vidtag_last_error()) == 0) {
    std::fprintf(stderr, "FAIL: no message for the refusal\n");
    ++failures;
  }
  if (a != 1.0f || b != 2.0f) {
    std::fprintf(stderr, "FAIL: a refused call touched its data\n");
    ++failures;
  }
  std::printf("%s: %d failure(s) (CUDA compiled: %d)\n", failures ? "FAIL" : "PASS", failures,
              vidtag_cuda_compiled());
  return failures ? 1 : 0;
}

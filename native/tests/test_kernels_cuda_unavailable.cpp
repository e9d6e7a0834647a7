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
  float lse = 0.0f;
  // One item, one head, one query, one key, head_dim 1: the smallest valid attention call.
  vidtag_attention_shape shape{};
  shape.batch = shape.heads = shape.query_length = shape.key_length = shape.head_dim = 1;
  shape.q_batch_stride = shape.q_row_stride = shape.k_batch_stride = shape.k_row_stride = 1;
  shape.v_batch_stride = shape.v_row_stride = 1;
  shape.dtype = VIDTAG_FLOAT32;
  shape.scale = 1.0f;

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
      {"attention_forward_cuda",
       vidtag_attention_forward_cuda(&shape, &a, &a, &a, nullptr, nullptr, &b, &lse, nullptr)},
      {"attention_backward_cuda",
       vidtag_attention_backward_cuda(&shape, &a, &a, &a, nullptr, nullptr, &a, &lse, &a, &b, &b,
                                      &b, nullptr)},
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
  // With the CUDA kernels compiled in, attention arguments are checked before the device is
  // looked for, so that a bad call reads as such on any machine.
  if (vidtag_cuda_compiled()) {
    const int32_t lengths[] = {1};
    const uint8_t mask[] = {1};
    vidtag_attention_shape bad_p = shape;
    bad_p.dropout_p = 1.0f;
    vidtag_attention_shape bad_stride = shape;
    bad_stride.heads = 2;  // row strides of 1 < heads * head_dim
    vidtag_attention_shape bad_dtype = shape;
    bad_dtype.dtype = 7;
    vidtag_attention_shape bad_dim = shape;
    bad_dim.head_dim = 129;
    bad_dim.q_row_stride = bad_dim.k_row_stride = bad_dim.v_row_stride = 129;
    const Case invalid[] = {
        {"null shape", vidtag_attention_forward_cuda(nullptr, &a, &a, &a, nullptr, nullptr, &b,
                                                     nullptr, nullptr)},
        {"null q", vidtag_attention_forward_cuda(&shape, nullptr, &a, &a, nullptr, nullptr, &b,
                                                 nullptr, nullptr)},
        {"both padding forms", vidtag_attention_forward_cuda(&shape, &a, &a, &a, lengths, mask, &b,
                                                             nullptr, nullptr)},
        {"dropout_p 1", vidtag_attention_forward_cuda(&bad_p, &a, &a, &a, nullptr, nullptr, &b,
                                                      nullptr, nullptr)},
        {"row stride", vidtag_attention_forward_cuda(&bad_stride, &a, &a, &a, nullptr, nullptr, &b,
                                                     nullptr, nullptr)},
        {"dtype", vidtag_attention_forward_cuda(&bad_dtype, &a, &a, &a, nullptr, nullptr, &b,
                                                nullptr, nullptr)},
        {"head_dim 129", vidtag_attention_forward_cuda(&bad_dim, &a, &a, &a, nullptr, nullptr, &b,
                                                       nullptr, nullptr)},
        {"backward null lse",
         vidtag_attention_backward_cuda(&shape, &a, &a, &a, nullptr, nullptr, &a, nullptr, &a, &b,
                                        &b, &b, nullptr)},
    };
    for (const Case& c : invalid) {
      if (c.status != VIDTAG_ERR_INVALID_ARGUMENT) {
        std::fprintf(stderr, "FAIL: attention %s returned %d (%s), expected invalid argument\n",
                     c.name, c.status, vidtag_status_string(c.status));
        ++failures;
      }
    }
  }
  if (a != 1.0f || b != 2.0f) {
    std::fprintf(stderr, "FAIL: a refused call touched its data\n");
    ++failures;
  }
  std::printf("%s: %d failure(s) (CUDA compiled: %d)\n", failures ? "FAIL" : "PASS", failures,
              vidtag_cuda_compiled());
  return failures ? 1 : 0;
}

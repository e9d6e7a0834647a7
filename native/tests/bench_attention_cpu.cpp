// Forward and backward attention GFLOP/s on the model's shapes, for every instruction-set path
// this CPU has. Not a test: run it by hand on a quiet machine, e.g.
//   OMP_NUM_THREADS=2 /tmp/attn-cpu-build/bin/bench_attention_cpu
// A path name as the argument (avx512, avx2, baseline) times that path only; a second argument
// "forward" skips the backward (for profiling the forward alone).
// FLOPs are counted as 4 * B * heads * Lq * Lk * head_dim for the forward (QK^T and PV) and
// 2.5 times that for the backward (five products of the same size), whatever the padding.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "vidtag/kernels.h"

namespace {

struct Shape {
  const char* name;
  int64_t batch, heads, query_length, key_length, head_dim;
};

template <class F>
double median_seconds(F run, int repeats) {
  run();  // warm-up: first touch of the buffers, thread pool start
  run();
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const char* only = argc > 1 ? argv[1] : nullptr;
  const bool forward_only = argc > 2 && std::strcmp(argv[2], "forward") == 0;
  const Shape shapes[] = {{"self  B16 L272 H12 d64", 16, 12, 272, 272, 64},
                          {"cross B16 Lq14 Lk258 H12 d64", 16, 12, 14, 258, 64}};
  const struct {
    const char* name;
    int isa;
    uint32_t needs;
  } paths[] = {{"avx512", VIDTAG_ISA_AVX512, VIDTAG_CPU_AVX512},
               {"avx2", VIDTAG_ISA_AVX2, VIDTAG_CPU_AVX2_FMA},
               {"baseline", VIDTAG_ISA_BASELINE, 0}};
  std::printf("threads: %d\n", omp_get_max_threads());
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const Shape& sh : shapes) {
    const int64_t model_dim = sh.heads * sh.head_dim;
    vidtag_attention_shape s{};
    s.batch = sh.batch;
    s.heads = sh.heads;
    s.query_length = sh.query_length;
    s.key_length = sh.key_length;
    s.head_dim = sh.head_dim;
    s.q_row_stride = s.k_row_stride = s.v_row_stride = model_dim;
    s.q_batch_stride = sh.query_length * model_dim;
    s.k_batch_stride = s.v_batch_stride = sh.key_length * model_dim;
    s.dtype = VIDTAG_FLOAT32;
    s.scale = 0.125f;
    const auto random = [&](int64_t n) {
      std::vector<float> x(static_cast<std::size_t>(n));
      for (float& value : x) value = normal(rng);
      return x;
    };
    const std::vector<float> q = random(sh.batch * sh.query_length * model_dim);
    const std::vector<float> k = random(sh.batch * sh.key_length * model_dim);
    const std::vector<float> v = random(sh.batch * sh.key_length * model_dim);
    const std::vector<float> grad_out = random(sh.batch * sh.query_length * model_dim);
    std::vector<float> out(q.size()), gq(q.size()), gk(k.size()), gv(v.size());
    std::vector<float> lse(static_cast<std::size_t>(sh.batch * sh.heads * sh.query_length));
    const double flops = 4.0 * static_cast<double>(sh.batch * sh.heads * sh.query_length * sh.key_length * sh.head_dim);
    for (const auto& path : paths) {
      if (only != nullptr && std::strcmp(only, path.name) != 0) continue;
      if ((vidtag_cpu_features() & path.needs) != path.needs) {
        std::printf("%-30s %-8s  (not available on this CPU)\n", sh.name, path.name);
        continue;
      }
      const int repeats = path.isa == VIDTAG_ISA_BASELINE ? 3 : 15;
      const double forward = median_seconds([&] {
        vidtag_attention_forward_cpu(&s, q.data(), k.data(), v.data(), nullptr, nullptr, out.data(),
                                     lse.data(), path.isa);
      }, repeats);
      const double backward = forward_only ? 0.0 : median_seconds([&] {
        vidtag_attention_backward_cpu(&s, q.data(), k.data(), v.data(), nullptr, nullptr, out.data(),
                                      lse.data(), grad_out.data(), gq.data(), gk.data(), gv.data(), path.isa);
      }, repeats);
      std::printf("%-30s %-8s  forward %7.2f ms %6.1f GFLOP/s   backward %7.2f ms %6.1f GFLOP/s\n", sh.name,
                  path.name, forward * 1e3, flops / forward * 1e-9, backward * 1e3, 2.5 * flops / backward * 1e-9);
    }
  }
  return 0;
}

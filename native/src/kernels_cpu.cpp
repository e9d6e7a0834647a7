// CPU implementation of kernels.h.
//
// Every multi-tensor call is cut into fixed chunks of at most kChunk elements, and OpenMP
// spreads the chunks of the whole list over the threads, so 200 small tensors cost one parallel
// region rather than 200. Reductions keep one float64 partial per chunk and add the partials in
// chunk order: the result is the same whatever the thread count.
//
// The inner loops are compiled for AVX2+FMA and for baseline x86-64 (SSE2) and picked at load time
// (GCC target_clones), so the library runs anywhere and vectorises where the CPU allows. There is
// no AVX-512 clone on purpose: on the AMD EPYC development machines it ran the EMA update at half
// the speed of the AVX2 and SSE2 versions, which both reach memory bandwidth (benchmarks/RESULTS.md).
// Build with -DVIDTAG_VECTORIZE_REPORT=ON to see the compiler's report.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "internal.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define VIDTAG_MULTIVERSION __attribute__((target_clones("arch=haswell", "default")))
#else
#define VIDTAG_MULTIVERSION
#endif

namespace {

constexpr int64_t kChunk = int64_t{1} << 15;
// Below this many elements in the whole list a parallel region costs more than it saves.
constexpr int64_t kParallelThreshold = int64_t{1} << 16;

struct Chunk {
  int64_t tensor;
  int64_t begin;
  int64_t end;
};

struct ChunkPlan {
  std::vector<Chunk> chunks;
  int64_t total = 0;
};

ChunkPlan plan_chunks(const int64_t* numel, int64_t count) {
  ChunkPlan plan;
  int64_t chunk_count = 0;
  for (int64_t i = 0; i < count; ++i) chunk_count += (numel[i] + kChunk - 1) / kChunk;
  plan.chunks.reserve(static_cast<std::size_t>(chunk_count));
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t begin = 0; begin < numel[i]; begin += kChunk) {
      plan.chunks.push_back({i, begin, std::min(begin + kChunk, numel[i])});
    }
    plan.total += numel[i];
  }
  return plan;
}

template <class Body>
void for_each_chunk(const ChunkPlan& plan, Body body) {
  const int64_t n = static_cast<int64_t>(plan.chunks.size());
#pragma omp parallel for schedule(static) if (plan.total >= kParallelThreshold)
  for (int64_t c = 0; c < n; ++c) {
    const std::size_t k = static_cast<std::size_t>(c);
    body(plan.chunks[k], k);
  }
}

// ---- element loops ------------------------------------------------------------------------

inline float bf16_to_float(uint16_t bits) {
  const uint32_t widened = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof value);
  return value;
}

VIDTAG_MULTIVERSION void ema_f32(float* __restrict shadow, const float* __restrict param, int64_t n,
                                 float decay) {
  const float keep = 1.0f - decay;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) shadow[i] = decay * shadow[i] + keep * param[i];
}

VIDTAG_MULTIVERSION void ema_bf16(float* __restrict shadow, const uint16_t* __restrict param,
                                  int64_t n, float decay) {
  const float keep = 1.0f - decay;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) shadow[i] = decay * shadow[i] + keep * bf16_to_float(param[i]);
}

template <class T>
VIDTAG_MULTIVERSION void swap_values(T* __restrict a, T* __restrict b, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

VIDTAG_MULTIVERSION void swa_f32(float* __restrict average, const float* __restrict x, int64_t n,
                                 float inverse_count) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) average[i] += (x[i] - average[i]) * inverse_count;
}

VIDTAG_MULTIVERSION void swa_bf16(float* __restrict average, const uint16_t* __restrict x,
                                  int64_t n, float inverse_count) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) average[i] += (bf16_to_float(x[i]) - average[i]) * inverse_count;
}

VIDTAG_MULTIVERSION double sum_squares_f32(const float* __restrict x, int64_t n) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return sum;
}

VIDTAG_MULTIVERSION double sum_squares_bf16(const uint16_t* __restrict x, int64_t n) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) {
    const double v = bf16_to_float(x[i]);
    sum += v * v;
  }
  return sum;
}

// y = x + scale * g
VIDTAG_MULTIVERSION void add_scaled(float* __restrict y, const float* __restrict x,
                                    const float* __restrict g, int64_t n, float scale) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] + scale * g[i];
}

// param += scale * g, and returns sum((param - backup)^2) of the result.
VIDTAG_MULTIVERSION double step_and_displacement(float* __restrict param,
                                                 const float* __restrict backup,
                                                 const float* __restrict g, int64_t n, float scale) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) {
    const float moved = param[i] + scale * g[i];
    param[i] = moved;
    const double d = static_cast<double>(moved) - static_cast<double>(backup[i]);
    sum += d * d;
  }
  return sum;
}

// param = backup + scale * (param - backup)
VIDTAG_MULTIVERSION void shrink_towards(float* __restrict param, const float* __restrict backup,
                                        int64_t n, float scale) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) param[i] = backup[i] + scale * (param[i] - backup[i]);
}

// ---- shared pieces ------------------------------------------------------------------------

// Sum of squares of every tensor of the list (float64, chunk order).
std::vector<double> sum_squares_per_tensor(const ChunkPlan& plan, int64_t count,
                                           const void* const* x, int dtype) {
  std::vector<double> partial(plan.chunks.size());
  for_each_chunk(plan, [&](const Chunk& c, std::size_t k) {
    const int64_t n = c.end - c.begin;
    partial[k] = dtype == VIDTAG_BFLOAT16
                     ? sum_squares_bf16(static_cast<const uint16_t*>(x[c.tensor]) + c.begin, n)
                     : sum_squares_f32(static_cast<const float*>(x[c.tensor]) + c.begin, n);
  });
  std::vector<double> per_tensor(static_cast<std::size_t>(count), 0.0);
  for (std::size_t k = 0; k < plan.chunks.size(); ++k) {
    per_tensor[static_cast<std::size_t>(plan.chunks[k].tensor)] += partial[k];
  }
  return per_tensor;
}

// Scale factor for a gradient of the given squared norm, or 0 when it must not be applied.
float normalised_scale(double squared_norm, float step) {
  const double norm = std::sqrt(squared_norm);
  if (!std::isfinite(norm) || norm == 0.0) return 0.0f;
  return static_cast<float>(static_cast<double>(step) / norm);
}

void copy_chunks(const ChunkPlan& plan, void* const* dst, const void* const* src,
                 std::size_t element_bytes) {
  for_each_chunk(plan, [&](const Chunk& c, std::size_t) {
    std::memcpy(static_cast<char*>(dst[c.tensor]) + c.begin * static_cast<int64_t>(element_bytes),
                static_cast<const char*>(src[c.tensor]) + c.begin * static_cast<int64_t>(element_bytes),
                static_cast<std::size_t>(c.end - c.begin) * element_bytes);
  });
}

const void* const* as_const(void* const* p) { return const_cast<const void* const*>(p); }
const void* const* as_const(float* const* p) { return reinterpret_cast<const void* const*>(p); }
const void* const* as_const(const float* const* p) { return reinterpret_cast<const void* const*>(p); }

}  // namespace

VIDTAG_EXPORT int vidtag_ema_update_cpu(float* const* shadow, const void* const* param,
                                        int param_dtype, const int64_t* numel, int64_t count,
                                        float decay) {
  if (int s = vidtag::check_dtype("ema_update_cpu", param_dtype)) return s;
  if (int s = vidtag::check_list("ema_update_cpu", numel, count, {as_const(shadow), param})) return s;
  const ChunkPlan plan = plan_chunks(numel, count);
  for_each_chunk(plan, [&](const Chunk& c, std::size_t) {
    float* s = shadow[c.tensor] + c.begin;
    const int64_t n = c.end - c.begin;
    if (param_dtype == VIDTAG_BFLOAT16) {
      ema_bf16(s, static_cast<const uint16_t*>(param[c.tensor]) + c.begin, n, decay);
    } else {
      ema_f32(s, static_cast<const float*>(param[c.tensor]) + c.begin, n, decay);
    }
  });
  return vidtag::ok();
}

VIDTAG_EXPORT int vidtag_swap_cpu(void* const* a, void* const* b, int dtype, const int64_t* numel,
                                  int64_t count) {
  if (int s = vidtag::check_dtype("swap_cpu", dtype)) return s;
  if (int s = vidtag::check_list("swap_cpu", numel, count, {as_const(a), as_const(b)})) return s;
  const ChunkPlan plan = plan_chunks(numel, count);
  for_each_chunk(plan, [&](const Chunk& c, std::size_t) {
    const int64_t n = c.end - c.begin;
    if (dtype == VIDTAG_BFLOAT16) {
      swap_values(static_cast<uint16_t*>(a[c.tensor]) + c.begin,
                  static_cast<uint16_t*>(b[c.tensor]) + c.begin, n);
    } else {
      swap_values(static_cast<uint32_t*>(a[c.tensor]) + c.begin,
                  static_cast<uint32_t*>(b[c.tensor]) + c.begin, n);
    }
  });
  return vidtag::ok();
}

VIDTAG_EXPORT int vidtag_swa_accumulate_cpu(float* const* average, const void* const* x,
                                            int x_dtype, const int64_t* numel, int64_t count,
                                            int64_t n_averaged) {
  if (int s = vidtag::check_dtype("swa_accumulate_cpu", x_dtype)) return s;
  if (n_averaged < 0) {
    return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT,
                        "swa_accumulate_cpu: n_averaged is negative: " + std::to_string(n_averaged));
  }
  if (int s = vidtag::check_list("swa_accumulate_cpu", numel, count, {as_const(average), x})) return s;
  const float inverse_count = static_cast<float>(1.0 / static_cast<double>(n_averaged + 1));
  const ChunkPlan plan = plan_chunks(numel, count);
  for_each_chunk(plan, [&](const Chunk& c, std::size_t) {
    float* avg = average[c.tensor] + c.begin;
    const int64_t n = c.end - c.begin;
    if (x_dtype == VIDTAG_BFLOAT16) {
      swa_bf16(avg, static_cast<const uint16_t*>(x[c.tensor]) + c.begin, n, inverse_count);
    } else {
      swa_f32(avg, static_cast<const float*>(x[c.tensor]) + c.begin, n, inverse_count);
    }
  });
  return vidtag::ok();
}

VIDTAG_EXPORT int vidtag_l2_norm_cpu(const void* const* x, int dtype, const int64_t* numel,
                                     int64_t count, double* per_tensor, double* total) {
  if (int s = vidtag::check_dtype("l2_norm_cpu", dtype)) return s;
  if (int s = vidtag::check_list("l2_norm_cpu", numel, count, {x})) return s;
  const ChunkPlan plan = plan_chunks(numel, count);
  const std::vector<double> squares = sum_squares_per_tensor(plan, count, x, dtype);
  double sum = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    const double sq = squares[static_cast<std::size_t>(i)];
    if (per_tensor != nullptr) per_tensor[i] = std::sqrt(sq);
    sum += sq;
  }
  if (total != nullptr) *total = std::sqrt(sum);
  return vidtag::ok();
}

VIDTAG_EXPORT int vidtag_copy_many_cpu(void* const* dst, const void* const* src,
                                       const int64_t* nbytes, int64_t count) {
  if (int s = vidtag::check_list("copy_many_cpu", nbytes, count, {as_const(dst), src})) return s;
  copy_chunks(plan_chunks(nbytes, count), dst, src, 1);
  return vidtag::ok();
}

VIDTAG_EXPORT int vidtag_restore_cpu(float* const* param, const float* const* backup,
                                     const int64_t* numel, int64_t count) {
  if (int s = vidtag::check_list("restore_cpu", numel, count, {as_const(param), as_const(backup)})) return s;
  copy_chunks(plan_chunks(numel, count), reinterpret_cast<void* const*>(param), as_const(backup),
              sizeof(float));
  return vidtag::ok();
}

VIDTAG_EXPORT int vidtag_fgm_perturb_cpu(float* const* param, float* const* backup,
                                         const float* const* grad, const int64_t* numel,
                                         int64_t count, float epsilon, int32_t* applied) {
  if (int s = vidtag::check_list("fgm_perturb_cpu", numel, count,
                                 {as_const(param), as_const(backup), as_const(grad)})) {
    return s;
  }
  const ChunkPlan plan = plan_chunks(numel, count);
  const std::vector<double> squares = sum_squares_per_tensor(plan, count, as_const(grad), VIDTAG_FLOAT32);
  std::vector<float> scale(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    scale[static_cast<std::size_t>(i)] = normalised_scale(squares[static_cast<std::size_t>(i)], epsilon);
    if (applied != nullptr) applied[i] = scale[static_cast<std::size_t>(i)] != 0.0f;
  }
  // One pass: the backup is the unperturbed value, and the perturbed value is written from it.
  for_each_chunk(plan, [&](const Chunk& c, std::size_t) {
    const int64_t n = c.end - c.begin;
    float* p = param[c.tensor] + c.begin;
    float* b = backup[c.tensor] + c.begin;
    std::memcpy(b, p, static_cast<std::size_t>(n) * sizeof(float));
    const float s = scale[static_cast<std::size_t>(c.tensor)];
    if (s != 0.0f) add_scaled(p, b, grad[c.tensor] + c.begin, n, s);
  });
  return vidtag::ok();
}

VIDTAG_EXPORT int vidtag_pgd_step_cpu(float* const* param, const float* const* backup,
                                      const float* const* grad, const int64_t* numel, int64_t count,
                                      float alpha, float epsilon, int32_t* applied) {
  if (int s = vidtag::check_list("pgd_step_cpu", numel, count,
                                 {as_const(param), as_const(backup), as_const(grad)})) {
    return s;
  }
  if (!(epsilon >= 0.0f)) {
    return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT, "pgd_step_cpu: epsilon must be >= 0");
  }
  const ChunkPlan plan = plan_chunks(numel, count);
  const std::vector<double> squares = sum_squares_per_tensor(plan, count, as_const(grad), VIDTAG_FLOAT32);
  std::vector<float> scale(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    scale[static_cast<std::size_t>(i)] = normalised_scale(squares[static_cast<std::size_t>(i)], alpha);
    if (applied != nullptr) applied[i] = scale[static_cast<std::size_t>(i)] != 0.0f;
  }

  std::vector<double> partial(plan.chunks.size(), 0.0);
  for_each_chunk(plan, [&](const Chunk& c, std::size_t k) {
    const float s = scale[static_cast<std::size_t>(c.tensor)];
    if (s == 0.0f) return;
    partial[k] = step_and_displacement(param[c.tensor] + c.begin, backup[c.tensor] + c.begin,
                                       grad[c.tensor] + c.begin, c.end - c.begin, s);
  });
  std::vector<double> displacement(static_cast<std::size_t>(count), 0.0);
  for (std::size_t k = 0; k < plan.chunks.size(); ++k) {
    displacement[static_cast<std::size_t>(plan.chunks[k].tensor)] += partial[k];
  }

  std::vector<float> shrink(static_cast<std::size_t>(count), 1.0f);
  bool any_projection = false;
  for (int64_t i = 0; i < count; ++i) {
    const double r = std::sqrt(displacement[static_cast<std::size_t>(i)]);
    if (scale[static_cast<std::size_t>(i)] != 0.0f && r > static_cast<double>(epsilon)) {
      shrink[static_cast<std::size_t>(i)] = static_cast<float>(static_cast<double>(epsilon) / r);
      any_projection = true;
    }
  }
  if (any_projection) {
    for_each_chunk(plan, [&](const Chunk& c, std::size_t) {
      const float s = shrink[static_cast<std::size_t>(c.tensor)];
      if (s == 1.0f) return;
      shrink_towards(param[c.tensor] + c.begin, backup[c.tensor] + c.begin, c.end - c.begin, s);
    });
  }
  return vidtag::ok();
}

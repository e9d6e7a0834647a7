// CPU attention (kernels.h, "attention"): FlashAttention-style tiles on fp32 registers.
//
// The forward runs one (item, head, block of kForwardQueryBlock queries) per task and walks the
// key tiles with an exact online softmax (running max and sum, the accumulator rescaled when
// the max grows), so no Lq x Lk matrix is ever stored. The backward recomputes P from lse and
// runs one (item, head) per task. Every task's arithmetic is fixed by the shape alone, so the
// results are bitwise the same whatever the thread count.
//
// attention_cpu_kernels.inc holds the kernels proper; it is compiled here three times, for
// AVX-512, for AVX2+FMA and for plain code, each in its own namespace with its own `Vec`, and
// the `isa` argument picks one at run time. The x86 variants are GCC target regions (the
// pragma gives every function in them the same target attribute), which lets the intrinsics
// inline into templates; other compilers and other CPUs get the plain path.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "internal.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VIDTAG_ATTENTION_X86 1
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_ps(), which -Wmaybe-uninitialized
// reports wherever they inline; the warning is located in the header, so it is silenced there.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace {

// Keys per tile: a multiple of every path's gemm_nt block (2 vectors of 16 floats at most).
constexpr int64_t kKeyTile = 64;
// A whole number of every path's register blocks (6 and 8 rows for gemm_nt, 3 and 6 for gemm_nn),
// so full query blocks have no row tail.
constexpr int64_t kForwardQueryBlock = 48;
constexpr int64_t kBackwardQueryBlock = 64;
// What a key tile holds: no real key (skipped), some padding (its bias is added), only real keys.
constexpr char kTileEmpty = 0;
constexpr char kTilePartial = 1;
constexpr char kTileFull = 2;
// The widest vector, for sizing workspaces that every path shares.
constexpr int64_t kMaxWidth = 16;

// vidtag_dropout_uniform's body, where the kernels can inline it (an exported function may be
// interposed, so calls to it stay calls).
inline float dropout_uniform(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

inline float bf16_to_float(uint16_t bits) {
  const uint32_t widened = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof value);
  return value;
}

inline uint16_t float_to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if (std::isnan(value)) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // stays a NaN
  bits += 0x7FFFu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(bits >> 16);
}

// d elements of a q/k/v/out row as fp32; the caller's padding past d stays as it is (zero).
inline void load_row(const void* base, int dtype, int64_t offset, int64_t d, float* dst) {
  if (dtype == VIDTAG_BFLOAT16) {
    const uint16_t* src = static_cast<const uint16_t*>(base) + offset;
    for (int64_t t = 0; t < d; ++t) dst[t] = bf16_to_float(src[t]);
  } else {
    std::memcpy(dst, static_cast<const float*>(base) + offset, static_cast<std::size_t>(d) * sizeof(float));
  }
}

inline void store_row(const float* src, int64_t d, float factor, void* base, int dtype, int64_t offset) {
  if (dtype == VIDTAG_BFLOAT16) {
    uint16_t* dst = static_cast<uint16_t*>(base) + offset;
    for (int64_t t = 0; t < d; ++t) dst[t] = float_to_bf16(src[t] * factor);
  } else {
    float* dst = static_cast<float*>(base) + offset;
    for (int64_t t = 0; t < d; ++t) dst[t] = src[t] * factor;
  }
}

inline void store_zeros(void* base, int dtype, int64_t offset, int64_t d) {
  const std::size_t size = vidtag::element_size(dtype);
  std::memset(static_cast<char*>(base) + offset * static_cast<int64_t>(size), 0, static_cast<std::size_t>(d) * size);
}

// One call's validated arguments, with the key padding reduced per item to a key count (keys
// past it are never read) and whether the mask still has holes below it.
struct Problem {
  int64_t batch, heads, query_length, key_length, head_dim;
  int64_t q_batch_stride, q_row_stride, k_batch_stride, k_row_stride, v_batch_stride, v_row_stride;
  int dtype;
  float scale, dropout_p;
  uint64_t dropout_seed;
  const void* q;
  const void* k;
  const void* v;
  const uint8_t* key_mask;
  void* out = nullptr;  // written by the forward, read by the backward
  float* lse = nullptr;
  const float* lse_in = nullptr;
  const void* grad_out = nullptr;
  void* grad_q = nullptr;
  void* grad_k = nullptr;
  void* grad_v = nullptr;
  std::vector<int64_t> key_count;
  std::vector<char> use_mask;
};

// Per-thread scratch, sized for the widest path so that any path can use it.
struct Workspace {
  std::vector<float> k_transposed, v_transposed, k_rows, v_rows, key_bias, zero_bias;
  std::vector<char> tile_state;  // kTileEmpty, kTilePartial or kTileFull
  std::vector<float> q, o, s, dp, row_max, row_sum, dout, dq, delta, dk, dv;
  const float* k_src = nullptr;  // the packed (item, head)'s K and V rows, fp32
  const float* v_src = nullptr;
  int64_t k_ld = 0;
  int64_t v_ld = 0;
  int64_t packed_item = -1;
  int64_t packed_head = -1;

  Workspace(const Problem& p, bool backward) {
    const int64_t dpad = (p.head_dim + kMaxWidth - 1) / kMaxWidth * kMaxWidth;
    const int64_t tiles = (p.key_length + kKeyTile - 1) / kKeyTile;
    const auto n = [](int64_t count) { return static_cast<std::size_t>(count); };
    k_transposed.resize(n(tiles * kKeyTile * dpad));
    k_rows.resize(n(tiles * kKeyTile * dpad));
    v_rows.resize(n(tiles * kKeyTile * dpad));
    key_bias.resize(n(tiles * kKeyTile));
    zero_bias.resize(n(kKeyTile));
    tile_state.resize(n(tiles));
    if (backward) {
      const int64_t rows = p.query_length;
      v_transposed.resize(n(tiles * kKeyTile * dpad));
      q.resize(n(rows * dpad));
      dout.resize(n(rows * dpad));
      dq.resize(n(rows * dpad));
      delta.resize(n(rows));
      o.resize(n(dpad));
      s.resize(n(kBackwardQueryBlock * kKeyTile));
      dp.resize(n(kBackwardQueryBlock * kKeyTile));
      dk.resize(n(kKeyTile * dpad));
      dv.resize(n(kKeyTile * dpad));
    } else {
      q.resize(n(kForwardQueryBlock * dpad));
      o.resize(n(kForwardQueryBlock * dpad));
      s.resize(n(kForwardQueryBlock * kKeyTile));
      row_max.resize(n(kForwardQueryBlock));
      row_sum.resize(n(kForwardQueryBlock));
    }
  }
};

#if defined(VIDTAG_ATTENTION_X86)

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma")
namespace avx512 {
struct Vec {
  using T = __m512;
  static constexpr int kWidth = 16;
  static constexpr int kNtRows = 8;
  static constexpr int kNnRows = 6;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T x) { _mm512_storeu_ps(p, x); }
  static T broadcast(float x) { return _mm512_set1_ps(x); }
  static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static float reduce_add(T x) { return _mm512_reduce_add_ps(x); }
  static void transpose(const float* src, int64_t ld, float* dst, int64_t dst_ld) {
    for (int64_t i = 0; i < kWidth; ++i) {
      for (int64_t j = 0; j < kWidth; ++j) dst[j * dst_ld + i] = src[i * ld + j];
    }
  }
  static float reduce_max(T x) { return _mm512_reduce_max_ps(x); }
  // Cephes' expf: 2^n * e^r with |r| <= ln2 / 2, a degree-7 polynomial for e^r (about 1 ulp);
  // below -87 (and for -inf) exactly 0, which is what the padding's -inf must give.
  static T exp(T x) {
    const __mmask16 finite = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_GE_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    const T n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    T r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    T y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i exponent = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mov_ps(finite, _mm512_mul_ps(y, _mm512_castsi512_ps(exponent)));
  }
};
#include "attention_cpu_kernels.inc"
}  // namespace avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
struct Vec {
  using T = __m256;
  static constexpr int kWidth = 8;
  static constexpr int kNtRows = 6;
  static constexpr int kNnRows = 3;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T x) { _mm256_storeu_ps(p, x); }
  static T broadcast(float x) { return _mm256_set1_ps(x); }
  static T fmadd(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static float reduce_add(T x) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
  }
  static float reduce_max(T x) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_shuffle_ps(s, s, 1)));
  }
  // dst[j][i] = src[i][j] for an 8 x 8 block.
  static void transpose(const float* src, int64_t ld, float* dst, int64_t dst_ld) {
    T r[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ld);
    T t[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    T u[8];
    for (int i = 0; i < 8; i += 4) {
      u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; ++i) {
      _mm256_storeu_ps(dst + i * dst_ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
      _mm256_storeu_ps(dst + (i + 4) * dst_ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
    }
  }
  // As avx512::Vec::exp.
  static T exp(T x) {
    const T finite = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_GE_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const T n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    T r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    T y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i exponent = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(y, _mm256_castsi256_ps(exponent)), finite);
  }
};
#include "attention_cpu_kernels.inc"
}  // namespace avx2
#pragma GCC pop_options

#endif  // VIDTAG_ATTENTION_X86

namespace baseline {
// One float per "vector": the same kernels as plain scalar code, for any CPU.
struct Vec {
  using T = float;
  static constexpr int kWidth = 1;
  static constexpr int kNtRows = 4;
  static constexpr int kNnRows = 4;
  static T zero() { return 0.0f; }
  static T load(const float* p) { return *p; }
  static void store(float* p, T x) { *p = x; }
  static T broadcast(float x) { return x; }
  static T fmadd(T a, T b, T c) { return a * b + c; }
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T mul(T a, T b) { return a * b; }
  static T max(T a, T b) { return std::max(a, b); }
  static float reduce_add(T x) { return x; }
  static float reduce_max(T x) { return x; }
  static T exp(T x) { return std::exp(x); }
  static void transpose(const float* src, int64_t, float* dst, int64_t) { *dst = *src; }
};
#include "attention_cpu_kernels.inc"
}  // namespace baseline

struct Path {
  void (*forward_rows)(const Problem&, Workspace&, int64_t, int64_t, int64_t, int64_t);
  void (*backward_head)(const Problem&, Workspace&, int64_t, int64_t);
};

int choose_path(const char* kernel, int isa, Path* path) {
  const uint32_t features = vidtag_cpu_features();
  if (isa == VIDTAG_ISA_AUTO) {
    isa = (features & VIDTAG_CPU_AVX512) ? VIDTAG_ISA_AVX512
          : (features & VIDTAG_CPU_AVX2_FMA) ? VIDTAG_ISA_AVX2
                                             : VIDTAG_ISA_BASELINE;
  }
  switch (isa) {
    case VIDTAG_ISA_BASELINE:
      *path = {baseline::forward_rows, baseline::backward_head};
      return vidtag::ok();
#if defined(VIDTAG_ATTENTION_X86)
    case VIDTAG_ISA_AVX2:
      if (!(features & VIDTAG_CPU_AVX2_FMA)) break;
      *path = {avx2::forward_rows, avx2::backward_head};
      return vidtag::ok();
    case VIDTAG_ISA_AVX512:
      if (!(features & VIDTAG_CPU_AVX512)) break;
      *path = {avx512::forward_rows, avx512::backward_head};
      return vidtag::ok();
#else
    case VIDTAG_ISA_AVX2:
    case VIDTAG_ISA_AVX512:
      break;
#endif
    default:
      return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT,
                          std::string(kernel) + ": unknown isa " + std::to_string(isa));
  }
  return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT, std::string(kernel) + ": isa " + std::to_string(isa) +
                                                       " is not supported by this CPU (or build)");
}

int invalid(const char* kernel, const std::string& message) {
  return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT, std::string(kernel) + ": " + message);
}

// Validates what forward and backward share and fills `problem` from it.
int prepare(const char* kernel, const vidtag_attention_shape* shape, const void* q, const void* k,
            const void* v, const int32_t* key_lengths, const uint8_t* key_mask, int isa,
            Problem* problem, Path* path) {
  if (shape == nullptr) return invalid(kernel, "shape is null");
  if (q == nullptr) return invalid(kernel, "q is null");
  if (k == nullptr) return invalid(kernel, "k is null");
  if (v == nullptr) return invalid(kernel, "v is null");
  const vidtag_attention_shape& s = *shape;
  const struct {
    const char* name;
    int64_t value;
  } sizes[] = {{"batch", s.batch}, {"heads", s.heads}, {"query_length", s.query_length},
               {"key_length", s.key_length}, {"head_dim", s.head_dim}};
  for (const auto& size : sizes) {
    if (size.value <= 0) return invalid(kernel, std::string(size.name) + " must be positive: " + std::to_string(size.value));
  }
  const int64_t model_dim = s.heads * s.head_dim;
  const struct {
    const char* name;
    int64_t row, batch;
  } strides[] = {{"q", s.q_row_stride, s.q_batch_stride},
                 {"k", s.k_row_stride, s.k_batch_stride},
                 {"v", s.v_row_stride, s.v_batch_stride}};
  for (const auto& stride : strides) {
    if (stride.row < model_dim) {
      return invalid(kernel, std::string(stride.name) + "_row_stride " + std::to_string(stride.row) +
                                 " is less than heads * head_dim = " + std::to_string(model_dim));
    }
    if (stride.batch < 0) {
      return invalid(kernel, std::string(stride.name) + "_batch_stride is negative");
    }
  }
  if (s.dtype != VIDTAG_FLOAT32 && s.dtype != VIDTAG_BFLOAT16) {
    return invalid(kernel, "unknown dtype " + std::to_string(s.dtype));
  }
  if (!(s.dropout_p >= 0.0f && s.dropout_p < 1.0f)) {
    return invalid(kernel, "dropout_p must be in [0, 1): " + std::to_string(s.dropout_p));
  }
  if (!std::isfinite(s.scale)) return invalid(kernel, "scale is not finite");
  if (key_lengths != nullptr && key_mask != nullptr) {
    return invalid(kernel, "key_lengths and key_mask are both given; pass at most one");
  }
  if (key_lengths != nullptr) {
    for (int64_t b = 0; b < s.batch; ++b) {
      if (key_lengths[b] < 0 || key_lengths[b] > s.key_length) {
        return invalid(kernel, "key_lengths[" + std::to_string(b) + "] = " + std::to_string(key_lengths[b]) +
                                   " is outside [0, key_length = " + std::to_string(s.key_length) + "]");
      }
    }
  }
  if (int status = choose_path(kernel, isa, path)) return status;

  Problem& p = *problem;
  p.batch = s.batch;
  p.heads = s.heads;
  p.query_length = s.query_length;
  p.key_length = s.key_length;
  p.head_dim = s.head_dim;
  p.q_batch_stride = s.q_batch_stride;
  p.q_row_stride = s.q_row_stride;
  p.k_batch_stride = s.k_batch_stride;
  p.k_row_stride = s.k_row_stride;
  p.v_batch_stride = s.v_batch_stride;
  p.v_row_stride = s.v_row_stride;
  p.dtype = s.dtype;
  p.scale = s.scale;
  p.dropout_p = s.dropout_p;
  p.dropout_seed = s.dropout_seed;
  p.q = q;
  p.k = k;
  p.v = v;
  p.key_mask = key_mask;
  p.key_count.assign(static_cast<std::size_t>(s.batch), s.key_length);
  p.use_mask.assign(static_cast<std::size_t>(s.batch), 0);
  for (int64_t b = 0; b < s.batch; ++b) {
    // An item without a real key attends over all keys (the models' additive bias does the
    // same): key count Lk and no mask.
    if (key_lengths != nullptr && key_lengths[b] > 0) {
      p.key_count[static_cast<std::size_t>(b)] = key_lengths[b];
    } else if (key_mask != nullptr) {
      int64_t last = s.key_length - 1;
      while (last >= 0 && key_mask[b * s.key_length + last] == 0) --last;
      if (last >= 0) {
        p.key_count[static_cast<std::size_t>(b)] = last + 1;
        p.use_mask[static_cast<std::size_t>(b)] = 1;
      }
    }
  }
  return VIDTAG_OK;
}

// Runs body(workspace, task) for tasks 0 .. tasks - 1 on the OpenMP threads: statically in
// contiguous runs (the forward, whose neighbouring tasks share packed keys) or dynamically (the
// backward, whose tasks differ with the key lengths). The workspaces are allocated here first,
// so that running out of memory is a status rather than std::terminate in a parallel region.
template <class Body>
int run_tasks(const char* kernel, const Problem& p, bool backward, int64_t tasks, Body body) {
  const int threads = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), tasks));
  std::vector<Workspace> workspaces;
  try {
    workspaces.reserve(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) workspaces.emplace_back(p, backward);
  } catch (const std::bad_alloc&) {
    return vidtag::fail(VIDTAG_ERR_OUT_OF_MEMORY, std::string(kernel) + ": out of memory for the workspaces");
  }
#pragma omp parallel num_threads(threads)
  {
    Workspace& ws = workspaces[static_cast<std::size_t>(omp_get_thread_num())];
    if (backward) {
#pragma omp for schedule(dynamic)
      for (int64_t task = 0; task < tasks; ++task) body(ws, task);
    } else {
#pragma omp for schedule(static)
      for (int64_t task = 0; task < tasks; ++task) body(ws, task);
    }
  }
  return vidtag::ok();
}

}  // namespace

VIDTAG_EXPORT float vidtag_dropout_uniform(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

VIDTAG_EXPORT int vidtag_attention_forward_cpu(const vidtag_attention_shape* shape, const void* q,
                                               const void* k, const void* v,
                                               const int32_t* key_lengths, const uint8_t* key_mask,
                                               void* out, float* lse, int isa) {
  const char* kernel = "attention_forward_cpu";
  Problem p;
  Path path;
  if (int status = prepare(kernel, shape, q, k, v, key_lengths, key_mask, isa, &p, &path)) return status;
  if (out == nullptr) return invalid(kernel, "out is null");
  p.out = out;
  p.lse = lse;
  const int64_t blocks = (p.query_length + kForwardQueryBlock - 1) / kForwardQueryBlock;
  const int64_t tasks = p.batch * p.heads * blocks;
  return run_tasks(kernel, p, false, tasks, [&](Workspace& ws, int64_t task) {
    const int64_t item_head = task / blocks;
    const int64_t q0 = (task % blocks) * kForwardQueryBlock;
    path.forward_rows(p, ws, item_head / p.heads, item_head % p.heads, q0,
                      std::min(kForwardQueryBlock, p.query_length - q0));
  });
}

VIDTAG_EXPORT int vidtag_attention_backward_cpu(const vidtag_attention_shape* shape, const void* q,
                                                const void* k, const void* v,
                                                const int32_t* key_lengths, const uint8_t* key_mask,
                                                const void* out, const float* lse,
                                                const void* grad_out, void* grad_q, void* grad_k,
                                                void* grad_v, int isa) {
  const char* kernel = "attention_backward_cpu";
  Problem p;
  Path path;
  if (int status = prepare(kernel, shape, q, k, v, key_lengths, key_mask, isa, &p, &path)) return status;
  if (out == nullptr) return invalid(kernel, "out is null");
  if (lse == nullptr) return invalid(kernel, "lse is null");
  if (grad_out == nullptr) return invalid(kernel, "grad_out is null");
  if (grad_q == nullptr) return invalid(kernel, "grad_q is null");
  if (grad_k == nullptr) return invalid(kernel, "grad_k is null");
  if (grad_v == nullptr) return invalid(kernel, "grad_v is null");
  p.out = const_cast<void*>(out);  // only read here
  p.lse_in = lse;
  p.grad_out = grad_out;
  p.grad_q = grad_q;
  p.grad_k = grad_k;
  p.grad_v = grad_v;
  const int64_t tasks = p.batch * p.heads;
  return run_tasks(kernel, p, true, tasks, [&](Workspace& ws, int64_t task) {
    path.backward_head(p, ws, task / p.heads, task % p.heads);
  });
}

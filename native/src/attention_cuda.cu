// CUDA attention (kernels.h, "attention").
//
// Forward: one launch, flash-attention style. A block of kWarps warps owns one (item, head) and
// a tile of kWarps * kRows query rows; it walks the keys in tiles of kKeys = 32, staged in
// shared memory, keeping a running max and sum per row (online softmax, fp32, in the base-2
// domain so that each exponential is one exp2f). Lane j of a warp scores key j of the tile for
// all of its warp's rows; the probabilities then go through a per-warp shared array so that each
// lane can accumulate its own head_dim / 32 consecutive output columns. Key tiles past the
// item's last real key are never loaded.
//
// Backward: three launches, no atomics, so the gradients are bitwise repeatable:
//   1. D[row] = <dO[row], O[row]> (fp32 scratch from cudaMallocAsync on the stream);
//   2. dK, dV: a block per (item, head, key tile) loops over all query tiles, P recomputed from
//      lse; each warp keeps its keys' dK and dV rows in registers;
//   3. dQ: a block per (item, head, query tile) loops over the key tiles, likewise.
// Every gradient element is accumulated in fp32 registers by one thread and written once, so
// bf16 gradients need no fp32 scratch copy: they are rounded (to nearest even) at the store.
// P and dP are computed twice (once per pass); that costs about 40% more arithmetic than an
// atomicAdd-based dQ, the price of determinism.
//
// The kernels are plain fp32 FMA (no tensor cores): fp32 inputs get fp32 products, which the
// float64 comparison in native/gpu-check can hold to 1e-5; bf16 inputs are widened on load.
//
// Head dimensions: kernels are instantiated for a padded width kD of 32, 64 and 128; a head_dim
// below kD (40 runs as 64) is zero-padded in shared memory, so 64 and 32 are the exact paths.
// Wider heads are refused (VIDTAG_ERR_INVALID_ARGUMENT) rather than run slowly.
//
// Host synchronisation: none. The backward's D scratch is stream-ordered (cudaMallocAsync /
// cudaFreeAsync), so it lives exactly as long as the kernels that read it. key_lengths and
// key_mask are device data the host never sees: a length outside [0, Lk] is clamped there.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "internal.h"

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kKeys = 32;  // keys per tile: one per lane
constexpr int kMaxHeadDim = 128;
// Row tiles go in grid y (at most 65535 tiles of 16 or more rows).
constexpr int64_t kMaxLength = int64_t{1} << 19;
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Rows (queries, or keys in the dK/dV pass) per warp: 8 keeps two tiles' worth of work per
// shared-memory load; 128-wide heads use 4 so that the tiles fit Turing's 64 KiB of shared
// memory and the accumulators stay in registers.
template <int kD>
constexpr int kRowsPerWarp = kD >= 128 ? 4 : 8;
// Query sets this short (cross-attention of a few frames) take 4 rows per warp in the forward
// and dQ passes: with 8, a 14-query call would compute 32 rows for 14.
constexpr int kShortQueries = 16;

// Rows of a shared tile that one lane reads whole (lane-parallel dot products) are padded by 4
// floats, which keeps 16-byte loads of 32 different rows free of bank conflicts.
template <int kD>
constexpr int kPitch = kD + 4;

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ void store_value(float* p, float x) { *p = x; }
__device__ __forceinline__ void store_value(__nv_bfloat16* p, float x) {
  *p = __float2bfloat16_rn(x);
}

// The same splitmix64 as vidtag_dropout_uniform (attention_cpu.cpp), bit for bit.
__device__ __forceinline__ float dropout_uniform(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

struct Params {
  const void* q;
  const void* k;
  const void* v;
  const int32_t* key_lengths;
  const uint8_t* key_mask;
  int heads;
  int lq;
  int lk;
  int head_dim;
  int64_t q_batch_stride, q_row_stride;
  int64_t k_batch_stride, k_row_stride;
  int64_t v_batch_stride, v_row_stride;
  int64_t items_heads;  // batch * heads
  float scale;
  float scale_log2;  // scale * log2(e): scores in the base-2 domain
  float dropout_p;
  float keep_scale;  // 1 / (1 - p)
  uint64_t seed;
  // forward
  void* out;
  float* lse;
  // backward
  const void* o;
  const float* lse_in;
  const void* d_out;
  float* delta;  // D = rowsum(dO * O), [B*H, Lq]: written by the first pass, read by the others
  void* d_q;
  void* d_k;
  void* d_v;
};

// The keys an item attends: [0, end), further filtered by the mask when `masked`. An item with
// no real key attends all Lk keys alike (the header's all-padding rule). Block-uniform; every
// thread of the block must call it.
struct Keys {
  int end;
  bool masked;
  const uint8_t* mask;  // the item's row of key_mask when masked

  __device__ bool real(int j) const { return j < end && (!masked || mask[j] != 0); }
};

__device__ Keys item_keys(const Params& p, int b) {
  if (p.key_lengths != nullptr) {
    // Device values cannot be checked on the host without a synchronisation: a length outside
    // [0, Lk] is clamped, so a negative one counts as no real key.
    const int n = min(max(p.key_lengths[b], 0), p.lk);
    return Keys{n == 0 ? p.lk : n, false, nullptr};
  }
  if (p.key_mask != nullptr) {
    const uint8_t* row = p.key_mask + static_cast<int64_t>(b) * p.lk;
    __shared__ int last;
    if (threadIdx.x == 0) last = -1;
    __syncthreads();
    int mine = -1;
    for (int j = threadIdx.x; j < p.lk; j += kThreads) {
      if (row[j] != 0) mine = j;
    }
    if (mine >= 0) atomicMax(&last, mine);
    __syncthreads();
    const int l = last;
    return l < 0 ? Keys{p.lk, false, nullptr} : Keys{l + 1, true, row};
  }
  return Keys{p.lk, false, nullptr};
}

// rows x kD elements of a strided [L, heads*head_dim] operand (head h) into shared memory with
// row pitch `pitch`; rows past `limit` and columns past head_dim become 0. With `keys`, rows
// that are not real keys become 0 too, so that a zero probability never meets a NaN there.
template <typename T, int kD>
__device__ void load_tile(float* dst, int pitch, const T* src, int64_t row_stride, int first,
                          int rows, int limit, int head_dim, const Keys* keys) {
  for (int e = threadIdx.x; e < rows * kD; e += kThreads) {
    const int r = e / kD;
    const int t = e % kD;
    const int row = first + r;
    float x = 0.0f;
    if (row < limit && t < head_dim && (keys == nullptr || keys->real(row))) {
      x = to_float(src[row * row_stride + t]);
    }
    dst[r * pitch + t] = x;
  }
}

__device__ __forceinline__ float dot4(const float4& a, const float4& b, float acc) {
  acc = fmaf(a.x, b.x, acc);
  acc = fmaf(a.y, b.y, acc);
  acc = fmaf(a.z, b.z, acc);
  return fmaf(a.w, b.w, acc);
}

__device__ __forceinline__ float4 ld4(const float* p) {
  return *reinterpret_cast<const float4*>(p);
}

__device__ __forceinline__ uint64_t dropout_index(const Params& p, int bh, int i, int j) {
  return (static_cast<uint64_t>(bh) * static_cast<uint64_t>(p.lq) + static_cast<uint64_t>(i)) *
             static_cast<uint64_t>(p.lk) +
         static_cast<uint64_t>(j);
}

// Columns a lane owns when it accumulates a row: kD / 32 consecutive ones.
template <int kD>
constexpr int kColsPerLane = kD / 32;

template <int N>
__device__ __forceinline__ void load_cols(const float* p, float (&x)[N]) {
  if constexpr (N == 4) {
    const float4 v = ld4(p);
    x[0] = v.x, x[1] = v.y, x[2] = v.z, x[3] = v.w;
  } else if constexpr (N == 2) {
    const float2 v = *reinterpret_cast<const float2*>(p);
    x[0] = v.x, x[1] = v.y;
  } else {
#pragma unroll
    for (int c = 0; c < N; ++c) x[c] = p[c];
  }
}

template <typename T>
__device__ __forceinline__ const T* head_base(const void* base, int64_t batch_stride, int b, int h,
                                              int head_dim) {
  return static_cast<const T*>(base) + b * batch_stride + static_cast<int64_t>(h) * head_dim;
}

// ---- forward ---------------------------------------------------------------------------------

template <typename T, int kD, int kR>
__global__ void __launch_bounds__(kThreads) attention_forward_kernel(const Params p) {
  constexpr int kRowsPerBlock = kWarps * kR;
  constexpr int kP = kPitch<kD>;
  constexpr int kC = kColsPerLane<kD>;
  extern __shared__ float4 smem4[];
  float* s_q = reinterpret_cast<float*>(smem4);  // [kRowsPerBlock][kD], read broadcast
  float* s_k = s_q + kRowsPerBlock * kD;         // [kKeys][kP], a row per lane
  float* s_v = s_k + kKeys * kP;                 // [kKeys][kP]
  float* s_p = s_v + kKeys * kP;                 // [kWarps][kR][kKeys]

  const int bh = blockIdx.x;
  const int b = bh / p.heads;
  const int h = bh % p.heads;
  const int q0 = blockIdx.y * kRowsPerBlock;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const Keys keys = item_keys(p, b);

  const T* q = head_base<T>(p.q, p.q_batch_stride, b, h, p.head_dim);
  const T* k = head_base<T>(p.k, p.k_batch_stride, b, h, p.head_dim);
  const T* v = head_base<T>(p.v, p.v_batch_stride, b, h, p.head_dim);
  load_tile<T, kD>(s_q, kD, q, p.q_row_stride, q0, kRowsPerBlock, p.lq, p.head_dim, nullptr);

  float m[kR], l[kR], acc[kR][kC];
#pragma unroll
  for (int r = 0; r < kR; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
#pragma unroll
    for (int c = 0; c < kC; ++c) acc[r][c] = 0.0f;
  }
  const float* my_q = s_q + warp * kR * kD;
  float* my_p = s_p + warp * kR * kKeys;
  const bool dropout = p.dropout_p > 0.0f;

  for (int k0 = 0; k0 < keys.end; k0 += kKeys) {
    __syncthreads();  // the previous tile is consumed (and, first time, s_q is complete)
    load_tile<T, kD>(s_k, kP, k, p.k_row_stride, k0, kKeys, keys.end, p.head_dim, &keys);
    load_tile<T, kD>(s_v, kP, v, p.v_row_stride, k0, kKeys, keys.end, p.head_dim, &keys);
    __syncthreads();

    const int j = k0 + lane;
    const bool real = keys.real(j);
    float s[kR];
#pragma unroll
    for (int r = 0; r < kR; ++r) s[r] = 0.0f;
#pragma unroll 4
    for (int t = 0; t < kD; t += 4) {
      const float4 kv = ld4(s_k + lane * kP + t);
#pragma unroll
      for (int r = 0; r < kR; ++r) s[r] = dot4(ld4(my_q + r * kD + t), kv, s[r]);
    }
#pragma unroll
    for (int r = 0; r < kR; ++r) {
      const float x = real ? s[r] * p.scale_log2 : -INFINITY;
      const float m_new = fmaxf(m[r], warp_max(x));
      float e = 0.0f;
      float alpha = 1.0f;
      // Warp-uniform: a tile without a real key leaves a row that has seen none untouched
      // (exp2(-inf - -inf) would be NaN).
      if (m_new != -INFINITY) {
        e = exp2f(x - m_new);
        alpha = exp2f(m[r] - m_new);
      }
      l[r] = l[r] * alpha + warp_sum(e);
      m[r] = m_new;
      if (dropout) {
        const int i = q0 + warp * kR + r;
        const bool keep = dropout_uniform(p.seed, dropout_index(p, bh, i, j)) >= p.dropout_p;
        e = keep ? e * p.keep_scale : 0.0f;
      }
      my_p[r * kKeys + lane] = e;
#pragma unroll
      for (int c = 0; c < kC; ++c) acc[r][c] *= alpha;
    }
    __syncwarp();
#pragma unroll 2
    for (int jj = 0; jj < kKeys; jj += 4) {
      float4 pr[kR];
#pragma unroll
      for (int r = 0; r < kR; ++r) pr[r] = ld4(my_p + r * kKeys + jj);
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        float vv[kC];
        load_cols(s_v + (jj + u) * kP + lane * kC, vv);
#pragma unroll
        for (int r = 0; r < kR; ++r) {
          const float w = u == 0 ? pr[r].x : u == 1 ? pr[r].y : u == 2 ? pr[r].z : pr[r].w;
#pragma unroll
          for (int c = 0; c < kC; ++c) acc[r][c] = fmaf(w, vv[c], acc[r][c]);
        }
      }
    }
    __syncwarp();  // my_p is rewritten by the next tile
  }

  const int64_t out_row = static_cast<int64_t>(p.heads) * p.head_dim;
  T* out = static_cast<T*>(p.out) + static_cast<int64_t>(b) * p.lq * out_row +
           static_cast<int64_t>(h) * p.head_dim;
#pragma unroll
  for (int r = 0; r < kR; ++r) {
    const int i = q0 + warp * kR + r;
    if (i >= p.lq) continue;
    // keys.end >= 1 and the first key tile holds a real key (or all keys are), so l > 0.
    const float inv = 1.0f / l[r];
#pragma unroll
    for (int c = 0; c < kC; ++c) {
      const int t = lane * kC + c;
      if (t < p.head_dim) store_value(out + i * out_row + t, acc[r][c] * inv);
    }
    if (p.lse != nullptr && lane == 0) {
      p.lse[static_cast<int64_t>(bh) * p.lq + i] = (m[r] + log2f(l[r])) * kLn2;
    }
  }
}

// ---- backward --------------------------------------------------------------------------------

// D[(b*H + h)*Lq + i] = <dO[b,i,h,:], O[b,i,h,:]>: a warp per row.
template <typename T>
__global__ void __launch_bounds__(kThreads) attention_delta_kernel(const Params p) {
  const int64_t rows = p.items_heads * p.lq;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int64_t bh = row / p.lq;
  const int i = static_cast<int>(row % p.lq);
  const int b = static_cast<int>(bh / p.heads);
  const int h = static_cast<int>(bh % p.heads);
  const int64_t offset = (static_cast<int64_t>(b) * p.lq + i) * p.heads * p.head_dim +
                         static_cast<int64_t>(h) * p.head_dim;
  const T* o = static_cast<const T*>(p.o) + offset;
  const T* d_o = static_cast<const T*>(p.d_out) + offset;
  float acc = 0.0f;
  for (int t = lane; t < p.head_dim; t += 32) acc = fmaf(to_float(o[t]), to_float(d_o[t]), acc);
  acc = warp_sum(acc);
  if (lane == 0) p.delta[row] = acc;
}

// P[i,j] (before dropout) and dS[i,j] = P (dP * keep/(1-p) - D_i), dP = <dO_i, v_j>; also the
// dropped probability that dV accumulates. Zero for keys that are not real.
struct Grads {
  float p_dropped;
  float ds;
};

__device__ __forceinline__ Grads pair_grads(const Params& p, bool real, float s, float dp,
                                            float lse2, float delta, int bh, int i, int j) {
  if (!real) return Grads{0.0f, 0.0f};
  const float prob = exp2f(s * p.scale_log2 - lse2);
  float factor = 1.0f;
  if (p.dropout_p > 0.0f) {
    const bool keep = dropout_uniform(p.seed, dropout_index(p, bh, i, j)) >= p.dropout_p;
    factor = keep ? p.keep_scale : 0.0f;
  }
  return Grads{prob * factor, prob * (dp * factor - delta)};
}

// dK and dV of one key tile (kWarps * kR keys): lane i of a warp takes query i of each query
// tile and the warp's kR keys; the per-key gradient rows then accumulate over the lanes'
// queries through per-warp shared arrays, each lane owning kD / 32 columns.
template <typename T, int kD>
__global__ void __launch_bounds__(kThreads) attention_dkdv_kernel(const Params p) {
  constexpr int kR = kRowsPerWarp<kD>;
  constexpr int kKeysPerBlock = kWarps * kR;
  constexpr int kQueries = 32;
  constexpr int kP = kPitch<kD>;
  constexpr int kC = kColsPerLane<kD>;
  extern __shared__ float4 smem4[];
  float* s_k = reinterpret_cast<float*>(smem4);  // [kKeysPerBlock][kD], read broadcast
  float* s_v = s_k + kKeysPerBlock * kD;
  float* s_q = s_v + kKeysPerBlock * kD;  // [kQueries][kP], a row per lane
  float* s_do = s_q + kQueries * kP;
  float* s_pd = s_do + kQueries * kP;  // [kWarps][kR][kQueries]: dropped P
  float* s_ds = s_pd + kWarps * kR * kQueries;
  float* s_lse2 = s_ds + kWarps * kR * kQueries;  // [kQueries]
  float* s_delta = s_lse2 + kQueries;

  const int bh = blockIdx.x;
  const int b = bh / p.heads;
  const int h = bh % p.heads;
  const int j0 = blockIdx.y * kKeysPerBlock;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const Keys keys = item_keys(p, b);
  const int64_t grad_row = static_cast<int64_t>(p.heads) * p.head_dim;

  float dk[kR][kC], dv[kR][kC];
#pragma unroll
  for (int r = 0; r < kR; ++r) {
#pragma unroll
    for (int c = 0; c < kC; ++c) dk[r][c] = dv[r][c] = 0.0f;
  }

  if (j0 < keys.end) {  // block-uniform: tiles past the last real key only write zeros
    const T* k = head_base<T>(p.k, p.k_batch_stride, b, h, p.head_dim);
    const T* v = head_base<T>(p.v, p.v_batch_stride, b, h, p.head_dim);
    const T* q = head_base<T>(p.q, p.q_batch_stride, b, h, p.head_dim);
    const T* d_o = static_cast<const T*>(p.d_out) + static_cast<int64_t>(b) * p.lq * grad_row +
                   static_cast<int64_t>(h) * p.head_dim;
    load_tile<T, kD>(s_k, kD, k, p.k_row_stride, j0, kKeysPerBlock, keys.end, p.head_dim, &keys);
    load_tile<T, kD>(s_v, kD, v, p.v_row_stride, j0, kKeysPerBlock, keys.end, p.head_dim, &keys);
    const float* my_k = s_k + warp * kR * kD;
    const float* my_v = s_v + warp * kR * kD;
    float* my_pd = s_pd + warp * kR * kQueries;
    float* my_ds = s_ds + warp * kR * kQueries;
    bool real[kR];
#pragma unroll
    for (int r = 0; r < kR; ++r) real[r] = keys.real(j0 + warp * kR + r);

    for (int i0 = 0; i0 < p.lq; i0 += kQueries) {
      __syncthreads();
      load_tile<T, kD>(s_q, kP, q, p.q_row_stride, i0, kQueries, p.lq, p.head_dim, nullptr);
      load_tile<T, kD>(s_do, kP, d_o, grad_row, i0, kQueries, p.lq, p.head_dim, nullptr);
      if (threadIdx.x < kQueries) {
        const int i = i0 + threadIdx.x;
        const int64_t row = static_cast<int64_t>(bh) * p.lq + i;
        s_lse2[threadIdx.x] = i < p.lq ? p.lse_in[row] * kLog2e : INFINITY;  // P = 0 past Lq
        s_delta[threadIdx.x] = i < p.lq ? p.delta[row] : 0.0f;
      }
      __syncthreads();

      const int i = i0 + lane;
      float s[kR], dp[kR];
#pragma unroll
      for (int r = 0; r < kR; ++r) s[r] = dp[r] = 0.0f;
#pragma unroll 4
      for (int t = 0; t < kD; t += 4) {
        const float4 qv = ld4(s_q + lane * kP + t);
        const float4 gv = ld4(s_do + lane * kP + t);
#pragma unroll
        for (int r = 0; r < kR; ++r) {
          s[r] = dot4(qv, ld4(my_k + r * kD + t), s[r]);
          dp[r] = dot4(gv, ld4(my_v + r * kD + t), dp[r]);
        }
      }
      const float lse2 = s_lse2[lane];
      const float delta = s_delta[lane];
#pragma unroll
      for (int r = 0; r < kR; ++r) {
        const Grads g = pair_grads(p, real[r] && i < p.lq, s[r], dp[r], lse2, delta, bh, i,
                                   j0 + warp * kR + r);
        my_pd[r * kQueries + lane] = g.p_dropped;
        my_ds[r * kQueries + lane] = g.ds;
      }
      __syncwarp();
#pragma unroll 2
      for (int ii = 0; ii < kQueries; ii += 4) {
        float4 pd[kR], ds[kR];
#pragma unroll
        for (int r = 0; r < kR; ++r) {
          pd[r] = ld4(my_pd + r * kQueries + ii);
          ds[r] = ld4(my_ds + r * kQueries + ii);
        }
#pragma unroll
        for (int u = 0; u < 4; ++u) {
          float gq[kC], qq[kC];
          load_cols(s_do + (ii + u) * kP + lane * kC, gq);
          load_cols(s_q + (ii + u) * kP + lane * kC, qq);
#pragma unroll
          for (int r = 0; r < kR; ++r) {
            const float wp = u == 0 ? pd[r].x : u == 1 ? pd[r].y : u == 2 ? pd[r].z : pd[r].w;
            const float ws = u == 0 ? ds[r].x : u == 1 ? ds[r].y : u == 2 ? ds[r].z : ds[r].w;
#pragma unroll
            for (int c = 0; c < kC; ++c) {
              dv[r][c] = fmaf(wp, gq[c], dv[r][c]);
              dk[r][c] = fmaf(ws, qq[c], dk[r][c]);
            }
          }
        }
      }
      __syncwarp();
    }
  }

  // dS is the gradient of the scaled scores; dK = scale * dS^T Q.
  const float scale = p.scale;
  T* d_k = static_cast<T*>(p.d_k) + static_cast<int64_t>(b) * p.lk * grad_row +
           static_cast<int64_t>(h) * p.head_dim;
  T* d_v = static_cast<T*>(p.d_v) + static_cast<int64_t>(b) * p.lk * grad_row +
           static_cast<int64_t>(h) * p.head_dim;
#pragma unroll
  for (int r = 0; r < kR; ++r) {
    const int j = j0 + warp * kR + r;
    if (j >= p.lk) continue;
#pragma unroll
    for (int c = 0; c < kC; ++c) {
      const int t = lane * kC + c;
      if (t < p.head_dim) {
        store_value(d_k + j * grad_row + t, dk[r][c] * scale);
        store_value(d_v + j * grad_row + t, dv[r][c]);
      }
    }
  }
}

// dQ of one query tile: the forward's shape, with dS in place of P and K in place of V.
template <typename T, int kD, int kR>
__global__ void __launch_bounds__(kThreads) attention_dq_kernel(const Params p) {
  constexpr int kRowsPerBlock = kWarps * kR;
  constexpr int kP = kPitch<kD>;
  constexpr int kC = kColsPerLane<kD>;
  extern __shared__ float4 smem4[];
  float* s_q = reinterpret_cast<float*>(smem4);  // [kRowsPerBlock][kD], read broadcast
  float* s_do = s_q + kRowsPerBlock * kD;
  float* s_k = s_do + kRowsPerBlock * kD;  // [kKeys][kP], a row per lane
  float* s_v = s_k + kKeys * kP;
  float* s_ds = s_v + kKeys * kP;  // [kWarps][kR][kKeys]

  const int bh = blockIdx.x;
  const int b = bh / p.heads;
  const int h = bh % p.heads;
  const int q0 = blockIdx.y * kRowsPerBlock;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const Keys keys = item_keys(p, b);
  const int64_t grad_row = static_cast<int64_t>(p.heads) * p.head_dim;

  const T* q = head_base<T>(p.q, p.q_batch_stride, b, h, p.head_dim);
  const T* k = head_base<T>(p.k, p.k_batch_stride, b, h, p.head_dim);
  const T* v = head_base<T>(p.v, p.v_batch_stride, b, h, p.head_dim);
  const T* d_o = static_cast<const T*>(p.d_out) + static_cast<int64_t>(b) * p.lq * grad_row +
                 static_cast<int64_t>(h) * p.head_dim;
  load_tile<T, kD>(s_q, kD, q, p.q_row_stride, q0, kRowsPerBlock, p.lq, p.head_dim, nullptr);
  load_tile<T, kD>(s_do, kD, d_o, grad_row, q0, kRowsPerBlock, p.lq, p.head_dim, nullptr);

  float lse2[kR], delta[kR], dq[kR][kC];
#pragma unroll
  for (int r = 0; r < kR; ++r) {
    const int i = q0 + warp * kR + r;
    const int64_t row = static_cast<int64_t>(bh) * p.lq + i;
    lse2[r] = i < p.lq ? p.lse_in[row] * kLog2e : INFINITY;
    delta[r] = i < p.lq ? p.delta[row] : 0.0f;
#pragma unroll
    for (int c = 0; c < kC; ++c) dq[r][c] = 0.0f;
  }
  const float* my_q = s_q + warp * kR * kD;
  const float* my_do = s_do + warp * kR * kD;
  float* my_ds = s_ds + warp * kR * kKeys;

  for (int k0 = 0; k0 < keys.end; k0 += kKeys) {
    __syncthreads();
    load_tile<T, kD>(s_k, kP, k, p.k_row_stride, k0, kKeys, keys.end, p.head_dim, &keys);
    load_tile<T, kD>(s_v, kP, v, p.v_row_stride, k0, kKeys, keys.end, p.head_dim, &keys);
    __syncthreads();

    const int j = k0 + lane;
    const bool real = keys.real(j);
    float s[kR], dp[kR];
#pragma unroll
    for (int r = 0; r < kR; ++r) s[r] = dp[r] = 0.0f;
#pragma unroll 4
    for (int t = 0; t < kD; t += 4) {
      const float4 kv = ld4(s_k + lane * kP + t);
      const float4 vv = ld4(s_v + lane * kP + t);
#pragma unroll
      for (int r = 0; r < kR; ++r) {
        s[r] = dot4(ld4(my_q + r * kD + t), kv, s[r]);
        dp[r] = dot4(ld4(my_do + r * kD + t), vv, dp[r]);
      }
    }
#pragma unroll
    for (int r = 0; r < kR; ++r) {
      const int i = q0 + warp * kR + r;
      const Grads g = pair_grads(p, real && i < p.lq, s[r], dp[r], lse2[r], delta[r], bh, i, j);
      my_ds[r * kKeys + lane] = g.ds;
    }
    __syncwarp();
#pragma unroll 2
    for (int jj = 0; jj < kKeys; jj += 4) {
      float4 ds[kR];
#pragma unroll
      for (int r = 0; r < kR; ++r) ds[r] = ld4(my_ds + r * kKeys + jj);
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        float kk[kC];
        load_cols(s_k + (jj + u) * kP + lane * kC, kk);
#pragma unroll
        for (int r = 0; r < kR; ++r) {
          const float w = u == 0 ? ds[r].x : u == 1 ? ds[r].y : u == 2 ? ds[r].z : ds[r].w;
#pragma unroll
          for (int c = 0; c < kC; ++c) dq[r][c] = fmaf(w, kk[c], dq[r][c]);
        }
      }
    }
    __syncwarp();
  }

  const float scale = p.scale;
  T* d_q = static_cast<T*>(p.d_q) + static_cast<int64_t>(b) * p.lq * grad_row +
           static_cast<int64_t>(h) * p.head_dim;
#pragma unroll
  for (int r = 0; r < kR; ++r) {
    const int i = q0 + warp * kR + r;
    if (i >= p.lq) continue;
#pragma unroll
    for (int c = 0; c < kC; ++c) {
      const int t = lane * kC + c;
      if (t < p.head_dim) store_value(d_q + i * grad_row + t, dq[r][c] * scale);
    }
  }
}

// ---- host side -------------------------------------------------------------------------------

int cuda_failure(const char* kernel, const char* call, cudaError_t err) {
  return vidtag::fail(VIDTAG_ERR_CUDA, std::string(kernel) + ": " + call + " failed: " +
                                           cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

int require_device(const char* kernel) {
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  (void)cudaGetLastError();  // see kernels_cuda.cu: an earlier failure is not this call's
  if (err != cudaSuccess) {
    return vidtag::fail(VIDTAG_ERR_CUDA_UNAVAILABLE,
                        std::string(kernel) + ": no usable CUDA device (" +
                            cudaGetErrorName(err) + ": " + cudaGetErrorString(err) + ")");
  }
  if (devices == 0) {
    return vidtag::fail(VIDTAG_ERR_CUDA_UNAVAILABLE,
                        std::string(kernel) + ": no CUDA device is present");
  }
  return vidtag::ok();
}

int invalid(const char* kernel, const std::string& what) {
  return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT, std::string(kernel) + ": " + what);
}

// data may be NULL only when the call reads nothing of it (`needed` false: an empty tensor,
// which PyTorch may give no storage).
int check_operand(const char* kernel, const char* name, const void* data, bool needed,
                  int64_t batch_stride, int64_t row_stride, int64_t row_width) {
  if (needed && data == nullptr) return invalid(kernel, std::string(name) + " is NULL");
  if (row_stride < row_width) {
    return invalid(kernel, std::string(name) + " row stride " + std::to_string(row_stride) +
                               " is less than heads * head_dim = " + std::to_string(row_width));
  }
  if (batch_stride < 0) {
    return invalid(kernel, std::string(name) + " batch stride is negative: " +
                               std::to_string(batch_stride));
  }
  return vidtag::ok();
}

// The checks both entries share. They come before require_device(), so that a bad call is
// reported as such on any machine.
int check_shape(const char* kernel, const vidtag_attention_shape* shape, const void* q,
                const void* k, const void* v, const int32_t* key_lengths,
                const uint8_t* key_mask) {
  if (shape == nullptr) return invalid(kernel, "shape is NULL");
  const vidtag_attention_shape& s = *shape;
  // No items or no queries is an empty call; a query always has a key to attend.
  if (s.batch < 0 || s.query_length < 0 || s.heads < 1 || s.key_length < 1 || s.head_dim < 1) {
    return invalid(kernel, "need batch, query_length >= 0 and heads, key_length, head_dim >= 1 "
                           "(got " + std::to_string(s.batch) + ", " +
                               std::to_string(s.query_length) + ", " + std::to_string(s.heads) +
                               ", " + std::to_string(s.key_length) + ", " +
                               std::to_string(s.head_dim) + ")");
  }
  if (s.head_dim > kMaxHeadDim) {
    return invalid(kernel, "head_dim " + std::to_string(s.head_dim) +
                               " is above the CUDA kernels' maximum of " +
                               std::to_string(kMaxHeadDim));
  }
  // Blocks index (item, head) in grid x and row tiles in grid y (at most 65535); offsets within
  // an item are computed in int64, row counts in int.
  if (s.batch > INT32_MAX || s.heads > INT32_MAX || s.batch * s.heads > INT32_MAX ||
      s.query_length > kMaxLength || s.key_length > kMaxLength) {
    return invalid(kernel, "batch * heads, query_length or key_length too large for the CUDA "
                           "kernels (at most 2^31-1 items*heads and 2^19 positions)");
  }
  if (int st = vidtag::check_dtype(kernel, s.dtype)) return st;
  if (!(s.dropout_p >= 0.0f && s.dropout_p < 1.0f)) {
    return invalid(kernel, "dropout_p must be in [0, 1), got " + std::to_string(s.dropout_p));
  }
  if (!std::isfinite(s.scale)) return invalid(kernel, "scale is not finite");
  if (key_lengths != nullptr && key_mask != nullptr) {
    return invalid(kernel, "key_lengths and key_mask are both given; pass at most one");
  }
  const int64_t width = s.heads * s.head_dim;
  // The backward reads k and v even without queries (dK and dV are then zero-filled by the
  // kernel that computes them).
  const bool items = s.batch > 0;
  const bool queries = items && s.query_length > 0;
  if (int st = check_operand(kernel, "q", q, queries, s.q_batch_stride, s.q_row_stride, width)) {
    return st;
  }
  if (int st = check_operand(kernel, "k", k, items, s.k_batch_stride, s.k_row_stride, width)) {
    return st;
  }
  if (int st = check_operand(kernel, "v", v, items, s.v_batch_stride, s.v_row_stride, width)) {
    return st;
  }
  return vidtag::ok();
}

Params make_params(const vidtag_attention_shape& s, const void* q, const void* k, const void* v,
                   const int32_t* key_lengths, const uint8_t* key_mask) {
  Params p{};
  p.q = q;
  p.k = k;
  p.v = v;
  p.key_lengths = key_lengths;
  p.key_mask = key_mask;
  p.heads = static_cast<int>(s.heads);
  p.lq = static_cast<int>(s.query_length);
  p.lk = static_cast<int>(s.key_length);
  p.head_dim = static_cast<int>(s.head_dim);
  p.q_batch_stride = s.q_batch_stride;
  p.q_row_stride = s.q_row_stride;
  p.k_batch_stride = s.k_batch_stride;
  p.k_row_stride = s.k_row_stride;
  p.v_batch_stride = s.v_batch_stride;
  p.v_row_stride = s.v_row_stride;
  p.items_heads = s.batch * s.heads;
  p.scale = s.scale;
  p.scale_log2 = s.scale * kLog2e;
  p.dropout_p = s.dropout_p;
  p.keep_scale = s.dropout_p > 0.0f ? 1.0f / (1.0f - s.dropout_p) : 1.0f;
  p.seed = s.dropout_seed;
  return p;
}

template <int kD, int kR>
constexpr std::size_t forward_smem() {
  return sizeof(float) *
         (kWarps * kR * kD + 2 * kKeys * kPitch<kD> + kWarps * kR * kKeys);
}
template <int kD, int kR>
constexpr std::size_t dq_smem() {
  return sizeof(float) *
         (2 * kWarps * kR * kD + 2 * kKeys * kPitch<kD> + kWarps * kR * kKeys);
}
template <int kD>
constexpr std::size_t dkdv_smem() {
  constexpr int kR = kRowsPerWarp<kD>;
  return sizeof(float) * (2 * kWarps * kR * kD + 2 * 32 * kPitch<kD> +
                          2 * kWarps * kR * 32 + 2 * 32);
}
// Turing's per-block maximum (opt-in); later GPUs allow more.
static_assert(forward_smem<128, 4>() <= 65536 && dq_smem<128, 4>() <= 65536 &&
                  dkdv_smem<128>() <= 65536,
              "attention tiles exceed 64 KiB of shared memory");

template <class Kernel>
int launch(const char* kernel, Kernel fn, dim3 grid, std::size_t smem, cudaStream_t stream,
           const Params& p) {
  if (smem > 48 * 1024) {
    // Above 48 KiB dynamic shared memory must be requested per kernel.
    const cudaError_t err =
        cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(smem));
    if (err != cudaSuccess) return cuda_failure(kernel, "cudaFuncSetAttribute", err);
  }
  fn<<<grid, kThreads, smem, stream>>>(p);
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? vidtag::ok() : cuda_failure(kernel, "kernel launch", err);
}

unsigned tiles(int64_t length, int per_tile) {
  return static_cast<unsigned>((length + per_tile - 1) / per_tile);
}

template <typename T, int kD, int kR>
int forward_rows(const char* kernel, const Params& p, int64_t bh, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(bh), tiles(p.lq, kWarps * kR));
  return launch(kernel, attention_forward_kernel<T, kD, kR>, grid, forward_smem<kD, kR>(), stream,
                p);
}

template <typename T, int kD>
int forward(const char* kernel, const Params& p, int64_t bh, cudaStream_t stream) {
  if constexpr (kRowsPerWarp<kD> > 4) {
    if (p.lq <= kShortQueries) return forward_rows<T, kD, 4>(kernel, p, bh, stream);
  }
  return forward_rows<T, kD, kRowsPerWarp<kD>>(kernel, p, bh, stream);
}

template <typename T, int kD, int kR>
int dq_rows(const char* kernel, const Params& p, int64_t bh, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(bh), tiles(p.lq, kWarps * kR));
  return launch(kernel, attention_dq_kernel<T, kD, kR>, grid, dq_smem<kD, kR>(), stream, p);
}

template <typename T, int kD>
int backward(const char* kernel, const Params& p, int64_t bh, cudaStream_t stream) {
  constexpr int kRowsPerBlock = kWarps * kRowsPerWarp<kD>;
  const int64_t rows = bh * p.lq;
  if (rows > 0) {
    const dim3 delta_grid(tiles(rows, kWarps));
    if (int s = launch(kernel, attention_delta_kernel<T>, delta_grid, 0, stream, p)) return s;
  }
  // Without queries this pass only writes dK = dV = 0.
  if (int s = launch(kernel, attention_dkdv_kernel<T, kD>,
                     dim3(static_cast<unsigned>(bh), tiles(p.lk, kRowsPerBlock)),
                     dkdv_smem<kD>(), stream, p)) {
    return s;
  }
  if (rows == 0) return vidtag::ok();
  if constexpr (kRowsPerWarp<kD> > 4) {
    if (p.lq <= kShortQueries) return dq_rows<T, kD, 4>(kernel, p, bh, stream);
  }
  return dq_rows<T, kD, kRowsPerWarp<kD>>(kernel, p, bh, stream);
}

// Calls f<kD>() for the narrowest instantiated width that holds head_dim.
template <class F>
int by_width(int64_t head_dim, F&& f) {
  if (head_dim <= 32) return f(std::integral_constant<int, 32>{});
  if (head_dim <= 64) return f(std::integral_constant<int, 64>{});
  return f(std::integral_constant<int, 128>{});
}

}  // namespace

VIDTAG_EXPORT int vidtag_attention_forward_cuda(const vidtag_attention_shape* shape, const void* q,
                                                const void* k, const void* v,
                                                const int32_t* key_lengths,
                                                const uint8_t* key_mask, void* out, float* lse,
                                                void* stream) {
  const char* kernel = "attention_forward_cuda";
  if (int s = check_shape(kernel, shape, q, k, v, key_lengths, key_mask)) return s;
  const bool empty = shape->batch == 0 || shape->query_length == 0;
  if (!empty && out == nullptr) return invalid(kernel, "out is NULL");
  if (int s = require_device(kernel)) return s;
  if (empty) return vidtag::ok();
  Params p = make_params(*shape, q, k, v, key_lengths, key_mask);
  p.out = out;
  p.lse = lse;
  const int64_t bh = shape->batch * shape->heads;
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  return by_width(shape->head_dim, [&](auto width) {
    constexpr int kD = decltype(width)::value;
    return shape->dtype == VIDTAG_BFLOAT16 ? forward<__nv_bfloat16, kD>(kernel, p, bh, st)
                                           : forward<float, kD>(kernel, p, bh, st);
  });
}

VIDTAG_EXPORT int vidtag_attention_backward_cuda(const vidtag_attention_shape* shape,
                                                 const void* q, const void* k, const void* v,
                                                 const int32_t* key_lengths,
                                                 const uint8_t* key_mask, const void* out,
                                                 const float* lse, const void* grad_out,
                                                 void* grad_q, void* grad_k, void* grad_v,
                                                 void* stream) {
  const char* kernel = "attention_backward_cuda";
  if (int s = check_shape(kernel, shape, q, k, v, key_lengths, key_mask)) return s;
  const bool items = shape->batch > 0;
  const bool queries = items && shape->query_length > 0;
  if (queries && (out == nullptr || lse == nullptr || grad_out == nullptr || grad_q == nullptr)) {
    return invalid(kernel, "out, lse, grad_out and grad_q must all be given");
  }
  if (items && (grad_k == nullptr || grad_v == nullptr)) {
    return invalid(kernel, "grad_k and grad_v must both be given");
  }
  if (int s = require_device(kernel)) return s;
  if (!items) return vidtag::ok();
  Params p = make_params(*shape, q, k, v, key_lengths, key_mask);
  p.o = out;
  p.lse_in = lse;
  p.d_out = grad_out;
  p.d_q = grad_q;
  p.d_k = grad_k;
  p.d_v = grad_v;
  const int64_t bh = shape->batch * shape->heads;
  const cudaStream_t st = static_cast<cudaStream_t>(stream);

  // D lives exactly as long as the kernels that read it: freed on the same stream.
  void* delta = nullptr;
  const std::size_t delta_bytes = static_cast<std::size_t>(bh * shape->query_length) * sizeof(float);
  cudaError_t err = cudaSuccess;
  if (queries) {
    err = cudaMallocAsync(&delta, delta_bytes, st);
    if (err != cudaSuccess) return cuda_failure(kernel, "cudaMallocAsync", err);
  }
  p.delta = static_cast<float*>(delta);
  const int status = by_width(shape->head_dim, [&](auto width) {
    constexpr int kD = decltype(width)::value;
    return shape->dtype == VIDTAG_BFLOAT16 ? backward<__nv_bfloat16, kD>(kernel, p, bh, st)
                                           : backward<float, kD>(kernel, p, bh, st);
  });
  if (delta != nullptr) err = cudaFreeAsync(delta, st);
  if (status != VIDTAG_OK) return status;
  return err == cudaSuccess ? vidtag::ok() : cuda_failure(kernel, "cudaFreeAsync", err);
}

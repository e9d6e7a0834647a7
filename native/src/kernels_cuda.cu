// CUDA implementation of the _cuda entries of kernels.h.
//
// Multi-tensor launches, in the spirit of apex's multi_tensor_apply: the host cuts every tensor
// of the list into fixed-size chunks and writes one table (per-tensor sizes and data pointers,
// then chunk -> (tensor, chunk index)); the blocks of a single launch grid-stride over the
// chunks. A list of 200 tensors therefore costs one launch, not 200, and blocks never straddle
// two tensors, so per-tensor reductions need no segmented scan.
//
// The table reaches the device in one of two ways. When it is small (a few tensors) it travels
// inside the kernel parameters (read through a __grid_constant__ pointer, so no per-thread
// copy), which costs nothing beyond the launch. Otherwise it is uploaded with one
// cudaMemcpyAsync into a cudaMallocAsync buffer that is freed with cudaFreeAsync on the same
// stream, so the buffer lives exactly as long as the kernels that read it. Kernels that need
// float64 scratch (the norm accumulators) always take the second path: the zeroed scratch
// rides in the same upload, which saves a memset.
//
// Host synchronisation: none is requested. The one possible wait is the table upload, which is
// from pageable host memory: the CUDA documentation allows the driver to stage such a copy
// synchronously with respect to the host (the call returns once the bytes are staged, which is
// also why the host copy may be freed right after it). Tables are small (8 bytes per 64 KiB
// chunk plus 24-40 bytes per tensor: about 60 KiB for a BERT-base list); native/gpu-check
// measures how long each call holds the host while its stream is busy.
//
// Launches per call: ema_update, swa_accumulate, swap, copy_many, restore: 1.
// l2_norm: 2 (sum of squares; square roots and total). fgm_perturb: 2 (sum of squares of the
// gradients; backup + perturbation). pgd_step: 3 (sum of squares of the gradients; step that
// also sums ||param - backup||^2; projection, whose blocks skip tensors that need none).
// The norms never leave the device: later launches read them from the scratch buffer.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include "internal.h"

namespace {

constexpr int kThreads = 256;
// Vector accesses a thread issues before it consumes the first: enough bytes in flight to
// saturate HBM without relying on the compiler to reorder loads past stores that may alias.
constexpr int kIlp = 4;
// 64 KiB of fp32 per chunk: large enough to amortise the per-chunk table reads, small enough
// that a 16M-element embedding matrix spreads over every SM.
constexpr int64_t kElementsPerChunk = 16384;
constexpr int64_t kBytesPerChunk = 65536;
// Blocks launched per resident block slot. More than one wave lets the hardware scheduler
// balance chunks of unequal length (the last chunk of each tensor is partial); beyond that,
// blocks grid-stride.
constexpr int kWaves = 4;
// Tables up to this size go in the kernel parameters; it keeps the whole parameter block under
// the 4 KiB that every driver accepts.
constexpr std::size_t kInlineTableBytes = 3584;

// ---- the chunk table -------------------------------------------------------------------------

struct Chunk {
  int32_t tensor;
  uint32_t index;  // the chunk starts at unit index * chunk_units (int64): 8-byte entries
};

// Byte layout of a table, 8-byte aligned throughout:
//   int64 numel[count] | void* pointers[arrays][count] | Chunk chunks[chunks] | double scratch[]
struct TableLayout {
  int64_t count = 0;
  int64_t arrays = 0;
  int64_t chunks = 0;
  int64_t chunk_units = 0;

  __host__ __device__ std::size_t pointers_offset() const { return count * sizeof(int64_t); }
  __host__ __device__ std::size_t chunks_offset() const {
    return pointers_offset() + arrays * count * sizeof(void*);
  }
  __host__ __device__ std::size_t scratch_offset() const {
    return chunks_offset() + chunks * sizeof(Chunk);
  }
};

// Kernel-parameter forms of a table: the kernel only sees layout and base().
struct DeviceTable {
  TableLayout layout;
  const unsigned char* data;
  __device__ const unsigned char* base() const { return data; }
};

struct InlineTable {
  TableLayout layout;
  alignas(16) unsigned char data[kInlineTableBytes];
  __device__ const unsigned char* base() const { return data; }
};
// Leaves room for the largest operation in the classic 4 KiB parameter limit.
static_assert(sizeof(InlineTable) + 64 <= 4096, "inline table too large for kernel parameters");

__device__ __forceinline__ int64_t numel_at(const unsigned char* base, int tensor) {
  return reinterpret_cast<const int64_t*>(base)[tensor];
}

__device__ __forceinline__ void* pointer_at(const unsigned char* base, const TableLayout& layout,
                                            int array, int tensor) {
  return reinterpret_cast<void* const*>(base + layout.pointers_offset())[array * layout.count +
                                                                          tensor];
}

__device__ __forceinline__ Chunk chunk_at(const unsigned char* base, const TableLayout& layout,
                                          int64_t c) {
  return reinterpret_cast<const Chunk*>(base + layout.chunks_offset())[c];
}

// ---- loads and stores --------------------------------------------------------------------------

// N consecutive values of T as one aligned object, so that the compiler emits a single
// 4/8/16-byte load (the caller guarantees the alignment).
template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <int N, typename T>
__device__ __forceinline__ void load_floats(const T* src, float (&out)[N]) {
  const Pack<T, N> pack = *reinterpret_cast<const Pack<T, N>*>(src);
#pragma unroll
  for (int k = 0; k < N; ++k) out[k] = to_float(pack.v[k]);
}

// 16-byte stores go through __stwb (an ordinary write-back store) because nvcc lowered a plain
// assignment of the 16-byte struct to four 4-byte stores in some of these kernels.
__device__ __forceinline__ void store16(void* dst, uint4 value) {
  __stwb(static_cast<uint4*>(dst), value);
}

template <int N>
__device__ __forceinline__ void store_floats(float* dst, const float (&in)[N]) {
  static_assert(N == 1 || N == 4, "fp32 fragments are one value or 16 bytes");
  if constexpr (N == 4) {
    __stwb(reinterpret_cast<float4*>(dst), make_float4(in[0], in[1], in[2], in[3]));
  } else {
    *dst = in[0];
  }
}

__device__ __forceinline__ bool aligned(const void* p, std::size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

template <int N>
__device__ __forceinline__ float sum_of_squares(const float (&x)[N]) {
  float s = 0.0f;
#pragma unroll
  for (int k = 0; k < N; ++k) s = fmaf(x[k], x[k], s);
  return s;
}

// The float scale of a normalised step, or 0 where the step must not be taken (zero or
// non-finite norm). Computed as on the CPU so both report the same `applied`.
__device__ __forceinline__ float normalised_scale(double squared_norm, float step) {
  const double norm = sqrt(squared_norm);
  if (!isfinite(norm) || norm == 0.0) return 0.0f;
  return static_cast<float>(static_cast<double>(step) / norm);
}

// ---- operations ------------------------------------------------------------------------------
//
// An operation tells the kernel:
//   kArrays     pointer arrays in the table (tensor t's pointers arrive as p[0..kArrays))
//   kVec        units per vector access; chunk_units must be a multiple of it
//   kReduces    whether store()'s return values are summed per tensor into sums[tensor]
//   kInline     whether its table may travel in the kernel parameters
//   enter()     per-chunk context computed from device state; skip must be block-uniform
//   vectorizable(p)  whether tensor p's pointers allow kVec-wide accesses
//   Frag<N>, load<N>(), store<N>()  N = kVec (aligned) or 1 (tail and unaligned tensors)
// Loads of a whole group of fragments precede their stores (see kIlp), so an operation must not
// read in load() what another unit's store() writes; each unit is touched by one thread only.

struct Always {
  bool skip = false;
};

// acc = rule(acc, in) with acc fp32 (EMA shadow, SWA average) and in fp32 or bf16.
template <typename In, class Rule>
struct Accumulate {
  static constexpr int kArrays = 2;
  static constexpr int kVec = 4;
  static constexpr bool kReduces = false;
  static constexpr bool kInline = true;
  using Context = Always;
  template <int N>
  struct Frag {
    float acc[N];
    float in[N];
  };

  Rule rule;

  __device__ Context enter(int, uint32_t) const { return {}; }
  __device__ bool vectorizable(void* const* p) const {
    return aligned(p[0], kVec * sizeof(float)) && aligned(p[1], kVec * sizeof(In));
  }
  template <int N>
  __device__ Frag<N> load(void* const* p, int64_t i, const Context&) const {
    Frag<N> f;
    load_floats<N>(static_cast<const float*>(p[0]) + i, f.acc);
    load_floats<N>(static_cast<const In*>(p[1]) + i, f.in);
    return f;
  }
  template <int N>
  __device__ float store(void* const* p, int64_t i, Frag<N>& f, const Context&) const {
#pragma unroll
    for (int k = 0; k < N; ++k) f.acc[k] = rule(f.acc[k], f.in[k]);
    store_floats<N>(static_cast<float*>(p[0]) + i, f.acc);
    return 0.0f;
  }
};

struct EmaRule {
  float decay;
  float keep;  // 1 - decay, rounded once on the host as the CPU does
  __device__ float operator()(float shadow, float param) const {
    return decay * shadow + keep * param;
  }
};

struct SwaRule {
  float inverse_count;  // 1 / (n_averaged + 1), multiplied as the CPU does
  __device__ float operator()(float average, float x) const {
    return average + (x - average) * inverse_count;
  }
};

// Raw data movement in units of Unit (the widest size that divides every byte count and
// pointer of the list, so that misaligned tensors still move words rather than bytes):
// p[0] = p[1] (copy), or p[0] <-> p[1] (exchange). Vector accesses are 16 bytes whatever Unit.
template <typename Unit, bool kExchange>
struct Move {
  static constexpr int kArrays = 2;
  static constexpr int kVec = 16 / sizeof(Unit);
  static constexpr bool kReduces = false;
  static constexpr bool kInline = true;
  using Context = Always;
  template <int N>
  using Word = std::conditional_t<N == 1, Unit, uint4>;
  template <int N>
  struct Frag {
    Word<N> a;
    Word<N> b;
  };

  __device__ Context enter(int, uint32_t) const { return {}; }
  __device__ bool vectorizable(void* const* p) const {
    return aligned(p[0], 16) && aligned(p[1], 16);
  }
  template <int N>
  __device__ Frag<N> load(void* const* p, int64_t i, const Context&) const {
    static_assert(N == 1 || N == kVec, "a Move fragment is one unit or 16 bytes");
    Frag<N> f;
    f.b = *reinterpret_cast<const Word<N>*>(static_cast<const Unit*>(p[1]) + i);
    if constexpr (kExchange) {
      f.a = *reinterpret_cast<const Word<N>*>(static_cast<const Unit*>(p[0]) + i);
    }
    return f;
  }
  template <int N>
  __device__ float store(void* const* p, int64_t i, Frag<N>& f, const Context&) const {
    put<N>(static_cast<Unit*>(p[0]) + i, f.b);
    if constexpr (kExchange) put<N>(static_cast<Unit*>(p[1]) + i, f.a);
    return 0.0f;
  }
  template <int N>
  __device__ static void put(Unit* dst, const Word<N>& w) {
    if constexpr (N == 1) {
      *dst = w;
    } else {
      store16(dst, w);
    }
  }
};

// sums[t] += ||p[kOperand] of tensor t||^2, fp32 within a chunk, float64 across chunks.
// kArrays matches the table of the call, so FGM and PGD reuse their three-array table.
template <typename In, int kArraysInTable, int kOperand>
struct SumSquares {
  static constexpr int kArrays = kArraysInTable;
  static constexpr int kVec = 4;
  static constexpr bool kReduces = true;
  static constexpr bool kInline = false;
  using Context = Always;
  template <int N>
  struct Frag {
    float x[N];
  };

  double* sums;

  __device__ Context enter(int, uint32_t) const { return {}; }
  __device__ bool vectorizable(void* const* p) const {
    return aligned(p[kOperand], kVec * sizeof(In));
  }
  template <int N>
  __device__ Frag<N> load(void* const* p, int64_t i, const Context&) const {
    Frag<N> f;
    load_floats<N>(static_cast<const In*>(p[kOperand]) + i, f.x);
    return f;
  }
  template <int N>
  __device__ float store(void* const*, int64_t, Frag<N>& f, const Context&) const {
    return sum_of_squares(f.x);
  }
};

// Array order of the FGM and PGD tables.
constexpr int kParam = 0;
constexpr int kBackup = 1;
constexpr int kGrad = 2;

__device__ __forceinline__ bool all_aligned16(void* const* p) {
  return aligned(p[kParam], 16) && aligned(p[kBackup], 16) && aligned(p[kGrad], 16);
}

// Records whether tensor t's step was taken, once per tensor: every tensor has a chunk 0 (empty
// tensors get a zero-length one), so `applied` is written for all of them.
__device__ __forceinline__ void record_applied(int32_t* applied, int tensor, uint32_t chunk,
                                               bool taken) {
  if (applied != nullptr && chunk == 0 && threadIdx.x == 0) applied[tensor] = taken ? 1 : 0;
}

// backup = param for every tensor; param += epsilon * grad / ||grad|| where that norm is usable.
struct FgmApply {
  static constexpr int kArrays = 3;
  static constexpr int kVec = 4;
  static constexpr bool kReduces = false;
  static constexpr bool kInline = false;
  struct Context {
    bool skip;
    float scale;
  };
  template <int N>
  struct Frag {
    float param[N];
    float grad[N];
  };

  const double* grad_sums;
  float epsilon;
  int32_t* applied;

  __device__ Context enter(int tensor, uint32_t chunk) const {
    const float scale = normalised_scale(grad_sums[tensor], epsilon);
    record_applied(applied, tensor, chunk, scale != 0.0f);
    return {false, scale};  // never skipped: the backup is taken either way
  }
  __device__ bool vectorizable(void* const* p) const { return all_aligned16(p); }
  template <int N>
  __device__ Frag<N> load(void* const* p, int64_t i, const Context& ctx) const {
    Frag<N> f;
    load_floats<N>(static_cast<const float*>(p[kParam]) + i, f.param);
    if (ctx.scale != 0.0f) load_floats<N>(static_cast<const float*>(p[kGrad]) + i, f.grad);
    return f;
  }
  template <int N>
  __device__ float store(void* const* p, int64_t i, Frag<N>& f, const Context& ctx) const {
    store_floats<N>(static_cast<float*>(p[kBackup]) + i, f.param);
    if (ctx.scale != 0.0f) {
#pragma unroll
      for (int k = 0; k < N; ++k) f.param[k] = f.param[k] + ctx.scale * f.grad[k];
      store_floats<N>(static_cast<float*>(p[kParam]) + i, f.param);
    }
    return 0.0f;
  }
};

// param += alpha * grad / ||grad||, and sums[t] += ||param - backup||^2 of the moved param.
struct PgdStep {
  static constexpr int kArrays = 3;
  static constexpr int kVec = 4;
  static constexpr bool kReduces = true;
  static constexpr bool kInline = false;
  struct Context {
    bool skip;
    float scale;
  };
  template <int N>
  struct Frag {
    float param[N];
    float backup[N];
    float grad[N];
  };

  const double* grad_sums;
  double* sums;  // squared displacement per tensor
  float alpha;
  int32_t* applied;

  __device__ Context enter(int tensor, uint32_t chunk) const {
    const float scale = normalised_scale(grad_sums[tensor], alpha);
    record_applied(applied, tensor, chunk, scale != 0.0f);
    return {scale == 0.0f, scale};
  }
  __device__ bool vectorizable(void* const* p) const { return all_aligned16(p); }
  template <int N>
  __device__ Frag<N> load(void* const* p, int64_t i, const Context&) const {
    Frag<N> f;
    load_floats<N>(static_cast<const float*>(p[kParam]) + i, f.param);
    load_floats<N>(static_cast<const float*>(p[kBackup]) + i, f.backup);
    load_floats<N>(static_cast<const float*>(p[kGrad]) + i, f.grad);
    return f;
  }
  template <int N>
  __device__ float store(void* const* p, int64_t i, Frag<N>& f, const Context& ctx) const {
    float displacement[N];
#pragma unroll
    for (int k = 0; k < N; ++k) {
      f.param[k] = f.param[k] + ctx.scale * f.grad[k];
      displacement[k] = f.param[k] - f.backup[k];
    }
    store_floats<N>(static_cast<float*>(p[kParam]) + i, f.param);
    return sum_of_squares(displacement);
  }
};

// param = backup + epsilon * (param - backup) / ||param - backup|| for the tensors whose step
// was taken and left the epsilon ball; the blocks of every other tensor skip their chunks.
struct PgdProject {
  static constexpr int kArrays = 3;
  static constexpr int kVec = 4;
  static constexpr bool kReduces = false;
  static constexpr bool kInline = false;
  struct Context {
    bool skip;
    float shrink;
  };
  template <int N>
  struct Frag {
    float param[N];
    float backup[N];
  };

  const double* grad_sums;
  const double* displacement_sums;
  float alpha;
  float epsilon;

  __device__ Context enter(int tensor, uint32_t) const {
    const double r = sqrt(displacement_sums[tensor]);
    const bool project =
        normalised_scale(grad_sums[tensor], alpha) != 0.0f && r > static_cast<double>(epsilon);
    return {!project, project ? static_cast<float>(static_cast<double>(epsilon) / r) : 1.0f};
  }
  __device__ bool vectorizable(void* const* p) const {
    return aligned(p[kParam], 16) && aligned(p[kBackup], 16);
  }
  template <int N>
  __device__ Frag<N> load(void* const* p, int64_t i, const Context&) const {
    Frag<N> f;
    load_floats<N>(static_cast<const float*>(p[kParam]) + i, f.param);
    load_floats<N>(static_cast<const float*>(p[kBackup]) + i, f.backup);
    return f;
  }
  template <int N>
  __device__ float store(void* const* p, int64_t i, Frag<N>& f, const Context& ctx) const {
#pragma unroll
    for (int k = 0; k < N; ++k) f.param[k] = f.backup[k] + ctx.shrink * (f.param[k] - f.backup[k]);
    store_floats<N>(static_cast<float*>(p[kParam]) + i, f.param);
    return 0.0f;
  }
};

// ---- kernels ---------------------------------------------------------------------------------

// Sum over the block, valid in thread 0. The summation order is fixed, so the result is
// deterministic for given inputs.
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T warp_sums[kThreads / 32];
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  v = threadIdx.x < kThreads / 32 ? warp_sums[threadIdx.x] : T(0);
  if (warp == 0) {
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  }
  __syncthreads();  // warp_sums is reused by the caller's next chunk
  return v;
}

// `groups` groups of N units from unit `first` of one tensor, strided over the block with kIlp
// groups per thread in flight. Returns this thread's share of the op's reduction.
template <int N, class Op>
__device__ __forceinline__ float run_span(const Op& op, void* const* p, int64_t first, int groups,
                                          const typename Op::Context& ctx) {
  float acc = 0.0f;
  for (int g0 = threadIdx.x; g0 < groups; g0 += kThreads * kIlp) {
    typename Op::template Frag<N> frag[kIlp];
#pragma unroll
    for (int u = 0; u < kIlp; ++u) {
      const int g = g0 + u * kThreads;
      if (g < groups) frag[u] = op.template load<N>(p, first + int64_t{g} * N, ctx);
    }
#pragma unroll
    for (int u = 0; u < kIlp; ++u) {
      const int g = g0 + u * kThreads;
      if (g < groups) acc += op.template store<N>(p, first + int64_t{g} * N, frag[u], ctx);
    }
  }
  return acc;
}

template <class Op, class TableParam>
__global__ void __launch_bounds__(kThreads)
    multi_tensor_kernel(const __grid_constant__ TableParam table, const Op op) {
  const TableLayout& layout = table.layout;
  const unsigned char* base = table.base();
  for (int64_t c = blockIdx.x; c < layout.chunks; c += gridDim.x) {
    const Chunk chunk = chunk_at(base, layout, c);
    const typename Op::Context ctx = op.enter(chunk.tensor, chunk.index);
    if (ctx.skip) continue;

    const int64_t begin = int64_t{chunk.index} * layout.chunk_units;
    // A chunk holds at most chunk_units (<= 65536) units, so in-chunk counts fit an int.
    const int len =
        static_cast<int>(min(layout.chunk_units, numel_at(base, chunk.tensor) - begin));
    float acc = 0.0f;
    if (len > 0) {  // zero-length chunks exist only to run enter() for empty tensors
      void* p[Op::kArrays];
#pragma unroll
      for (int a = 0; a < Op::kArrays; ++a) {
        p[a] = pointer_at(base, layout, a, chunk.tensor);
        // Pointers read from memory are generic; non-empty tensors are device memory, and
        // saying so lets the compiler emit global rather than generic loads and stores.
        __builtin_assume(__isGlobal(p[a]));
      }
      if (op.vectorizable(p)) {
        // begin is a multiple of kVec, so an aligned tensor stays aligned at every vector.
        const int groups = len / Op::kVec;
        const int vector_units = groups * Op::kVec;
        acc = run_span<Op::kVec>(op, p, begin, groups, ctx) +
              run_span<1>(op, p, begin + vector_units, len - vector_units, ctx);
      } else {
        acc = run_span<1>(op, p, begin, len, ctx);
      }
    }

    if constexpr (Op::kReduces) {
      const float chunk_sum = block_sum(acc);
      if (threadIdx.x == 0) atomicAdd(op.sums + chunk.tensor, static_cast<double>(chunk_sum));
    }
  }
}

// per_tensor[t] = sqrt(sums[t]), *total = sqrt(sum of sums) in a fixed order. One block.
__global__ void __launch_bounds__(kThreads)
    finish_l2_norm(const double* sums, int64_t count, double* per_tensor, double* total) {
  double acc = 0.0;
  for (int64_t t = threadIdx.x; t < count; t += kThreads) {
    if (per_tensor != nullptr) per_tensor[t] = sqrt(sums[t]);
    acc += sums[t];
  }
  acc = block_sum(acc);
  if (total != nullptr && threadIdx.x == 0) *total = sqrt(acc);
}

// ---- host side -------------------------------------------------------------------------------

int cuda_failure(const char* kernel, const char* call, cudaError_t err) {
  return vidtag::fail(VIDTAG_ERR_CUDA, std::string(kernel) + ": " + call + " failed: " +
                                           cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

// CUDA_UNAVAILABLE unless the runtime sees at least one device (no driver, a driver too old
// for this runtime and no GPU all land here).
int require_device(const char* kernel) {
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  // The runtime is linked statically, so its per-thread "last error" belongs to this library
  // alone: clearing it keeps an earlier, already reported failure from being blamed on this
  // call's launches.
  (void)cudaGetLastError();
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

// Argument checks shared by every entry. They come before require_device(), so that a bad
// call is reported as such on any machine, as the CPU entries do.
int validate(const char* kernel, const int64_t* numel, int64_t count,
             std::initializer_list<const void* const*> arrays) {
  if (int s = vidtag::check_list(kernel, numel, count, arrays)) return s;
  if (count > INT32_MAX) {
    return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT,
                        std::string(kernel) + ": more than 2^31-1 tensors in one call");
  }
  return vidtag::ok();
}

// Pointer arrays of any element type, as check_list() and Table take them.
template <typename T>
const void* const* erased(T* const* p) {
  return reinterpret_cast<const void* const*>(p);
}

bool all_empty(const int64_t* numel, int64_t count) {
  return std::all_of(numel, numel + count, [](int64_t n) { return n == 0; });
}

// Blocks for a launch over `chunks` chunks on the current device.
int grid_size(const char* kernel, int64_t chunks, int* grid) {
  int device = 0;
  int sms = 0;
  int threads_per_sm = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (err == cudaSuccess) {
    err = cudaDeviceGetAttribute(&threads_per_sm, cudaDevAttrMaxThreadsPerMultiProcessor, device);
  }
  if (err != cudaSuccess) return cuda_failure(kernel, "querying the device", err);
  const int64_t slots = int64_t{sms} * std::max(1, threads_per_sm / kThreads) * kWaves;
  *grid = static_cast<int>(std::max<int64_t>(1, std::min(chunks, slots)));
  return vidtag::ok();
}

// One call's chunk table: built on the host, then inline or uploaded, then launched any number
// of times. Frees its device copy on the stream when it goes out of scope, including on errors.
class Table {
 public:
  Table(const char* kernel, cudaStream_t stream) : kernel_(kernel), stream_(stream) {}
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;
  ~Table() {
    if (device_ != nullptr) (void)cudaFreeAsync(device_, stream_);
  }

  // Tensor t has sizes[t] / unit units at arrays[a][t]; each tensor is cut into chunks of
  // chunk_units units. With chunk_empty, an empty tensor still gets one zero-length chunk, so
  // that per-tensor outputs are written for it. scratch_doubles zeroed doubles follow the table.
  void build(int64_t count, const int64_t* sizes, int64_t unit,
             std::initializer_list<const void* const*> arrays, int64_t chunk_units,
             bool chunk_empty, int64_t scratch_doubles) {
    const auto pieces = [&](int64_t units) -> int64_t {
      return units == 0 ? (chunk_empty ? 1 : 0) : (units + chunk_units - 1) / chunk_units;
    };
    layout_.count = count;
    layout_.arrays = static_cast<int64_t>(arrays.size());
    layout_.chunk_units = chunk_units;
    layout_.chunks = 0;
    for (int64_t t = 0; t < count; ++t) layout_.chunks += pieces(sizes[t] / unit);
    bytes_ = layout_.scratch_offset() + static_cast<std::size_t>(scratch_doubles) * sizeof(double);
    host_ = std::vector<uint64_t>((bytes_ + sizeof(uint64_t) - 1) / sizeof(uint64_t));
    unsigned char* base = reinterpret_cast<unsigned char*>(host_.data());

    auto* numel = reinterpret_cast<int64_t*>(base);
    for (int64_t t = 0; t < count; ++t) numel[t] = sizes[t] / unit;
    auto* pointers = reinterpret_cast<const void**>(base + layout_.pointers_offset());
    for (const void* const* array : arrays) {
      std::copy(array, array + count, pointers);
      pointers += count;
    }
    auto* chunk = reinterpret_cast<Chunk*>(base + layout_.chunks_offset());
    for (int64_t t = 0; t < count; ++t) {
      for (int64_t k = 0, n = pieces(numel[t]); k < n; ++k) {
        *chunk++ = Chunk{static_cast<int32_t>(t), static_cast<uint32_t>(k)};
      }
    }
  }

  // Keeps the table in the host copy for an inline launch when allowed and small enough,
  // otherwise uploads it (scratch included).
  int upload(bool may_inline) {
    if (may_inline && bytes_ <= kInlineTableBytes) {
      inline_ = true;
      return vidtag::ok();
    }
    void* device = nullptr;
    cudaError_t err = cudaMallocAsync(&device, bytes_, stream_);
    if (err != cudaSuccess) return cuda_failure(kernel_, "cudaMallocAsync", err);
    device_ = static_cast<unsigned char*>(device);
    err = cudaMemcpyAsync(device_, host_.data(), bytes_, cudaMemcpyHostToDevice, stream_);
    if (err != cudaSuccess) return cuda_failure(kernel_, "cudaMemcpyAsync", err);
    return vidtag::ok();
  }

  double* scratch() const {
    return reinterpret_cast<double*>(device_ + layout_.scratch_offset());
  }

  template <class Op>
  int launch(const Op& op) {
    if (layout_.chunks == 0) return vidtag::ok();
    int grid = 0;
    if (int s = grid_size(kernel_, layout_.chunks, &grid)) return s;
    if constexpr (Op::kInline) {
      if (inline_) {
        InlineTable table;
        table.layout = layout_;
        std::memcpy(table.data, host_.data(), bytes_);
        multi_tensor_kernel<Op, InlineTable><<<grid, kThreads, 0, stream_>>>(table, op);
        return check_launch();
      }
    }
    multi_tensor_kernel<Op, DeviceTable>
        <<<grid, kThreads, 0, stream_>>>(DeviceTable{layout_, device_}, op);
    return check_launch();
  }

  int check_launch() const {
    const cudaError_t err = cudaGetLastError();
    return err == cudaSuccess ? vidtag::ok() : cuda_failure(kernel_, "kernel launch", err);
  }

  // Frees the device copy after the kernels that read it; reports a failure to enqueue that.
  int release() {
    if (device_ == nullptr) return vidtag::ok();
    const cudaError_t err = cudaFreeAsync(device_, stream_);
    device_ = nullptr;
    return err == cudaSuccess ? vidtag::ok() : cuda_failure(kernel_, "cudaFreeAsync", err);
  }

  bool empty() const { return layout_.chunks == 0; }

 private:
  const char* kernel_;
  cudaStream_t stream_;
  TableLayout layout_;
  std::size_t bytes_ = 0;
  std::vector<uint64_t> host_;  // uint64_t keeps the image 8-byte aligned
  unsigned char* device_ = nullptr;
  bool inline_ = false;
};

cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

int zero_fill(const char* kernel, void* dst, std::size_t bytes, cudaStream_t stream) {
  if (dst == nullptr || bytes == 0) return vidtag::ok();
  const cudaError_t err = cudaMemsetAsync(dst, 0, bytes, stream);
  return err == cudaSuccess ? vidtag::ok() : cuda_failure(kernel, "cudaMemsetAsync", err);
}

template <class Rule>
int accumulate(const char* kernel, float* const* acc, const void* const* in, int in_dtype,
               const int64_t* numel, int64_t count, Rule rule, cudaStream_t stream) {
  Table table(kernel, stream);
  table.build(count, numel, 1, {erased(acc), in}, kElementsPerChunk, false, 0);
  if (table.empty()) return vidtag::ok();
  if (int s = table.upload(true)) return s;
  const int s = in_dtype == VIDTAG_BFLOAT16
                    ? table.launch(Accumulate<__nv_bfloat16, Rule>{rule})
                    : table.launch(Accumulate<float, Rule>{rule});
  return s ? s : table.release();
}

// dst <- src, or dst <-> src, bytes[t] bytes each.
int move_bytes(const char* kernel, void* const* dst, const void* const* src,
               const std::vector<int64_t>& bytes, bool exchange, cudaStream_t stream) {
  const int64_t count = static_cast<int64_t>(bytes.size());
  uintptr_t misalignment = 0;
  for (int64_t t = 0; t < count; ++t) {
    if (bytes[t] == 0) continue;
    misalignment |= static_cast<uintptr_t>(bytes[t]) | reinterpret_cast<uintptr_t>(dst[t]) |
                    reinterpret_cast<uintptr_t>(src[t]);
  }
  const int64_t unit = misalignment % 4 == 0 ? 4 : misalignment % 2 == 0 ? 2 : 1;

  Table table(kernel, stream);
  table.build(count, bytes.data(), unit, {erased(dst), src}, kBytesPerChunk / unit, false, 0);
  if (table.empty()) return vidtag::ok();
  if (int s = table.upload(true)) return s;
  int s;
  if (exchange) {
    s = unit == 4 ? table.launch(Move<uint32_t, true>{})
        : unit == 2 ? table.launch(Move<uint16_t, true>{})
                    : table.launch(Move<uint8_t, true>{});
  } else {
    s = unit == 4 ? table.launch(Move<uint32_t, false>{})
        : unit == 2 ? table.launch(Move<uint16_t, false>{})
                    : table.launch(Move<uint8_t, false>{});
  }
  return s ? s : table.release();
}

std::vector<int64_t> byte_sizes(const int64_t* numel, int64_t count, std::size_t element_bytes) {
  std::vector<int64_t> bytes(static_cast<std::size_t>(count));
  for (int64_t t = 0; t < count; ++t) bytes[t] = numel[t] * static_cast<int64_t>(element_bytes);
  return bytes;
}

}  // namespace

VIDTAG_EXPORT int vidtag_cuda_compiled(void) { return 1; }

VIDTAG_EXPORT int vidtag_cuda_device_count(void) {
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  (void)cudaGetLastError();  // "no driver" is an answer here, not an error for the next call
  return err == cudaSuccess ? devices : 0;
}

VIDTAG_EXPORT int vidtag_ema_update_cuda(float* const* shadow, const void* const* param,
                                         int param_dtype, const int64_t* numel, int64_t count,
                                         float decay, void* stream) {
  const char* kernel = "ema_update_cuda";
  if (int s = vidtag::check_dtype(kernel, param_dtype)) return s;
  if (int s = validate(kernel, numel, count, {erased(shadow), param})) return s;
  if (int s = require_device(kernel)) return s;
  return accumulate(kernel, shadow, param, param_dtype, numel, count,
                    EmaRule{decay, 1.0f - decay}, as_stream(stream));
}

VIDTAG_EXPORT int vidtag_swap_cuda(void* const* a, void* const* b, int dtype, const int64_t* numel,
                                   int64_t count, void* stream) {
  const char* kernel = "swap_cuda";
  if (int s = vidtag::check_dtype(kernel, dtype)) return s;
  if (int s = validate(kernel, numel, count, {erased(a), erased(b)})) return s;
  if (int s = require_device(kernel)) return s;
  return move_bytes(kernel, a, erased(b), byte_sizes(numel, count, vidtag::element_size(dtype)),
                    true, as_stream(stream));
}

VIDTAG_EXPORT int vidtag_swa_accumulate_cuda(float* const* average, const void* const* x,
                                             int x_dtype, const int64_t* numel, int64_t count,
                                             int64_t n_averaged, void* stream) {
  const char* kernel = "swa_accumulate_cuda";
  if (int s = vidtag::check_dtype(kernel, x_dtype)) return s;
  if (n_averaged < 0) {
    return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT,
                        std::string(kernel) + ": n_averaged is negative: " +
                            std::to_string(n_averaged));
  }
  if (int s = validate(kernel, numel, count, {erased(average), x})) return s;
  if (int s = require_device(kernel)) return s;
  const float inverse_count = static_cast<float>(1.0 / static_cast<double>(n_averaged + 1));
  return accumulate(kernel, average, x, x_dtype, numel, count, SwaRule{inverse_count},
                    as_stream(stream));
}

VIDTAG_EXPORT int vidtag_l2_norm_cuda(const void* const* x, int dtype, const int64_t* numel,
                                      int64_t count, double* per_tensor, double* total,
                                      void* stream) {
  const char* kernel = "l2_norm_cuda";
  if (int s = vidtag::check_dtype(kernel, dtype)) return s;
  if (int s = validate(kernel, numel, count, {x})) return s;
  if (int s = require_device(kernel)) return s;
  const cudaStream_t s = as_stream(stream);
  if (per_tensor == nullptr && total == nullptr) return vidtag::ok();
  if (all_empty(numel, count)) {
    // Every norm is 0: a memset writes the outputs without a kernel.
    if (int st = zero_fill(kernel, per_tensor, count * sizeof(double), s)) return st;
    return zero_fill(kernel, total, sizeof(double), s);
  }

  Table table(kernel, s);
  table.build(count, numel, 1, {x}, kElementsPerChunk, false, count);
  if (int st = table.upload(false)) return st;
  double* sums = table.scratch();
  const int st = dtype == VIDTAG_BFLOAT16
                     ? table.launch(SumSquares<__nv_bfloat16, 1, 0>{sums})
                     : table.launch(SumSquares<float, 1, 0>{sums});
  if (st) return st;
  finish_l2_norm<<<1, kThreads, 0, s>>>(sums, count, per_tensor, total);
  if (int e = table.check_launch()) return e;
  return table.release();
}

VIDTAG_EXPORT int vidtag_copy_many_cuda(void* const* dst, const void* const* src,
                                        const int64_t* nbytes, int64_t count, void* stream) {
  const char* kernel = "copy_many_cuda";
  if (int s = validate(kernel, nbytes, count, {erased(dst), src})) return s;
  if (int s = require_device(kernel)) return s;
  return move_bytes(kernel, dst, src, std::vector<int64_t>(nbytes, nbytes + count), false,
                    as_stream(stream));
}

VIDTAG_EXPORT int vidtag_fgm_perturb_cuda(float* const* param, float* const* backup,
                                          const float* const* grad, const int64_t* numel,
                                          int64_t count, float epsilon, int32_t* applied,
                                          void* stream) {
  const char* kernel = "fgm_perturb_cuda";
  if (int s = validate(kernel, numel, count, {erased(param), erased(backup), erased(grad)})) {
    return s;
  }
  if (int s = require_device(kernel)) return s;
  const cudaStream_t s = as_stream(stream);
  if (all_empty(numel, count)) return zero_fill(kernel, applied, count * sizeof(int32_t), s);

  Table table(kernel, s);
  table.build(count, numel, 1, {erased(param), erased(backup), erased(grad)}, kElementsPerChunk,
              true, count);
  if (int st = table.upload(false)) return st;
  double* grad_sums = table.scratch();
  if (int st = table.launch(SumSquares<float, 3, kGrad>{grad_sums})) return st;
  if (int st = table.launch(FgmApply{grad_sums, epsilon, applied})) return st;
  return table.release();
}

VIDTAG_EXPORT int vidtag_restore_cuda(float* const* param, const float* const* backup,
                                      const int64_t* numel, int64_t count, void* stream) {
  const char* kernel = "restore_cuda";
  if (int s = validate(kernel, numel, count, {erased(param), erased(backup)})) return s;
  if (int s = require_device(kernel)) return s;
  return move_bytes(kernel, reinterpret_cast<void* const*>(param), erased(backup),
                    byte_sizes(numel, count, sizeof(float)), false, as_stream(stream));
}

VIDTAG_EXPORT int vidtag_pgd_step_cuda(float* const* param, const float* const* backup,
                                       const float* const* grad, const int64_t* numel,
                                       int64_t count, float alpha, float epsilon,
                                       int32_t* applied, void* stream) {
  const char* kernel = "pgd_step_cuda";
  if (int s = validate(kernel, numel, count, {erased(param), erased(backup), erased(grad)})) {
    return s;
  }
  if (!(epsilon >= 0.0f)) {
    return vidtag::fail(VIDTAG_ERR_INVALID_ARGUMENT, std::string(kernel) + ": epsilon must be >= 0");
  }
  if (int s = require_device(kernel)) return s;
  const cudaStream_t s = as_stream(stream);
  if (all_empty(numel, count)) return zero_fill(kernel, applied, count * sizeof(int32_t), s);

  Table table(kernel, s);
  table.build(count, numel, 1, {erased(param), erased(backup), erased(grad)}, kElementsPerChunk,
              true, 2 * count);
  if (int st = table.upload(false)) return st;
  double* grad_sums = table.scratch();
  double* displacement_sums = grad_sums + count;
  if (int st = table.launch(SumSquares<float, 3, kGrad>{grad_sums})) return st;
  if (int st = table.launch(PgdStep{grad_sums, displacement_sums, alpha, applied})) return st;
  if (int st = table.launch(PgdProject{grad_sums, displacement_sums, alpha, epsilon})) return st;
  return table.release();
}

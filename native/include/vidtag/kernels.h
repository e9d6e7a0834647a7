/*
 * VidTag native kernels: the C ABI.
 *
 * Every kernel works on a LIST of tensors in one call (the multi-tensor pattern of fused
 * optimizers): `count` tensors, tensor i given by a data pointer and numel[i] elements, all
 * contiguous. The arrays of pointers and counts themselves are always host memory; the data
 * they point to is host memory for `_cpu` entries and device memory for `_cuda` entries.
 *
 * Every entry returns a vidtag_status. `_cuda` entries take a cudaStream_t as `void*` (NULL is
 * the legacy default stream; the Java facades pass LibTorch's current stream of the tensors'
 * device, so that the kernels order with LibTorch's own work), are asynchronous with respect to
 * the host unless stated otherwise, and
 * return VIDTAG_ERR_CUDA_UNAVAILABLE when the library was built without CUDA or no device is
 * present. No LibTorch types cross this boundary, so Python (ctypes) can load it too.
 */
#ifndef VIDTAG_KERNELS_H
#define VIDTAG_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vidtag_status {
  VIDTAG_OK = 0,
  VIDTAG_ERR_INVALID_ARGUMENT = 1, /* null pointer, negative count or size, unknown dtype */
  VIDTAG_ERR_CUDA_UNAVAILABLE = 2, /* built without CUDA, or no usable CUDA device */
  VIDTAG_ERR_CUDA = 3,             /* a CUDA call failed; see vidtag_last_error() */
  VIDTAG_ERR_OUT_OF_MEMORY = 4     /* a kernel's host workspace could not be allocated */
} vidtag_status;

/* Element type of tensors that may be fp32 or bf16. */
typedef enum vidtag_dtype { VIDTAG_FLOAT32 = 0, VIDTAG_BFLOAT16 = 1 } vidtag_dtype;

/* A static description of a status code. */
const char* vidtag_status_string(int status);

/* Details of the last failure on the calling thread ("" when none). */
const char* vidtag_last_error(void);

/* 1 when the CUDA kernels were compiled into this library, else 0. */
int vidtag_cuda_compiled(void);

/* Number of usable CUDA devices: 0 when built without CUDA, or with no driver or device. */
int vidtag_cuda_device_count(void);

/* Library version, "major.minor.patch". */
const char* vidtag_version(void);

/* ---- CPU ----------------------------------------------------------------------------------
 * The x86 features that this CPU and the operating system support, as VIDTAG_CPU_* bits: what
 * the CPU kernels dispatch on, and what tells whether FBGEMM's int8 kernels accumulate in int32
 * (AVX-512 VNNI) or add pairs of products in a saturating int16 (AVX2, AVX-512 without VNNI). */
#define VIDTAG_CPU_AVX2_FMA (1u << 0)
#define VIDTAG_CPU_AVX512 (1u << 1) /* AVX-512 F, BW, DQ and VL together */
#define VIDTAG_CPU_AVX512_VNNI (1u << 2)
#define VIDTAG_CPU_AVX512_BF16 (1u << 3)
#define VIDTAG_CPU_AVX_VNNI (1u << 4)
uint32_t vidtag_cpu_features(void);

/* ---- EMA ----------------------------------------------------------------------------------
 * shadow[i] = decay * shadow[i] + (1 - decay) * param[i], elementwise.
 * shadow is fp32; param is fp32 or bf16 (param_dtype). */
int vidtag_ema_update_cpu(float* const* shadow, const void* const* param, int param_dtype,
                          const int64_t* numel, int64_t count, float decay);
int vidtag_ema_update_cuda(float* const* shadow, const void* const* param, int param_dtype,
                           const int64_t* numel, int64_t count, float decay, void* stream);

/* ---- swap ---------------------------------------------------------------------------------
 * Exchange a[i] and b[i] in place (both of `dtype`), e.g. live weights and EMA shadow. */
int vidtag_swap_cpu(void* const* a, void* const* b, int dtype, const int64_t* numel,
                    int64_t count);
int vidtag_swap_cuda(void* const* a, void* const* b, int dtype, const int64_t* numel,
                     int64_t count, void* stream);

/* ---- SWA ----------------------------------------------------------------------------------
 * average[i] += (x[i] - average[i]) / (n_averaged + 1): the running equal-weight mean after
 * n_averaged earlier models. average is fp32; x is fp32 or bf16 (x_dtype). n_averaged >= 0. */
int vidtag_swa_accumulate_cpu(float* const* average, const void* const* x, int x_dtype,
                              const int64_t* numel, int64_t count, int64_t n_averaged);
int vidtag_swa_accumulate_cuda(float* const* average, const void* const* x, int x_dtype,
                               const int64_t* numel, int64_t count, int64_t n_averaged,
                               void* stream);

/* ---- L2 norm ------------------------------------------------------------------------------
 * per_tensor[i] = ||x[i]||_2 and *total = sqrt(sum_i ||x[i]||^2); either output may be NULL.
 * CPU: float64 accumulation in a fixed chunk order, so the result does not depend on the
 * thread count. CUDA: per_tensor and total are DEVICE pointers; fp32 partial sums per block
 * combined in float64 by atomic additions, whose order varies: the sums are not bitwise
 * repeatable from call to call (they differ in the last bits of the float64 sum), and neither
 * are the FGM/PGD steps scaled by them. */
int vidtag_l2_norm_cpu(const void* const* x, int dtype, const int64_t* numel, int64_t count,
                       double* per_tensor, double* total);
int vidtag_l2_norm_cuda(const void* const* x, int dtype, const int64_t* numel, int64_t count,
                        double* per_tensor, double* total, void* stream);

/* ---- copy ---------------------------------------------------------------------------------
 * dst[i] = src[i], nbytes[i] bytes each (e.g. backing up and restoring all gradients). */
int vidtag_copy_many_cpu(void* const* dst, const void* const* src, const int64_t* nbytes,
                         int64_t count);
int vidtag_copy_many_cuda(void* const* dst, const void* const* src, const int64_t* nbytes,
                          int64_t count, void* stream);

/* ---- FGM ----------------------------------------------------------------------------------
 * For each tensor i (all fp32): backup[i] = param[i]; then, when g = ||grad[i]|| is finite and
 * non-zero, param[i] += epsilon * grad[i] / g. applied[i] (may be NULL) is set to 1 where the
 * perturbation was added and 0 where the norm was zero or not finite (param left unchanged).
 * CUDA: applied is a DEVICE pointer. */
int vidtag_fgm_perturb_cpu(float* const* param, float* const* backup, const float* const* grad,
                           const int64_t* numel, int64_t count, float epsilon, int32_t* applied);
int vidtag_fgm_perturb_cuda(float* const* param, float* const* backup,
                            const float* const* grad, const int64_t* numel, int64_t count,
                            float epsilon, int32_t* applied, void* stream);

/* param[i] = backup[i] (fp32): undoes fgm_perturb or a series of pgd_step. */
int vidtag_restore_cpu(float* const* param, const float* const* backup, const int64_t* numel,
                       int64_t count);
int vidtag_restore_cuda(float* const* param, const float* const* backup, const int64_t* numel,
                        int64_t count, void* stream);

/* ---- PGD ----------------------------------------------------------------------------------
 * One projected step for each tensor i (all fp32), when g = ||grad[i]|| is finite and non-zero:
 *   param[i] += alpha * grad[i] / g;  r = param[i] - backup[i];
 *   if ||r|| > epsilon: param[i] = backup[i] + epsilon * r / ||r||.
 * Otherwise param[i] is left unchanged. applied[i] as for fgm_perturb (DEVICE pointer on CUDA).
 * backup[i] holds the weights before the first step (copy_many them beforehand). */
int vidtag_pgd_step_cpu(float* const* param, const float* const* backup, const float* const* grad,
                        const int64_t* numel, int64_t count, float alpha, float epsilon,
                        int32_t* applied);
int vidtag_pgd_step_cuda(float* const* param, const float* const* backup,
                         const float* const* grad, const int64_t* numel, int64_t count,
                         float alpha, float epsilon, int32_t* applied, void* stream);

/* ---- attention ----------------------------------------------------------------------------
 * Multi-head scaled dot-product attention with key padding, for self-attention (Lq == Lk) and
 * cross-attention (Lq != Lk, e.g. 1-32 frames against up to 512 tokens):
 *   S[b,h,i,j] = scale * <q[b,i,h,:], k[b,j,h,:]>          over the real keys j of item b
 *   P[b,h,i,:] = softmax_j S[b,h,i,:], then dropout (training)
 *   out[b,i,h,:] = sum_j P[b,h,i,j] v[b,j,h,:]
 *
 * Layout. q, k and v are read where the projections leave them, with no transpose or copy:
 * element t of head h at position i of item b is x[b*batch_stride + i*row_stride + h*head_dim
 * + t] (strides in elements). A fused QKV projection [B, L, 3H] passes base, base + H and
 * base + 2H with row stride 3H. out and all gradients are contiguous [B, L, heads * head_dim]:
 * the heads come out merged.
 *
 * Key padding. key_lengths[b] (keys j >= key_lengths[b] are padding), or key_mask[b*Lk + j]
 * (nonzero: a real key), or neither (every key real); never both. A row of item b with no real
 * key (length 0, or a mask of zeros) attends over all Lk keys alike, exactly as the models'
 * additive -10000 bias makes it do (AttentionMasks.java).
 *
 * lse[(b*heads + h)*Lq + i] (float32): the log-sum-exp of the row's scaled scores over the keys
 * it attends, before dropout; what backward needs. NULL when not wanted (inference).
 *
 * Dropout (dropout_p > 0, training): P[b,h,i,j] is kept, scaled by 1 / (1 - p), when
 * vidtag_dropout_uniform(dropout_seed, ((b*heads + h)*Lq + i)*Lk + j) >= p, else zeroed. The
 * numbers are counter-based: one seed gives the same mask on CPU and CUDA, in forward and in
 * backward, whatever the thread count or tiling.
 *
 * dtype: q, k, v, out, grad_out and the gradients are all fp32 or all bf16; scores, softmax and
 * accumulation are fp32. The dropout scale 1 / (1 - p) is computed in fp32.
 *
 * Sizes: heads, head_dim and key_length at least 1; batch and query_length at least 1 on the
 * CPU, while the CUDA entries take 0 as an empty call. head_dim at most 128 on CUDA. A batch
 * stride of 0 (one K/V shared by every item) is allowed. key_lengths[b] must lie in [0, Lk]:
 * the CPU refuses other values; CUDA, which never reads device data on the host, clamps them.
 */
typedef struct vidtag_attention_shape {
  int64_t batch;
  int64_t heads;
  int64_t query_length;
  int64_t key_length;
  int64_t head_dim;
  int64_t q_batch_stride, q_row_stride;
  int64_t k_batch_stride, k_row_stride;
  int64_t v_batch_stride, v_row_stride;
  int32_t dtype; /* vidtag_dtype */
  float scale;   /* usually 1 / sqrt(head_dim) */
  float dropout_p;
  uint64_t dropout_seed;
} vidtag_attention_shape;

/* The CPU kernels' instruction set: AUTO picks the widest this CPU has (vidtag_cpu_features);
 * the others force a path (VIDTAG_ERR_INVALID_ARGUMENT when the CPU lacks it), so that every
 * path can be tested on one machine. BASELINE is portable scalar code, built for the compiler's
 * default target (and the only path on other CPUs or compilers than x86-64 GCC). */
#define VIDTAG_ISA_AUTO 0
#define VIDTAG_ISA_BASELINE 1
#define VIDTAG_ISA_AVX2 2
#define VIDTAG_ISA_AVX512 3

/* splitmix64 of (seed + (index + 1) * 0x9E3779B97F4A7C15), top 24 bits / 2^24: in [0, 1). */
float vidtag_dropout_uniform(uint64_t seed, uint64_t index);

/* On the OpenMP runtime the library is linked with (the one LibTorch ships, so the thread count
 * is LibTorch's), no BLAS call: the forward parallel over (item, head, query block), the
 * backward over (item, head). Results do not depend on the thread count. */
int vidtag_attention_forward_cpu(const vidtag_attention_shape* shape, const void* q,
                                 const void* k, const void* v, const int32_t* key_lengths,
                                 const uint8_t* key_mask, void* out, float* lse, int isa);
/* Gradients of sum(grad_out * out) with respect to q, k and v, from the forward's out and lse
 * (same shape, inputs and seed; lse is required). grad_q is [B, Lq, heads*head_dim], grad_k and grad_v
 * [B, Lk, heads*head_dim], all contiguous and overwritten. */
int vidtag_attention_backward_cpu(const vidtag_attention_shape* shape, const void* q,
                                  const void* k, const void* v, const int32_t* key_lengths,
                                  const uint8_t* key_mask, const void* out, const float* lse,
                                  const void* grad_out, void* grad_q, void* grad_k, void* grad_v,
                                  int isa);
/* CUDA: every tensor pointer, key_lengths and key_mask are DEVICE pointers; shape is host. */
int vidtag_attention_forward_cuda(const vidtag_attention_shape* shape, const void* q,
                                  const void* k, const void* v, const int32_t* key_lengths,
                                  const uint8_t* key_mask, void* out, float* lse, void* stream);
int vidtag_attention_backward_cuda(const vidtag_attention_shape* shape, const void* q,
                                   const void* k, const void* v, const int32_t* key_lengths,
                                   const uint8_t* key_mask, const void* out, const float* lse,
                                   const void* grad_out, void* grad_q, void* grad_k,
                                   void* grad_v, void* stream);

#ifdef __cplusplus
}
#endif

#endif /* VIDTAG_KERNELS_H */

#!/usr/bin/env python3
"""Checks VidTag's CUDA kernels (libvidtag_kernels.so, loaded with ctypes) on a GPU.

Correctness: every _cuda entry of native/include/vidtag/kernels.h on random data (fp32, and
bf16 inputs where the kernel takes them), in lists of one, a few, hundreds of small and a
BERT-base-sized set of tensors, aligned and deliberately misaligned, compared with a plain
PyTorch computation in float64. Outputs that a kernel writes whole start as NaN (or a byte
pattern), so an element it skipped shows. FGM and PGD also run with zero, NaN and infinite
gradients (tensor untouched, applied = 0) and with the PGD projection active and inactive.

Speed: CUDA-event medians on the BERT-sized list (and on 300 small tensors) against
torch._foreach_* and plain per-tensor loops, as time and effective bandwidth (the bytes the
operation must read and write, divided by the time).

Exit status: 0 when every check passed, 1 when one failed, 2 when the check could not run.
"""
import argparse
import ctypes
import math
import os
import random
import statistics
import struct
import sys
import time
import traceback

try:
    import torch
    import torch.nn.functional as F
except ImportError as exc:  # the check needs PyTorch; without it there is nothing to compare
    print(f"cannot run: PyTorch is not installed ({exc})", flush=True)
    sys.exit(2)

FLOAT32, BFLOAT16 = 0, 1
OK, INVALID_ARGUMENT, CUDA_UNAVAILABLE, CUDA_ERROR = 0, 1, 2, 3

# Tolerances on max|ours - ref| / max|ref| against float64 references.
TOL_ELEMENTWISE = 1e-6  # one or two fp32 roundings of each element
TOL_NORM = 1e-5  # fp32 partial sums within a block (per tensor, relative)
TOL_BALL = 1e-3  # ||param - backup|| after a projection, from the fp32-rounded param
# Attention, max|ours - ref| / max|ref| against float64: fp32 products and sums over up to 512
# keys; bf16 outputs are rounded to 8 significant bits.
TOL_ATTN = {"fp32": 1e-5, "bf16": 2e-2}
TOL_ATTN_LSE = {"fp32": 1e-5, "bf16": 1e-5}  # lse is fp32 either way, from the same inputs
TOL_ATTN_GRAD = {"fp32": 1e-4, "bf16": 2e-2}

# ---- reporting -----------------------------------------------------------------------------


class Report:
    """Prints every line and copies it to the results file as it goes."""

    def __init__(self, path):
        self.file = open(path, "w", encoding="utf-8") if path else None

    def __call__(self, line=""):
        print(line, flush=True)
        if self.file:
            self.file.write(line + "\n")
            self.file.flush()


class Checks:
    def __init__(self, report):
        self.report = report
        self.failed = []
        self.passed = 0

    def error(self, kernel, case, what, err, tol):
        """A measured error against its tolerance (NaN fails)."""
        passed = err <= tol  # False for NaN
        self._record(kernel, case, what, passed, f"err {err:.2e} (tol {tol:.0e})")

    def truth(self, kernel, case, what, passed, detail=""):
        self._record(kernel, case, what, bool(passed), detail)

    def _record(self, kernel, case, what, passed, detail):
        self.passed += passed
        mark = "ok  " if passed else "FAIL"
        self.report(f"  {mark} {kernel:<15} {case:<22} {what:<34} {detail}")
        if not passed:
            self.failed.append(f"{kernel} / {case} / {what}: {detail}")


# ---- the library ---------------------------------------------------------------------------


class KernelError(RuntimeError):
    pass


class AttentionShape(ctypes.Structure):
    """vidtag_attention_shape, field for field (order and types as in kernels.h)."""
    _fields_ = [
        ("batch", ctypes.c_int64),
        ("heads", ctypes.c_int64),
        ("query_length", ctypes.c_int64),
        ("key_length", ctypes.c_int64),
        ("head_dim", ctypes.c_int64),
        ("q_batch_stride", ctypes.c_int64), ("q_row_stride", ctypes.c_int64),
        ("k_batch_stride", ctypes.c_int64), ("k_row_stride", ctypes.c_int64),
        ("v_batch_stride", ctypes.c_int64), ("v_row_stride", ctypes.c_int64),
        ("dtype", ctypes.c_int32),
        ("scale", ctypes.c_float),
        ("dropout_p", ctypes.c_float),
        ("dropout_seed", ctypes.c_uint64),
    ]


class Kernels:
    """The _cuda entries, with argtypes exactly as declared in kernels.h."""

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        vp, i32, i64, f32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_int64, ctypes.c_float
        arr = ctypes.POINTER(ctypes.c_void_p)  # T* const* and const T* const*: host arrays
        sizes = ctypes.POINTER(ctypes.c_int64)  # const int64_t*: host array
        shape_p = ctypes.POINTER(AttentionShape)  # const vidtag_attention_shape*: host
        signatures = {
            # (float* const* shadow, const void* const* param, int param_dtype,
            #  const int64_t* numel, int64_t count, float decay, void* stream)
            "vidtag_ema_update_cuda": [arr, arr, i32, sizes, i64, f32, vp],
            # (void* const* a, void* const* b, int dtype, const int64_t* numel, int64_t count,
            #  void* stream)
            "vidtag_swap_cuda": [arr, arr, i32, sizes, i64, vp],
            # (float* const* average, const void* const* x, int x_dtype, const int64_t* numel,
            #  int64_t count, int64_t n_averaged, void* stream)
            "vidtag_swa_accumulate_cuda": [arr, arr, i32, sizes, i64, i64, vp],
            # (const void* const* x, int dtype, const int64_t* numel, int64_t count,
            #  double* per_tensor /*device*/, double* total /*device*/, void* stream)
            "vidtag_l2_norm_cuda": [arr, i32, sizes, i64, vp, vp, vp],
            # (void* const* dst, const void* const* src, const int64_t* nbytes, int64_t count,
            #  void* stream)
            "vidtag_copy_many_cuda": [arr, arr, sizes, i64, vp],
            # (float* const* param, float* const* backup, const float* const* grad,
            #  const int64_t* numel, int64_t count, float epsilon, int32_t* applied /*device*/,
            #  void* stream)
            "vidtag_fgm_perturb_cuda": [arr, arr, arr, sizes, i64, f32, vp, vp],
            # (float* const* param, const float* const* backup, const int64_t* numel,
            #  int64_t count, void* stream)
            "vidtag_restore_cuda": [arr, arr, sizes, i64, vp],
            # (float* const* param, const float* const* backup, const float* const* grad,
            #  const int64_t* numel, int64_t count, float alpha, float epsilon,
            #  int32_t* applied /*device*/, void* stream)
            "vidtag_pgd_step_cuda": [arr, arr, arr, sizes, i64, f32, f32, vp, vp],
            # (const vidtag_attention_shape* shape, const void* q, const void* k, const void* v,
            #  const int32_t* key_lengths, const uint8_t* key_mask, void* out, float* lse,
            #  void* stream); every pointer but shape is device memory
            "vidtag_attention_forward_cuda": [shape_p, vp, vp, vp, vp, vp, vp, vp, vp],
            # (shape, q, k, v, key_lengths, key_mask, const void* out, const float* lse,
            #  const void* grad_out, void* grad_q, void* grad_k, void* grad_v, void* stream)
            "vidtag_attention_backward_cuda": [shape_p] + [vp] * 12,
        }
        for name, argtypes in signatures.items():
            fn = getattr(self.lib, name)
            fn.argtypes = argtypes
            fn.restype = ctypes.c_int
        for name, restype in [("vidtag_cuda_compiled", ctypes.c_int),
                              ("vidtag_cuda_device_count", ctypes.c_int),
                              ("vidtag_version", ctypes.c_char_p),
                              ("vidtag_last_error", ctypes.c_char_p)]:
            fn = getattr(self.lib, name)
            fn.argtypes = []
            fn.restype = restype
        self.lib.vidtag_status_string.argtypes = [ctypes.c_int]
        self.lib.vidtag_status_string.restype = ctypes.c_char_p

    def last_error(self):
        return self.lib.vidtag_last_error().decode()

    def raw(self, kernel, *args):
        """Calls vidtag_<kernel>_cuda and returns its status."""
        return getattr(self.lib, f"vidtag_{kernel}_cuda")(*args)

    def _call(self, kernel, bind, *args):
        """Runs the kernel now, or (bind) returns a closure over the already converted
        arguments, so that timing measures the library rather than ctypes conversions."""
        fn = getattr(self.lib, f"vidtag_{kernel}_cuda")

        def go():
            status = fn(*args)
            if status != OK:
                text = self.lib.vidtag_status_string(status).decode()
                raise KernelError(f"{kernel}_cuda returned {status} ({text}): {self.last_error()}")

        return go if bind else go()

    # Typed wrappers: lists of CUDA tensors in, on the current PyTorch stream.

    def ema_update(self, shadow, param, decay, bind=False):
        return self._call("ema_update", bind, ptrs(shadow), ptrs(param), dtype_code(param),
                          numels(shadow), len(shadow), decay, stream())

    def swap(self, a, b, bind=False):
        return self._call("swap", bind, ptrs(a), ptrs(b), dtype_code(a), numels(a), len(a), stream())

    def swa_accumulate(self, average, x, n_averaged, bind=False):
        return self._call("swa_accumulate", bind, ptrs(average), ptrs(x), dtype_code(x),
                          numels(average), len(average), n_averaged, stream())

    def l2_norm(self, x, per_tensor, total, bind=False):
        return self._call("l2_norm", bind, ptrs(x), dtype_code(x), numels(x), len(x),
                          data(per_tensor), data(total), stream())

    def copy_many(self, dst, src, bind=False):
        return self._call("copy_many", bind, ptrs(dst), ptrs(src),
                          int64s([t.numel() * t.element_size() for t in src]), len(dst), stream())

    def fgm_perturb(self, param, backup, grad, epsilon, applied, bind=False):
        return self._call("fgm_perturb", bind, ptrs(param), ptrs(backup), ptrs(grad),
                          numels(param), len(param), epsilon, data(applied), stream())

    def restore(self, param, backup, bind=False):
        return self._call("restore", bind, ptrs(param), ptrs(backup), numels(param), len(param),
                          stream())

    def pgd_step(self, param, backup, grad, alpha, epsilon, applied, bind=False):
        return self._call("pgd_step", bind, ptrs(param), ptrs(backup), ptrs(grad), numels(param),
                          len(param), alpha, epsilon, data(applied), stream())


    def attention_forward(self, shape, q, k, v, lengths, mask, out, lse, bind=False):
        return self._call("attention_forward", bind, ctypes.byref(shape), data(q), data(k),
                          data(v), data(lengths), data(mask), data(out), data(lse), stream())

    def attention_backward(self, shape, q, k, v, lengths, mask, out, lse, grad_out, grad_q,
                           grad_k, grad_v, bind=False):
        return self._call("attention_backward", bind, ctypes.byref(shape), data(q), data(k),
                          data(v), data(lengths), data(mask), data(out), data(lse),
                          data(grad_out), data(grad_q), data(grad_k), data(grad_v), stream())


def ptrs(tensors):
    """Host array of device pointers (NULL for empty tensors PyTorch gives no storage)."""
    return (ctypes.c_void_p * len(tensors))(*[t.data_ptr() or None for t in tensors])


def int64s(values):
    return (ctypes.c_int64 * len(values))(*values)


def numels(tensors):
    return int64s([t.numel() for t in tensors])


def dtype_code(tensors):
    return BFLOAT16 if tensors and tensors[0].dtype == torch.bfloat16 else FLOAT32


def data(tensor):
    return None if tensor is None else tensor.data_ptr()


def stream():
    return torch.cuda.current_stream().cuda_stream or None


# ---- data ----------------------------------------------------------------------------------

DEVICE = "cuda"


def bert_base_shapes():
    """The parameter shapes of a BERT-base encoder with a 21128-token vocabulary: 199 tensors,
    about 102M values."""
    h, ffn, layers = 768, 3072, 12
    shapes = [(21128, h), (512, h), (2, h), (h,), (h,)]  # embeddings and their LayerNorm
    for _ in range(layers):
        for _ in range(4):  # query, key, value, attention output
            shapes += [(h, h), (h,)]
        shapes += [(h,), (h,)]  # attention LayerNorm
        shapes += [(ffn, h), (ffn,), (h, ffn), (h,)]  # feed-forward
        shapes += [(h,), (h,)]  # output LayerNorm
    shapes += [(h, h), (h,)]  # pooler
    return shapes


def cases(quick):
    rng = random.Random(20240607)
    small = [(rng.randint(1, 5000),) for _ in range(300)]
    out = [
        ("one", [(1,)], False),
        ("seven", [(7,)], False),
        ("1000003", [(1000003,)], False),
        ("300 small", small, False),
        ("with empty", [(0,), (5,), (0,), (100003,), (1,), (0,)], False),
        ("misaligned", [(7,), (1000003,), (4099,), (1,)], True),
    ]
    if not quick:
        out.append(("bert-base", bert_base_shapes(), False))
    return out


def numel_of(shape):
    return math.prod(shape)


def empty_list(shapes, dtype, misaligned=False):
    """Uninitialised CUDA tensors; misaligned ones start one element into their allocation,
    so that their address is not 16-byte aligned."""
    out = []
    for shape in shapes:
        if misaligned:
            base = torch.empty(numel_of(shape) + 1, dtype=dtype, device=DEVICE)
            out.append(base[1:].view(shape))
        else:
            out.append(torch.empty(shape, dtype=dtype, device=DEVICE))
    return out


def random_list(shapes, dtype=torch.float32, misaligned=False, scale=1.0):
    out = empty_list(shapes, dtype, misaligned)
    for t in out:
        if dtype == torch.uint8:
            t.random_(0, 256)
        else:
            t.copy_(torch.randn(t.shape, device=DEVICE) * scale)
    return out


def filled_list(shapes, dtype, value, misaligned=False):
    out = empty_list(shapes, dtype, misaligned)
    for t in out:
        t.fill_(value)
    return out


def f32(x):
    """x rounded to float32, as the library receives it."""
    return struct.unpack("f", struct.pack("f", x))[0]


def rel_err(ours, ref):
    """max|ours - ref| / max|ref| over a list (ref float64); NaN anywhere gives NaN."""
    nums = [(o.double() - r).abs().max() for o, r in zip(ours, ref) if o.numel()]
    dens = [r.abs().max() for r in ref if r.numel()]
    if not nums:
        return 0.0
    num = torch.stack(nums).max().item()
    den = torch.stack(dens).max().item()
    return num / den if den > 0 else num


def any_nan(tensors):
    flags = [torch.isnan(t).any() for t in tensors if t.numel() and t.is_floating_point()]
    return bool(torch.stack(flags).any().item()) if flags else False


def all_equal(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def clone(tensors):
    return [t.clone() for t in tensors]


# ---- correctness ---------------------------------------------------------------------------


def check_ema(k, c, name, shapes, misaligned):
    for dtype in (torch.float32, torch.bfloat16):
        shadow = random_list(shapes, torch.float32, misaligned)
        param = random_list(shapes, dtype, misaligned)
        decay = f32(0.9)
        ref = [decay * s.double() + (1.0 - decay) * p.double() for s, p in zip(shadow, param)]
        k.ema_update(shadow, param, decay)
        c.error("ema_update", name, f"{dtype_name(dtype)} param", rel_err(shadow, ref),
                TOL_ELEMENTWISE)


def check_swa(k, c, name, shapes, misaligned):
    n_averaged = 4  # 1/5 is inexact in binary
    for dtype in (torch.float32, torch.bfloat16):
        average = random_list(shapes, torch.float32, misaligned)
        x = random_list(shapes, dtype, misaligned)
        ref = [a.double() + (v.double() - a.double()) / (n_averaged + 1) for a, v in zip(average, x)]
        k.swa_accumulate(average, x, n_averaged)
        c.error("swa_accumulate", name, f"{dtype_name(dtype)} x", rel_err(average, ref),
                TOL_ELEMENTWISE)


def check_swap(k, c, name, shapes, misaligned):
    for dtype in (torch.float32, torch.bfloat16):
        a = random_list(shapes, dtype, misaligned)
        b = random_list(shapes, dtype, misaligned)
        a0, b0 = clone(a), clone(b)
        k.swap(a, b)
        c.truth("swap", name, f"{dtype_name(dtype)} exchanged exactly",
                all_equal(a, b0) and all_equal(b, a0))


def check_copy_restore(k, c, name, shapes, misaligned):
    for dtype in (torch.float32, torch.bfloat16):
        src = random_list(shapes, dtype, misaligned)
        dst = filled_list(shapes, dtype, float("nan"), misaligned)
        k.copy_many(dst, src)
        c.truth("copy_many", name, f"{dtype_name(dtype)} exact, no NaN left",
                all_equal(dst, src) and not any_nan(dst))
    # Odd byte counts and odd addresses force the byte-wise path for the whole list.
    src = random_list(shapes, torch.uint8, misaligned)
    dst = filled_list(shapes, torch.uint8, 0xA5, misaligned)
    k.copy_many(dst, src)
    c.truth("copy_many", name, "uint8 exact", all_equal(dst, src))

    backup = random_list(shapes, torch.float32, misaligned)
    param = filled_list(shapes, torch.float32, float("nan"), misaligned)
    k.restore(param, backup)
    c.truth("restore", name, "exact, no NaN left", all_equal(param, backup) and not any_nan(param))


def check_mixed_copy(k, c):
    """One copy_many list mixing fp32 tensors with odd-sized byte tensors: one byte-unit launch
    in which aligned tensors still take 16-byte vectors."""
    src = random_list([(1000003,), (33,)], torch.float32) + random_list([(4097,), (1,)], torch.uint8)
    dst = (filled_list([(1000003,), (33,)], torch.float32, float("nan"))
           + filled_list([(4097,), (1,)], torch.uint8, 0x5A))
    k.copy_many(dst, src)
    c.truth("copy_many", "mixed dtypes", "exact, no NaN left", all_equal(dst, src) and not any_nan(dst))


def ref_norms(x):
    return [torch.linalg.vector_norm(t.double()) if t.numel() else torch.zeros((), dtype=torch.float64, device=DEVICE)
            for t in x]


def norm_err(ours, ref):
    """max over entries of |ours - ref| / ref (ref 0 demands ours 0)."""
    ours, ref = ours.double(), ref.double()
    zero = ref == 0
    err = torch.where(zero, torch.where(ours == 0, 0.0, math.inf), (ours - ref).abs() / ref.clamp_min(1e-300))
    return err.max().item() if err.numel() else 0.0


def check_l2_norm(k, c, name, shapes, misaligned):
    for dtype in (torch.float32, torch.bfloat16):
        x = random_list(shapes, dtype, misaligned)
        ref = torch.stack(ref_norms(x))
        ref_total = torch.sqrt((ref * ref).sum())
        per_tensor = torch.full((len(x),), math.nan, dtype=torch.float64, device=DEVICE)
        total = torch.full((1,), math.nan, dtype=torch.float64, device=DEVICE)
        k.l2_norm(x, per_tensor, total)
        c.error("l2_norm", name, f"{dtype_name(dtype)} per tensor", norm_err(per_tensor, ref), TOL_NORM)
        c.error("l2_norm", name, f"{dtype_name(dtype)} total", norm_err(total, ref_total.view(1)), TOL_NORM)
    # Either output may be NULL.
    x = random_list(shapes, torch.float32, misaligned)
    ref = torch.stack(ref_norms(x))
    total = torch.full((1,), math.nan, dtype=torch.float64, device=DEVICE)
    k.l2_norm(x, None, total)
    c.error("l2_norm", name, "total only", norm_err(total, torch.sqrt((ref * ref).sum()).view(1)), TOL_NORM)
    per_tensor = torch.full((len(x),), math.nan, dtype=torch.float64, device=DEVICE)
    k.l2_norm(x, per_tensor, None)
    c.error("l2_norm", name, "per tensor only", norm_err(per_tensor, ref), TOL_NORM)


def usable_scale(squared_norm, step):
    """The library's rule: float(step / ||g||), 0 (not applied) for a zero or non-finite norm."""
    norm = math.sqrt(squared_norm) if squared_norm >= 0 else math.nan
    if not math.isfinite(norm) or norm == 0.0:
        return 0.0
    return f32(step / norm)


def grad_norms_sq(grad):
    return [(g.double() ** 2).sum().item() if g.numel() else 0.0 for g in grad]


def poison(grad):
    """Zero, NaN and infinite gradients for the first three tensors of a list."""
    if len(grad) >= 3:
        grad[0].zero_()
        grad[1].view(-1)[0] = math.nan
        grad[2].view(-1)[-1] = math.inf


def check_fgm(k, c, name, shapes, misaligned, special=False):
    # Small weights and a unit epsilon keep the perturbation comparable to the weights, so the
    # error bound (relative to max|param|) constrains the step itself.
    param = random_list(shapes, torch.float32, misaligned, scale=1e-3)
    grad = random_list(shapes, torch.float32, misaligned)
    if special:
        poison(grad)
    backup = filled_list(shapes, torch.float32, math.nan, misaligned)
    p0 = clone(param)
    epsilon = f32(1.0)
    scales = [usable_scale(sq, epsilon) for sq in grad_norms_sq(grad)]
    ref = [p.double() + s * g.double() if s != 0.0 else p.double() for p, g, s in zip(param, grad, scales)]
    applied = torch.full((len(param),), -1, dtype=torch.int32, device=DEVICE)
    k.fgm_perturb(param, backup, grad, epsilon, applied)
    c.truth("fgm_perturb", name, "backup == param before, exactly", all_equal(backup, p0) and not any_nan(backup))
    c.error("fgm_perturb", name, "param", rel_err(param, ref), TOL_ELEMENTWISE)
    expected = [1 if s != 0.0 else 0 for s in scales]
    c.truth("fgm_perturb", name, "applied flags", applied.tolist() == expected,
            f"{applied.tolist()[:8]} vs {expected[:8]}")
    skipped = [i for i, s in enumerate(scales) if s == 0.0]
    if special or skipped:
        c.truth("fgm_perturb", name, f"{len(skipped)} skipped tensors untouched",
                all(torch.equal(param[i], p0[i]) for i in skipped))
    # applied may be NULL.
    param = clone(p0)
    k.fgm_perturb(param, backup, grad, epsilon, None)
    c.error("fgm_perturb", name, "param (applied NULL)", rel_err(param, ref), TOL_ELEMENTWISE)


def pgd_reference(param, backup, grad, alpha, epsilon):
    """Float64 PGD step; returns (ref, expected applied, projected flags, borderline indexes)."""
    ref, applied, projected, borderline = [], [], [], []
    for i, (p, b, g) in enumerate(zip(param, backup, grad)):
        scale = usable_scale((g.double() ** 2).sum().item() if g.numel() else 0.0, alpha)
        if scale == 0.0:
            ref.append(p.double())
            applied.append(0)
            projected.append(False)
            continue
        moved = p.double() + scale * g.double()
        r = moved - b.double()
        rn = torch.linalg.vector_norm(r).item()
        if abs(rn - epsilon) <= 1e-4 * epsilon:
            borderline.append(i)  # fp32 rounding may take either branch
        if rn > epsilon:
            moved = b.double() + (epsilon / rn) * r
        ref.append(moved)
        applied.append(1)
        projected.append(rn > epsilon)
    return ref, applied, projected, borderline


def check_pgd(k, c, name, shapes, misaligned, mode):
    """mode: 'inactive' (||step|| < epsilon), 'active' (projection), 'second step' (param
    already displaced, mixed), 'special' (zero/NaN/inf gradients)."""
    backup = random_list(shapes, torch.float32, misaligned, scale=1e-3)
    param = empty_list(shapes, torch.float32, misaligned)
    for p, b in zip(param, backup):
        p.copy_(b)
    grad = random_list(shapes, torch.float32, misaligned)
    alpha, epsilon = {"inactive": (0.5, 1.0), "active": (1.0, 0.5), "second step": (0.5, 1.0),
                      "special": (1.0, 0.5)}[mode]
    alpha, epsilon = f32(alpha), f32(epsilon)
    if mode == "second step":
        for p, b in zip(param, backup):  # a displacement of norm 0.8 epsilon in a random direction
            d = torch.randn(p.shape, device=DEVICE, dtype=torch.float64)
            if d.numel():
                p.copy_(b.double() + 0.8 * epsilon * d / torch.linalg.vector_norm(d))
    if mode == "special":
        poison(grad)
    p0 = clone(param)
    ref, expected, projected, borderline = pgd_reference(param, backup, grad, alpha, epsilon)
    keep = [i for i in range(len(param)) if i not in borderline]
    applied = torch.full((len(param),), -1, dtype=torch.int32, device=DEVICE)
    k.pgd_step(param, backup, grad, alpha, epsilon, applied)
    label = f"{mode}: param" + (f" ({len(borderline)} borderline skipped)" if borderline else "")
    c.error("pgd_step", name, label, rel_err([param[i] for i in keep], [ref[i] for i in keep]),
            TOL_ELEMENTWISE)
    c.truth("pgd_step", name, f"{mode}: applied flags", applied.tolist() == expected,
            f"{applied.tolist()[:8]} vs {expected[:8]}")
    n_projected = sum(projected[i] for i in keep)
    if mode in ("active", "inactive"):
        want = len(keep) - expected.count(0) if mode == "active" else 0
        c.truth("pgd_step", name, f"{mode}: {n_projected} of {len(param)} projected", n_projected == want)
    if n_projected:
        radii = [torch.linalg.vector_norm(param[i].double() - backup[i].double()).item()
                 for i in keep if projected[i]]
        worst = max(abs(r - epsilon) / epsilon for r in radii)
        c.error("pgd_step", name, f"{mode}: ||param-backup|| = epsilon", worst, TOL_BALL)
    skipped = [i for i, e in enumerate(expected) if e == 0]
    if skipped:
        c.truth("pgd_step", name, f"{mode}: {len(skipped)} skipped untouched",
                all(torch.equal(param[i], p0[i]) for i in skipped))


def check_stream(k, c):
    """A non-default stream is honoured: the kernel runs after work queued before it there."""
    side = torch.cuda.Stream()
    shapes = [(1000003,), (7,)]
    shadow = random_list(shapes)
    param = random_list(shapes)
    torch.cuda.synchronize()
    with torch.cuda.stream(side):
        torch.cuda._sleep(10_000_000)  # keeps the stream busy, so an unordered kernel would race
        for p in param:
            p.mul_(2.0)
        ref = [0.5 * s.double() + 0.5 * p.double() for s, p in zip(shadow, param)]
        k.ema_update(shadow, param, 0.5)
    torch.cuda.current_stream().wait_stream(side)
    c.error("ema_update", "side stream", "ordered after earlier work", rel_err(shadow, ref), TOL_ELEMENTWISE)


def check_edges(k, c):
    """Empty lists, all-empty lists and invalid arguments."""
    total = torch.full((1,), math.nan, dtype=torch.float64, device=DEVICE)
    k.l2_norm([], None, total)
    c.truth("l2_norm", "count 0", "total written as 0", total.item() == 0.0)
    x = [torch.empty(0, device=DEVICE), torch.empty(0, device=DEVICE)]
    per_tensor = torch.full((2,), math.nan, dtype=torch.float64, device=DEVICE)
    total.fill_(math.nan)
    k.l2_norm(x, per_tensor, total)
    c.truth("l2_norm", "all empty", "zeros written", per_tensor.tolist() == [0.0, 0.0] and total.item() == 0.0)
    applied = torch.full((2,), -1, dtype=torch.int32, device=DEVICE)
    k.fgm_perturb(x, clone(x), clone(x), 1.0, applied)
    c.truth("fgm_perturb", "all empty", "applied = 0", applied.tolist() == [0, 0])
    applied.fill_(-1)
    k.pgd_step(x, clone(x), clone(x), 1.0, 1.0, applied)
    c.truth("pgd_step", "all empty", "applied = 0", applied.tolist() == [0, 0])
    for kernel, fn in [("ema_update", lambda: k.ema_update([], [], 0.9)),
                       ("swap", lambda: k.swap([], [])),
                       ("swa_accumulate", lambda: k.swa_accumulate([], [], 0)),
                       ("copy_many", lambda: k.copy_many([], [])),
                       ("restore", lambda: k.restore([], []))]:
        fn()
        c.truth(kernel, "count 0", "returns OK", True)

    one = [torch.ones(4, device=DEVICE)]
    p, n = ptrs(one), numels(one)
    null_ptrs = (ctypes.c_void_p * 1)(None)
    invalid = [
        ("ema_update", "unknown dtype", lambda: k.raw("ema_update", p, p, 7, n, 1, 0.9, None)),
        ("ema_update", "negative count", lambda: k.raw("ema_update", p, p, 0, n, -1, 0.9, None)),
        ("ema_update", "null pointer", lambda: k.raw("ema_update", p, null_ptrs, 0, n, 1, 0.9, None)),
        ("swa_accumulate", "negative n_averaged", lambda: k.raw("swa_accumulate", p, p, 0, n, 1, -1, None)),
        ("l2_norm", "null numel", lambda: k.raw("l2_norm", p, 0, None, 1, None, None, None)),
        ("copy_many", "negative size", lambda: k.raw("copy_many", p, p, int64s([-4]), 1, None)),
        ("pgd_step", "negative epsilon", lambda: k.raw("pgd_step", p, p, p, n, 1, 1.0, -1.0, None, None)),
    ]
    for kernel, what, call in invalid:
        status = call()
        c.truth(kernel, "invalid argument", what, status == INVALID_ARGUMENT and k.last_error() != "",
                f"status {status}: {k.last_error()}")
    c.truth("ema_update", "invalid argument", "data untouched", torch.equal(one[0], torch.ones(4, device=DEVICE)))


def check_async(k, c, quick):
    """No call waits for its stream: with the stream held by a 100 ms sleep kernel, every call
    must hand control back to the host long before that (the table upload is the only
    candidate for a wait; the BERT-sized tables are about 60 KiB)."""
    cycles_per_ms = sleep_cycles_per_ms()
    rng = random.Random(3)
    lists = [("300 small", [(rng.randint(1, 5000),) for _ in range(300)])]
    if not quick:
        lists.append(("bert-base", bert_base_shapes()))
    for name, shapes in lists:
        a, b, g = random_list(shapes), random_list(shapes), random_list(shapes)
        bf = random_list(shapes, torch.bfloat16)
        per_tensor = torch.empty(len(shapes), dtype=torch.float64, device=DEVICE)
        total = torch.empty(1, dtype=torch.float64, device=DEVICE)
        applied = torch.empty(len(shapes), dtype=torch.int32, device=DEVICE)
        calls = [
            ("ema_update", k.ema_update(a, bf, 0.999, bind=True)),
            ("swap", k.swap(a, b, bind=True)),
            ("swa_accumulate", k.swa_accumulate(a, b, 3, bind=True)),
            ("l2_norm", k.l2_norm(g, per_tensor, total, bind=True)),
            ("copy_many", k.copy_many(b, a, bind=True)),
            ("fgm_perturb", k.fgm_perturb(a, b, g, 1.0, applied, bind=True)),
            ("restore", k.restore(a, b, bind=True)),
            ("pgd_step", k.pgd_step(a, b, g, 1.0, 0.5, applied, bind=True)),
        ]
        for kernel, call in calls:
            call()
            torch.cuda.synchronize()
            torch.cuda._sleep(int(100 * cycles_per_ms))
            t0 = time.perf_counter()
            call()
            held_ms = (time.perf_counter() - t0) * 1e3
            torch.cuda.synchronize()
            c.truth(kernel, f"{name}, stream busy", "host not held (< 20 of 100 ms)", held_ms < 20.0,
                    f"call returned after {held_ms:.3f} ms")


def check_huge(k, c, report):
    """One tensor of more than 2^31 elements (int64 offsets, >131k chunks)."""
    n = 2**31 + 1031
    free, _ = torch.cuda.mem_get_info()
    if free < 4 * n * 4 + (8 << 30):
        report(f"  skip huge tensor check: {free / 2**30:.0f} GiB free")
        return
    shadow = torch.rand(n, device=DEVICE)
    param = torch.rand(n, device=DEVICE)
    windows = [slice(0, 1 << 20), slice(2**31 - (1 << 20), n)]
    ref = [0.5 * shadow[w].double() + 0.5 * param[w].double() for w in windows]
    k.ema_update([shadow], [param], 0.5)
    c.error("ema_update", "2^31+1031 elements", "first 1M and last 1M+1031",
            rel_err([shadow[w] for w in windows], ref), TOL_ELEMENTWISE)
    step = 1 << 28
    ref_sq = sum((param[i:i + step].double() ** 2).sum().item() for i in range(0, n, step))
    total = torch.full((1,), math.nan, dtype=torch.float64, device=DEVICE)
    k.l2_norm([param], None, total)
    c.error("l2_norm", "2^31+1031 elements", "total", abs(total.item() - math.sqrt(ref_sq)) / math.sqrt(ref_sq),
            TOL_NORM)
    dst = torch.full((n,), math.nan, device=DEVICE)
    k.copy_many([dst], [param])
    c.truth("copy_many", "2^31+1031 elements", "exact, no NaN left", torch.equal(dst, param))
    del shadow, param, dst
    torch.cuda.empty_cache()


def dtype_name(dtype):
    return {torch.float32: "fp32", torch.bfloat16: "bf16", torch.uint8: "uint8"}[dtype]


# ---- attention -----------------------------------------------------------------------------

TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def dropout_keep(seed, count, p):
    """The keep mask of kernels.h's dropout for counters 0..count-1: splitmix64 of
    seed + (index + 1) * golden, top 24 bits / 2^24 >= p. numpy uint64 arithmetic wraps modulo
    2^64 exactly as C's does (torch has no unsigned 64-bit multiply on every version)."""
    import numpy as np

    u64 = np.uint64
    idx = np.arange(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = u64(seed) + (idx + u64(1)) * u64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> u64(30))) * u64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> u64(27))) * u64(0x94D049BB133111EB)
        z ^= z >> u64(31)
    uniform = (z >> u64(40)).astype(np.float64) / 16777216.0  # exact: 24-bit integers
    return torch.from_numpy(uniform >= p)


class AttentionCase:
    """Random inputs of one attention call, the shape that describes them, and NaN-filled
    outputs. q, k and v are [B, L, H*d] views: contiguous, or slices of one fused [B, L, 3*H*d]
    tensor (self-attention), so that their row stride is 3*H*d."""

    def __init__(self, batch, heads, lq, lk, head_dim, dtype, padding=None, fused=False,
                 dropout=0.0, seed=0x5EED):
        self.batch, self.heads, self.lq, self.lk, self.head_dim = batch, heads, lq, lk, head_dim
        self.dtype_name = dtype
        tdt = TORCH_DTYPES[dtype]
        width = heads * head_dim
        if fused:
            assert lq == lk
            qkv = torch.randn(batch, lq, 3 * width, device=DEVICE).to(tdt)
            self.q, self.k, self.v = qkv[..., :width], qkv[..., width:2 * width], qkv[..., 2 * width:]
        else:
            self.q = torch.randn(batch, lq, width, device=DEVICE).to(tdt)
            self.k = torch.randn(batch, lk, width, device=DEVICE).to(tdt)
            self.v = torch.randn(batch, lk, width, device=DEVICE).to(tdt)
        self.grad_out = torch.randn(batch, lq, width, device=DEVICE).to(tdt)

        # real[b, j]: key j of item b takes part (after the all-padding rule).
        self.lengths, self.mask = None, None
        if padding == "lengths":
            lengths = torch.randint(1, lk + 1, (batch,), device=DEVICE, dtype=torch.int32)
            lengths[0] = lk
            if batch > 1:
                lengths[1] = 0  # no real key: attends all keys alike
            self.lengths = lengths
            real = torch.arange(lk, device=DEVICE)[None, :] < lengths[:, None].long()
        elif padding == "mask":
            mask = (torch.rand(batch, lk, device=DEVICE) < 0.7).to(torch.uint8)
            mask[0, : max(1, lk // 4)] = 0  # leading holes: the first key tile may be empty
            mask[0, lk // 2] = 1
            if batch > 1:
                mask[1] = 0
            if batch > 2:
                mask[2, lk // 3:] = 0  # trailing padding: key tiles skipped
                mask[2, 0] = 1
            self.mask = mask
            real = mask != 0
        else:
            real = torch.ones(batch, lk, dtype=torch.bool, device=DEVICE)
        real[~real.any(dim=1)] = True
        self.real = real

        self.scale = f32(1.0 / math.sqrt(head_dim))
        self.dropout = f32(dropout)
        self.seed = seed
        self.shape = AttentionShape(
            batch, heads, lq, lk, head_dim,
            self.q.stride(0), self.q.stride(1), self.k.stride(0), self.k.stride(1),
            self.v.stride(0), self.v.stride(1),
            BFLOAT16 if dtype == "bf16" else FLOAT32, self.scale, self.dropout, seed)
        self.out = torch.full((batch, lq, width), math.nan, device=DEVICE).to(tdt)
        self.lse = torch.full((batch, heads, lq), math.nan, device=DEVICE)
        self.grads = [torch.full(t.shape, math.nan, device=DEVICE).to(tdt)
                      for t in (self.q, self.k, self.v)]

    def forward(self, k, bind=False):
        return k.attention_forward(self.shape, self.q, self.k, self.v, self.lengths, self.mask,
                                   self.out, self.lse, bind=bind)

    def backward(self, k, bind=False):
        return k.attention_backward(self.shape, self.q, self.k, self.v, self.lengths, self.mask,
                                    self.out, self.lse, self.grad_out, *self.grads, bind=bind)

    def heads_first(self, x, length):
        """[B, L, H*d] -> float64 [B, H, L, d]."""
        return x.double().reshape(self.batch, length, self.heads, self.head_dim).transpose(1, 2)

    def reference(self):
        """Float64 out [B, Lq, H*d], lse [B, H, Lq] and the gradients of sum(grad_out * out):
        SDPA with a boolean key mask, or, with dropout, the same computation written out with
        the splitmix64 keep mask."""
        q, k, v = (self.heads_first(x, n).contiguous().detach().requires_grad_()
                   for x, n in ((self.q, self.lq), (self.k, self.lk), (self.v, self.lk)))
        allowed = self.real[:, None, None, :]
        scores = (q.detach() @ k.detach().transpose(-1, -2)) * self.scale
        lse = torch.logsumexp(scores.masked_fill(~allowed, -math.inf), dim=-1)
        if self.dropout == 0.0:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, scale=self.scale)
        else:
            keep = dropout_keep(self.seed, self.batch * self.heads * self.lq * self.lk, self.dropout)
            keep = keep.view(self.batch, self.heads, self.lq, self.lk).to(DEVICE)
            s = (q @ k.transpose(-1, -2)) * self.scale
            probs = torch.softmax(s.masked_fill(~allowed, -math.inf), dim=-1)
            out = (probs * keep / (1.0 - self.dropout)) @ v
        merged = out.transpose(1, 2).reshape(self.batch, self.lq, -1)
        merged.backward(self.grad_out.double())
        grads = [t.grad.transpose(1, 2).reshape(self.batch, -1, self.heads * self.head_dim)
                 for t in (q, k, v)]
        return merged.detach(), lse, grads


def check_dropout_formula(k, c):
    """The reference's keep mask is the library's: vidtag_dropout_uniform (exported by the CPU
    part of the library) at a few counters, compared as numbers."""
    fn = k.lib.vidtag_dropout_uniform
    fn.argtypes = [ctypes.c_uint64, ctypes.c_uint64]
    fn.restype = ctypes.c_float
    import numpy as np

    u64 = np.uint64
    seed = 0xDEADBEEFCAFEF00D
    idx = np.array([0, 1, 2, 12345, 2**32 + 7, 2**63 + 5, 2**64 - 2], dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = u64(seed) + (idx + u64(1)) * u64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> u64(30))) * u64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> u64(27))) * u64(0x94D049BB133111EB)
        z ^= z >> u64(31)
    ours = [(int(x) >> 40) / 16777216.0 for x in z]
    lib = [fn(seed, int(i)) for i in idx]
    c.truth("attention", "dropout formula", "numpy splitmix64 == library", ours == lib,
            f"{ours[:3]} vs {lib[:3]}")


def attention_cases(quick):
    # (name, batch, heads, lq, lk, head_dim, padding, fused, dropout)
    out = [
        ("self d64 lengths", 3, 4, 77, 77, 64, "lengths", True, 0.0),
        ("cross d64 mask", 4, 3, 14, 258, 64, "mask", False, 0.0),
        ("self d32 none", 2, 2, 33, 33, 32, None, False, 0.0),
        ("cross d40 mask", 3, 2, 9, 130, 40, "mask", False, 0.0),
        ("self d40 fused mask", 3, 3, 65, 65, 40, "mask", True, 0.0),
        ("cross d128 lengths", 3, 2, 31, 200, 128, "lengths", False, 0.0),
        ("single query/key", 2, 1, 1, 1, 64, "lengths", False, 0.0),
        ("len 512", 1, 2, 512, 512, 64, "mask", True, 0.0),
        ("dropout self d64", 2, 3, 70, 70, 64, "lengths", True, 0.1),
        ("dropout cross d40", 3, 2, 14, 100, 40, "mask", False, 0.1),
    ]
    if not quick:
        out += [
            ("self B16 L272 H12", 16, 12, 272, 272, 64, "lengths", True, 0.0),
            ("cross B16 14x258", 16, 12, 14, 258, 64, "mask", False, 0.0),
        ]
    return out


def check_attention(k, c, quick):
    check_dropout_formula(k, c)
    for name, b, h, lq, lk, d, padding, fused, dropout in attention_cases(quick):
        for dt in ("fp32", "bf16"):
            case = AttentionCase(b, h, lq, lk, d, dt, padding, fused, dropout)
            ref_out, ref_lse, ref_grads = case.reference()
            case.forward(k)
            c.error("attention fwd", name, f"{dt} out", rel_err([case.out], [ref_out]), TOL_ATTN[dt])
            c.error("attention fwd", name, f"{dt} lse", rel_err([case.lse], [ref_lse]), TOL_ATTN_LSE[dt])
            case.backward(k)
            for what, ours, ref in zip(("dq", "dk", "dv"), case.grads, ref_grads):
                c.error("attention bwd", name, f"{dt} {what}", rel_err([ours], [ref]), TOL_ATTN_GRAD[dt])
            if dt == "fp32" and name.startswith("self d64"):
                first = clone(case.grads)
                case.backward(k)
                c.truth("attention bwd", name, "repeat: bitwise equal", all_equal(first, case.grads))
            # lse may be NULL (inference): out alone, same values.
            out_with_lse = case.out.clone()
            case.out.fill_(math.nan)
            k.attention_forward(case.shape, case.q, case.k, case.v, case.lengths, case.mask,
                                case.out, None)
            c.truth("attention fwd", name, f"{dt} lse NULL: same out",
                    torch.equal(case.out, out_with_lse))
    check_attention_stream(k, c)
    check_attention_invalid(k, c)


def check_attention_stream(k, c):
    """The forward runs after work queued before it on a non-default stream: v is doubled
    there behind a sleep, so a kernel that ignored the stream would read the old v."""
    case = AttentionCase(2, 2, 40, 40, 64, "fp32", "lengths")
    side = torch.cuda.Stream()
    torch.cuda.synchronize()
    with torch.cuda.stream(side):
        torch.cuda._sleep(10_000_000)
        case.v.mul_(2.0)
        case.forward(k)
        ref_out, _, _ = case.reference()
    torch.cuda.current_stream().wait_stream(side)
    c.error("attention fwd", "side stream", "ordered after earlier work",
            rel_err([case.out], [ref_out]), TOL_ATTN["fp32"])


def check_attention_invalid(k, c):
    case = AttentionCase(2, 2, 8, 8, 64, "fp32")
    lengths = torch.ones(2, dtype=torch.int32, device=DEVICE)
    mask = torch.ones(2, 8, dtype=torch.uint8, device=DEVICE)

    def shape_with(**fields):
        s = AttentionShape.from_buffer_copy(case.shape)
        for key, value in fields.items():
            setattr(s, key, value)
        return s

    def fwd(shape, q=case.q, lens=None, msk=None, out=case.out):
        return k.raw("attention_forward", shape if shape is None else ctypes.byref(shape),
                     data(q), data(case.k), data(case.v), data(lens), data(msk), data(out),
                     data(case.lse), None)

    invalid = [
        ("null shape", lambda: fwd(None)),
        ("null q", lambda: fwd(case.shape, q=None)),
        ("null out", lambda: fwd(case.shape, out=None)),
        ("lengths and mask", lambda: fwd(case.shape, lens=lengths, msk=mask)),
        ("unknown dtype", lambda: fwd(shape_with(dtype=7))),
        ("dropout_p = 1", lambda: fwd(shape_with(dropout_p=1.0))),
        ("dropout_p < 0", lambda: fwd(shape_with(dropout_p=-0.1))),
        ("row stride < H*d", lambda: fwd(shape_with(q_row_stride=64))),
        ("zero heads", lambda: fwd(shape_with(heads=0))),
        ("head_dim 256", lambda: fwd(shape_with(head_dim=256, q_row_stride=512, k_row_stride=512,
                                                v_row_stride=512))),
        ("backward null lse", lambda: k.raw(
            "attention_backward", ctypes.byref(case.shape), data(case.q), data(case.k),
            data(case.v), None, None, data(case.out), None, data(case.grad_out),
            *[data(g) for g in case.grads], None)),
    ]
    for what, call in invalid:
        status = call()
        c.truth("attention", "invalid argument", what,
                status == INVALID_ARGUMENT and k.last_error() != "",
                f"status {status}: {k.last_error()}")
    c.truth("attention", "invalid argument", "out untouched", bool(torch.isnan(case.out).all()))

    # Empty calls: no items (every pointer may be NULL), and items without queries, whose
    # backward zero-fills grad_k and grad_v.
    status = k.raw("attention_forward", ctypes.byref(shape_with(batch=0)), *[None] * 7, None)
    c.truth("attention", "empty", "batch 0, NULL pointers: OK", status == OK, k.last_error())
    status = k.raw("attention_backward", ctypes.byref(shape_with(batch=0)), *[None] * 11, None)
    c.truth("attention", "empty", "batch 0 backward: OK", status == OK, k.last_error())
    no_queries = shape_with(query_length=0)
    status = k.raw("attention_forward", ctypes.byref(no_queries), None, data(case.k), data(case.v),
                   None, None, None, None, None)
    c.truth("attention", "empty", "query_length 0: OK", status == OK, k.last_error())
    status = k.raw("attention_backward", ctypes.byref(no_queries), None, data(case.k),
                   data(case.v), None, None, None, None, None, None, data(case.grads[1]),
                   data(case.grads[2]), None)
    c.truth("attention", "empty", "query_length 0 backward: dK = dV = 0",
            status == OK and not bool(case.grads[1].any()) and not bool(case.grads[2].any()),
            k.last_error())


def attention_timing(k, report, measure):
    """Ours against SDPA (which picks its fastest backend for the dtype and mask) on the two
    model shapes. TFLOP/s count the dense work: 4*B*H*Lq*Lk*d forward, 2.5 times that for the
    backward; both implementations skip padded keys, so the figure is what the dense problem
    would need."""
    report("\n== timing: attention against torch.nn.functional.scaled_dot_product_attention "
           "(boolean key mask)")
    report(f"  {'shape':<28} {'dtype':<5} {'pass':<8} {'ours ms':>8} {'TFLOP/s':>8}   "
           f"{'SDPA ms':>8} {'TFLOP/s':>8} {'speed-up':>8}")
    shapes = [("self B16 L272 H12 d64", 16, 12, 272, 272, 64, "lengths", True),
              ("cross B16 14x258 H12 d64", 16, 12, 14, 258, 64, "mask", False)]
    for label, b, h, lq, lk, d, padding, fused in shapes:
        for dt in ("fp32", "bf16"):
            case = AttentionCase(b, h, lq, lk, d, dt, padding, fused)
            flops = 4.0 * b * h * lq * lk * d
            fwd = case.forward(k, bind=True)
            bwd = case.backward(k, bind=True)
            q = case.q.reshape(b, lq, h, d).transpose(1, 2).detach().requires_grad_()
            kk = case.k.reshape(b, lk, h, d).transpose(1, 2).detach().requires_grad_()
            v = case.v.reshape(b, lk, h, d).transpose(1, 2).detach().requires_grad_()
            allowed = case.real[:, None, None, :]
            g = case.grad_out.reshape(b, lq, h, d).transpose(1, 2)

            def sdpa_fwd():
                with torch.no_grad():
                    F.scaled_dot_product_attention(q, kk, v, attn_mask=allowed, scale=case.scale)

            def sdpa_fwd_bwd():
                out = F.scaled_dot_product_attention(q, kk, v, attn_mask=allowed, scale=case.scale)
                torch.autograd.grad(out, (q, kk, v), g)

            for what, ours, theirs, work in [("fwd", fwd, sdpa_fwd, flops),
                                              ("fwd+bwd", lambda: (fwd(), bwd()), sdpa_fwd_bwd,
                                               3.5 * flops)]:
                t, _ = measure(ours)
                try:
                    tb, _ = measure(theirs)
                    base = f"{tb:8.3f} {work / tb / 1e9:8.1f} {tb / t:7.2f}x"
                except Exception as exc:  # a backend this PyTorch lacks is reported, not fatal
                    base = f"n/a ({type(exc).__name__}: {str(exc)[:60]})"
                report(f"  {label:<28} {dt:<5} {what:<8} {t:8.3f} {work / t / 1e9:8.1f}   {base}")
            del case, q, kk, v


# ---- timing --------------------------------------------------------------------------------


def sleep_cycles_per_ms():
    """Calibrates torch.cuda._sleep, which spins for a number of GPU clock cycles."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda._sleep(1000)
    start.record()
    torch.cuda._sleep(20_000_000)
    end.record()
    torch.cuda.synchronize()
    return 20_000_000 / start.elapsed_time(end)


class Timer:
    """Device time (median of CUDA-event pairs) and wall time per call of a function.

    Before each timed call the GPU is held by a sleep kernel a little longer than the host
    needs to queue the call, so the events bracket device work only, not Python or launch
    overhead; the wall time (back-to-back calls, one synchronisation) shows that overhead."""

    def __init__(self, iters, warmup=3):
        self.iters, self.warmup = iters, warmup
        self.cycles_per_ms = sleep_cycles_per_ms()

    def __call__(self, fn):
        for _ in range(self.warmup):
            fn()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        queue_ms = (time.perf_counter() - t0) * 1e3
        torch.cuda.synchronize()
        hold = int(self.cycles_per_ms * (2.0 * queue_ms + 0.2))
        events = []
        for _ in range(self.iters):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda._sleep(hold)
            start.record()
            fn()
            end.record()
            events.append((start, end))
        torch.cuda.synchronize()
        device_ms = statistics.median(s.elapsed_time(e) for s, e in events)
        t0 = time.perf_counter()
        for _ in range(self.iters):
            fn()
        torch.cuda.synchronize()
        wall_ms = (time.perf_counter() - t0) * 1e3 / self.iters
        return device_ms, wall_ms


def timing(k, report, shapes, label, measure):
    n = sum(numel_of(s) for s in shapes)
    report(f"\n== timing: {label}: {len(shapes)} tensors, {n / 1e6:.1f}M values")
    a = random_list(shapes)
    b = random_list(shapes)
    c_ = random_list(shapes)
    bf = random_list(shapes, torch.bfloat16)
    tmp = empty_list(shapes, torch.float32)
    decay = 0.999
    w = 1.0 - decay
    eps = 1.0

    def fgm_torch():
        norms = torch._foreach_norm(c_)
        torch._foreach_copy_(b, a)
        scales = torch.stack(norms).reciprocal_().mul_(eps).unbind()
        torch._foreach_add_(a, torch._foreach_mul(c_, scales))

    def fgm_loop():
        for p, bk, g in zip(a, b, c_):
            bk.copy_(p)
            p.add_(g * (eps / g.norm()))

    def pgd_torch():
        norms = torch._foreach_norm(c_)
        torch._foreach_add_(a, torch._foreach_mul(c_, torch.stack(norms).reciprocal_().mul_(eps).unbind()))
        r = torch._foreach_sub(a, b)
        factors = torch.stack(torch._foreach_norm(r)).reciprocal_().mul_(0.5 * eps).clamp_(max=1.0).unbind()
        torch._foreach_copy_(a, torch._foreach_add(b, torch._foreach_mul(r, factors)))

    def pgd_loop():
        for p, bk, g in zip(a, b, c_):
            p.add_(g * (eps / g.norm()))
            r = p - bk
            p.copy_(bk + r * torch.clamp(0.5 * eps / r.norm(), max=1.0))

    def l2_torch():
        norms = torch._foreach_norm(a)
        torch.linalg.vector_norm(torch.stack(norms))

    per_tensor = torch.empty(len(shapes), dtype=torch.float64, device=DEVICE)
    total = torch.empty(1, dtype=torch.float64, device=DEVICE)
    applied = torch.empty(len(shapes), dtype=torch.int32, device=DEVICE)
    rows = [
        # (kernel, bytes per element, ours, [(baseline, fn)])
        ("ema_update fp32", 12, k.ema_update(a, b, decay, bind=True),
         [("_foreach_lerp_", lambda: torch._foreach_lerp_(a, b, w)),
          ("_foreach_mul_+add_", lambda: (torch._foreach_mul_(a, decay), torch._foreach_add_(a, b, alpha=w))),
          ("per-tensor loop", lambda: [s.mul_(decay).add_(p, alpha=w) for s, p in zip(a, b)])]),
        ("ema_update bf16", 10, k.ema_update(a, bf, decay, bind=True),
         [("per-tensor loop", lambda: [s.mul_(decay).add_(p, alpha=w) for s, p in zip(a, bf)])]),
        ("swa_accumulate", 12, k.swa_accumulate(a, b, 9, bind=True),
         [("_foreach_lerp_", lambda: torch._foreach_lerp_(a, b, 0.1)),
          ("per-tensor loop", lambda: [s.lerp_(p, 0.1) for s, p in zip(a, b)])]),
        ("swap", 16, k.swap(a, b, bind=True),
         [("3x _foreach_copy_", lambda: (torch._foreach_copy_(tmp, a), torch._foreach_copy_(a, b),
                                         torch._foreach_copy_(b, tmp))),
          ("per-tensor loop", lambda: [(t.copy_(x), x.copy_(y), y.copy_(t)) for t, x, y in zip(tmp, a, b)])]),
        ("copy_many", 8, k.copy_many(b, a, bind=True),
         [("_foreach_copy_", lambda: torch._foreach_copy_(b, a)),
          ("per-tensor loop", lambda: [d.copy_(s) for d, s in zip(b, a)])]),
        ("restore", 8, k.restore(a, b, bind=True),
         [("_foreach_copy_", lambda: torch._foreach_copy_(a, b))]),
        ("l2_norm fp32", 4, k.l2_norm(a, per_tensor, total, bind=True),
         [("_foreach_norm", l2_torch),
          ("per-tensor loop", lambda: [t.norm() for t in a])]),
        ("l2_norm bf16", 2, k.l2_norm(bf, per_tensor, total, bind=True),
         [("_foreach_norm", lambda: torch._foreach_norm(bf))]),
        ("fgm_perturb", 20, k.fgm_perturb(a, b, c_, eps, applied, bind=True),
         [("_foreach_*", fgm_torch), ("per-tensor loop", fgm_loop)]),
        ("pgd_step (projecting)", 32, k.pgd_step(a, b, c_, eps, 0.5 * eps, applied, bind=True),
         [("_foreach_*", pgd_torch), ("per-tensor loop", pgd_loop)]),
    ]
    report("  device ms: CUDA events around one call, host overhead excluded; wall ms: per call, "
           "back to back;\n  GB/s: bytes the operation must read and write / device time; "
           "speed-up: baseline device time / ours")
    report(f"  {'kernel':<22} {'device ms':>9} {'GB/s':>6} {'wall ms':>8}   {'baseline':<20} "
           f"{'device ms':>9} {'GB/s':>6} {'wall ms':>8} {'speed-up':>8}")
    for kernel, bytes_per, ours, baselines in rows:
        moved = bytes_per * n
        t, tw = measure(ours)
        first = True
        for base_name, fn in baselines:
            head = (f"  {kernel:<22} {t:9.3f} {moved / t / 1e6:6.0f} {tw:8.3f}" if first
                    else " " * 50)
            first = False
            try:
                tb, tbw = measure(fn)
            except Exception as exc:  # a baseline this PyTorch lacks is reported, not fatal
                report(f"{head}   {base_name:<20} n/a ({type(exc).__name__}: {str(exc)[:60]})")
                continue
            report(f"{head}   {base_name:<20} {tb:9.3f} {moved / tb / 1e6:6.0f} {tbw:8.3f} {tb / t:7.2f}x")
    del a, b, c_, bf, tmp


def copy_ceiling(report, measure):
    n = 100_000_000
    src = torch.randn(n, device=DEVICE)
    dst = torch.empty_like(src)
    t, _ = measure(lambda: dst.copy_(src))
    report(f"\n== bandwidth reference: one {n * 4 / 1e9:.1f} GB device-to-device copy (tensor.copy_): "
           f"{t:.3f} ms, {8 * n / t / 1e6:.0f} GB/s read+written")


# ---- main ----------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lib", required=True, help="path of libvidtag_kernels.so")
    parser.add_argument("--results", default=os.environ.get("VIDTAG_GPU_CHECK_RESULTS"),
                        help="also write the report to this file")
    parser.add_argument("--quick", action="store_true", help="skip the BERT-sized and >2^31 cases")
    parser.add_argument("--iters", type=int, default=20, help="timed repetitions per measurement")
    parser.add_argument("--skip-timing", action="store_true", help="correctness checks only")
    args = parser.parse_args()
    report = Report(args.results)
    started = time.time()

    if not torch.cuda.is_available():
        report("cannot run: PyTorch sees no CUDA device")
        return 2
    try:
        k = Kernels(args.lib)
    except (OSError, AttributeError) as exc:
        report(f"cannot run: loading {args.lib}: {exc}")
        return 2
    props = torch.cuda.get_device_properties(0)
    report(f"device: {props.name}, {props.multi_processor_count} SMs, {props.total_memory / 2**30:.0f} GiB; "
           f"torch {torch.__version__} (CUDA {torch.version.cuda})")
    report(f"library: {args.lib}, version {k.lib.vidtag_version().decode()}, "
           f"cuda_compiled={k.lib.vidtag_cuda_compiled()}, cuda_device_count={k.lib.vidtag_cuda_device_count()}")
    if k.lib.vidtag_cuda_compiled() != 1 or k.lib.vidtag_cuda_device_count() < 1:
        report("cannot run: the library was built without CUDA or sees no device")
        return 2
    torch.manual_seed(1234)

    c = Checks(report)
    report(f"\n== correctness (tolerances: elementwise {TOL_ELEMENTWISE:.0e} of max|ref|, "
           f"norms {TOL_NORM:.0e} relative, against float64 PyTorch)")
    try:
        for name, shapes, misaligned in cases(args.quick):
            check_ema(k, c, name, shapes, misaligned)
            check_swa(k, c, name, shapes, misaligned)
            check_swap(k, c, name, shapes, misaligned)
            check_copy_restore(k, c, name, shapes, misaligned)
            check_l2_norm(k, c, name, shapes, misaligned)
            check_fgm(k, c, name, shapes, misaligned)
            for mode in ("inactive", "active", "second step"):
                check_pgd(k, c, name, shapes, misaligned, mode)
        special = [(1000,), (1000,), (1000,), (0,), (1000003,), (7,)]
        check_fgm(k, c, "zero/NaN/inf grads", special, False, special=True)
        check_pgd(k, c, "zero/NaN/inf grads", special, False, "special")
        check_mixed_copy(k, c)
        check_stream(k, c)
        check_edges(k, c)
        check_async(k, c, args.quick)
        if not args.quick:
            check_huge(k, c, report)
        torch.cuda.synchronize()
    except Exception:  # a crash is a failed check; report it and go on to the summary
        report(traceback.format_exc())
        c.failed.append("exception during the correctness checks")
    report(f"\n== attention correctness (against float64 PyTorch; out {TOL_ATTN['fp32']:.0e} fp32, "
           f"{TOL_ATTN['bf16']:.0e} bf16 of max|ref|; gradients {TOL_ATTN_GRAD['fp32']:.0e} fp32)")
    try:
        check_attention(k, c, args.quick)
        torch.cuda.synchronize()
    except Exception:  # a crash is a failed check; report it and go on to the summary
        report(traceback.format_exc())
        c.failed.append("exception during the correctness checks")

    if not args.skip_timing:
        try:
            measure = Timer(args.iters)
            report(f"\n== timing: median of {args.iters} after 3 warm-ups")
            copy_ceiling(report, measure)
            if not args.quick:
                timing(k, report, bert_base_shapes(), "BERT-base parameter list", measure)
            rng = random.Random(7)
            timing(k, report, [(rng.randint(1, 5000),) for _ in range(300)], "300 small tensors", measure)
            attention_timing(k, report, measure)
        except Exception:
            report(traceback.format_exc())
            c.failed.append("exception during timing")

    report(f"\n== {c.passed} passed, {len(c.failed)} failed "
           f"({time.time() - started:.0f} s)")
    for line in c.failed:
        report(f"  FAILED: {line}")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

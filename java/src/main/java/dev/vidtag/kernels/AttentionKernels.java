package dev.vidtag.kernels;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * VidTag's own multi-head attention kernels ({@code native/include/vidtag/kernels.h},
 * "attention"): self- and cross-attention over heads-merged tensors, key padding, the
 * log-sum-exp that backward needs, and counter-based dropout on the probabilities. Every argument
 * is checked here before the native call: a bad one raises {@link IllegalArgumentException}
 * naming it. CPU tensors run the OpenMP kernels, CUDA tensors the CUDA ones on LibTorch's
 * current stream of their device.
 *
 * <p>The kernels are outside autograd: the models reach them through {@code
 * dev.vidtag.model.AttentionFunction}, which links their backward into LibTorch's graph.
 */
public final class AttentionKernels {
  private AttentionKernels() {}

  /** The CPU kernels' instruction set; {@link #AUTO} is the widest this CPU has. */
  public enum Isa {
    AUTO(NativeKernels.ISA_AUTO),
    BASELINE(NativeKernels.ISA_BASELINE),
    AVX2(NativeKernels.ISA_AVX2),
    AVX512(NativeKernels.ISA_AVX512);

    final int code;

    Isa(int code) {
      this.code = code;
    }

    /** The path {@link #AUTO} takes on this CPU. */
    public static Isa widestSupported() {
      return AVX512.supported() ? AVX512 : AVX2.supported() ? AVX2 : BASELINE;
    }

    /** Whether this CPU can run the path ({@link #AUTO} and {@link #BASELINE} always can). */
    public boolean supported() {
      return switch (this) {
        case AUTO, BASELINE -> true;
        case AVX2 -> CpuFeatures.detect().avx2Fma();
        case AVX512 -> CpuFeatures.detect().avx512();
      };
    }
  }

  /**
   * One call's inputs: q [B, Lq, heads * d], k and v [B, Lk, heads * d] (fp32 or bf16, rows of
   * unit element stride, any row and batch strides: views into a fused projection are read in
   * place), and the key padding as keyMask [B, Lk] (bool or uint8, nonzero for a real key) or
   * null when every key is real. scale multiplies the scores (usually d^-1/2); dropoutP in [0, 1)
   * drops probabilities with the counter-based numbers of {@code dropoutSeed}.
   */
  public record Call(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads, double scale,
      double dropoutP, long dropoutSeed) {

    /** Inference: no dropout. */
    public static Call of(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads) {
      return new Call(q, k, v, keyMask, heads, 1.0 / Math.sqrt(q.size(2) / (double) heads), 0.0,
          0L);
    }
  }

  /** The output [B, Lq, heads * d] and, when asked for, the log-sum-exp [B, heads, Lq] (fp32). */
  public record Forward(Tensor output, Tensor logSumExp) {}

  /** Gradients of q, k and v, contiguous and heads merged as the inputs. */
  public record Gradients(Tensor q, Tensor k, Tensor v) {}

  /** out = softmax(scale q k^T over the real keys, with dropout) v, heads merged. */
  public static Forward forward(Call call, boolean withLogSumExp, Isa isa) {
    Geometry g = Geometry.of(call, isa);
    Tensor out = empty(call.q().options(), g.batch, g.queryLength, g.width);
    Tensor lse = withLogSumExp ? empty(call.q().options().dtype(
        new ScalarTypeOptional(ScalarType.Float)), g.batch, call.heads(), g.queryLength) : null;
    try (NativeKernels.AttentionShape shape = g.shape(call)) {
      FloatPointer lsePointer = lse == null ? null : new FloatPointer(lse.data_ptr());
      int status = g.cuda
          ? NativeKernels.vidtag_attention_forward_cuda(shape, call.q().data_ptr(),
              call.k().data_ptr(), call.v().data_ptr(), null, maskPointer(call),
              out.data_ptr(), lsePointer, CudaStreams.current(g.deviceIndex))
          : NativeKernels.vidtag_attention_forward_cpu(shape, call.q().data_ptr(),
              call.k().data_ptr(), call.v().data_ptr(), null, maskPointer(call),
              out.data_ptr(), lsePointer, isa.code);
      check(status, "attention_forward");
    }
    return new Forward(out, lse);
  }

  /**
   * The gradients of sum(gradOut * out) for the call that produced {@code forward} (same inputs,
   * seed and padding; its log-sum-exp is required).
   */
  public static Gradients backward(Call call, Forward forward, Tensor gradOut, Isa isa) {
    Geometry g = Geometry.of(call, isa);
    if (forward.logSumExp() == null) {
      throw new IllegalArgumentException("backward needs the forward's log-sum-exp: run forward "
          + "with withLogSumExp = true");
    }
    requireShape("output", forward.output(), g.batch, g.queryLength, g.width);
    requireShape("logSumExp", forward.logSumExp(), g.batch, call.heads(), g.queryLength);
    requireShape("gradOut", gradOut, g.batch, g.queryLength, g.width);
    Tensor out = forward.output().contiguous();
    Tensor lse = forward.logSumExp().contiguous();
    Tensor dOut = gradOut.to(call.q().scalar_type()).contiguous();
    Tensor dq = empty(call.q().options(), g.batch, g.queryLength, g.width);
    Tensor dk = empty(call.q().options(), g.batch, g.keyLength, g.width);
    Tensor dv = empty(call.q().options(), g.batch, g.keyLength, g.width);
    try (NativeKernels.AttentionShape shape = g.shape(call)) {
      FloatPointer lsePointer = new FloatPointer(lse.data_ptr());
      int status = g.cuda
          ? NativeKernels.vidtag_attention_backward_cuda(shape, call.q().data_ptr(),
              call.k().data_ptr(), call.v().data_ptr(), null, maskPointer(call),
              out.data_ptr(), lsePointer, dOut.data_ptr(), dq.data_ptr(), dk.data_ptr(),
              dv.data_ptr(), CudaStreams.current(g.deviceIndex))
          : NativeKernels.vidtag_attention_backward_cpu(shape, call.q().data_ptr(),
              call.k().data_ptr(), call.v().data_ptr(), null, maskPointer(call),
              out.data_ptr(), lsePointer, dOut.data_ptr(), dq.data_ptr(), dk.data_ptr(),
              dv.data_ptr(), isa.code);
      check(status, "attention_backward");
    }
    return new Gradients(dq, dk, dv);
  }

  /** The counter-based dropout number of the kernels: kept when at least p. */
  public static float dropoutUniform(long seed, long index) {
    return NativeKernels.vidtag_dropout_uniform(seed, index);
  }

  /** The widest head the CUDA kernels take. */
  public static final long MAX_CUDA_HEAD_DIM = 128;

  /**
   * Whether the kernels can run attention over q [B, L, heads * d] on its device in this
   * library: the CPU always can; CUDA needs the CUDA kernels compiled in and d at most
   * {@value #MAX_CUDA_HEAD_DIM}.
   */
  public static boolean supports(Tensor q, int heads) {
    return !q.is_cuda() || (NativeKernels.vidtag_cuda_device_count() > 0
        && q.size(2) / heads <= MAX_CUDA_HEAD_DIM);
  }

  private static Tensor empty(TensorOptions options, long... shape) {
    return torch.empty(shape, options, new MemoryFormatOptional());
  }

  private static Pointer maskPointer(Call call) {
    return call.keyMask() == null ? null : call.keyMask().data_ptr();
  }

  /** Validated sizes and strides of a call. */
  private record Geometry(long batch, long queryLength, long keyLength, long width, long headDim,
      int dtype, boolean cuda, int deviceIndex) {

    static Geometry of(Call call, Isa isa) {
      Tensor q = call.q();
      Tensor k = call.k();
      Tensor v = call.v();
      requireFloatingRows("q", q);
      requireFloatingRows("k", k);
      requireFloatingRows("v", v);
      ScalarType type = q.scalar_type().intern();
      if (type != ScalarType.Float && type != ScalarType.BFloat16) {
        throw new IllegalArgumentException("q, k and v must be float32 or bfloat16, got " + type);
      }
      if (k.scalar_type().intern() != type || v.scalar_type().intern() != type) {
        throw new IllegalArgumentException("q, k and v must share one dtype: got " + type + ", "
            + k.scalar_type().intern() + ", " + v.scalar_type().intern());
      }
      long batch = q.size(0);
      long width = q.size(2);
      if (k.size(0) != batch || v.size(0) != batch) {
        throw new IllegalArgumentException("q, k and v must share the batch size: got " + batch
            + ", " + k.size(0) + ", " + v.size(0));
      }
      if (k.size(2) != width || v.size(2) != width) {
        throw new IllegalArgumentException("q, k and v must share the width: got " + width + ", "
            + k.size(2) + ", " + v.size(2));
      }
      if (k.size(1) != v.size(1)) {
        throw new IllegalArgumentException("k and v must have the same length: got " + k.size(1)
            + " and " + v.size(1));
      }
      if (batch == 0 || q.size(1) == 0 || k.size(1) == 0) {
        throw new IllegalArgumentException("empty batch, query or key dimension: q "
            + shapeOf(q) + ", k " + shapeOf(k));
      }
      if (call.heads() <= 0 || width % call.heads() != 0) {
        throw new IllegalArgumentException("heads must divide the width " + width + ", got "
            + call.heads());
      }
      if (!(call.dropoutP() >= 0 && call.dropoutP() < 1)) {
        throw new IllegalArgumentException("dropoutP must be in [0, 1), got " + call.dropoutP());
      }
      if (!Double.isFinite(call.scale())) {
        throw new IllegalArgumentException("scale must be finite, got " + call.scale());
      }
      String device = q.device().str().getString();
      for (Tensor t : new Tensor[] {k, v}) {
        if (!t.device().str().getString().equals(device)) {
          throw new IllegalArgumentException("q, k and v must be on one device: " + device
              + " and " + t.device().str().getString());
        }
      }
      Tensor mask = call.keyMask();
      if (mask != null) {
        ScalarType maskType = mask.scalar_type().intern();
        if (maskType != ScalarType.Bool && maskType != ScalarType.Byte) {
          throw new IllegalArgumentException("keyMask must be bool or uint8, got " + maskType);
        }
        requireShape("keyMask", mask, batch, k.size(1));
        if (!mask.is_contiguous()) {
          throw new IllegalArgumentException("keyMask must be contiguous");
        }
        if (!mask.device().str().getString().equals(device)) {
          throw new IllegalArgumentException("keyMask must be on " + device + ", got "
              + mask.device().str().getString());
        }
      }
      boolean cuda = q.is_cuda();
      if (cuda && width / call.heads() > MAX_CUDA_HEAD_DIM) {
        throw new IllegalArgumentException("the CUDA kernels take heads of at most "
            + MAX_CUDA_HEAD_DIM + " values, got " + width / call.heads());
      }
      if (!cuda && !isa.supported()) {
        throw new IllegalArgumentException("this CPU cannot run the " + isa + " attention path ("
            + CpuFeatures.detect() + ")");
      }
      return new Geometry(batch, q.size(1), k.size(1), width, width / call.heads(),
          type == ScalarType.Float ? NativeKernels.FLOAT32 : NativeKernels.BFLOAT16, cuda,
          cuda ? q.device().index() : -1);
    }

    NativeKernels.AttentionShape shape(Call call) {
      return new NativeKernels.AttentionShape()
          .batch(batch).heads(call.heads()).query_length(queryLength).key_length(keyLength)
          .head_dim(headDim)
          .q_batch_stride(call.q().stride(0)).q_row_stride(call.q().stride(1))
          .k_batch_stride(call.k().stride(0)).k_row_stride(call.k().stride(1))
          .v_batch_stride(call.v().stride(0)).v_row_stride(call.v().stride(1))
          .dtype(dtype).scale((float) call.scale()).dropout_p((float) call.dropoutP())
          .dropout_seed(call.dropoutSeed());
    }
  }

  private static void requireFloatingRows(String name, Tensor t) {
    if (t == null || !t.defined()) {
      throw new IllegalArgumentException(name + " is missing");
    }
    if (t.dim() != 3) {
      throw new IllegalArgumentException(name + " must be [B, L, heads * d], got "
          + shapeOf(t));
    }
    if (t.stride(2) != 1 || t.stride(1) < t.size(2) || t.stride(0) < 0) {
      throw new IllegalArgumentException(name + " must have unit stride along its last "
          + "dimension and rows that do not overlap, got strides [" + t.stride(0) + ", "
          + t.stride(1) + ", " + t.stride(2) + "]");
    }
  }

  private static void requireShape(String name, Tensor t, long... sizes) {
    boolean same = t != null && t.defined() && t.dim() == sizes.length;
    for (int i = 0; same && i < sizes.length; i++) {
      same = t.size(i) == sizes[i];
    }
    if (!same) {
      StringBuilder expected = new StringBuilder("[");
      for (int i = 0; i < sizes.length; i++) {
        expected.append(i == 0 ? "" : ", ").append(sizes[i]);
      }
      throw new IllegalArgumentException(name + " must be " + expected + "], got "
          + (t == null || !t.defined() ? "none" : shapeOf(t)));
    }
  }

  private static String shapeOf(Tensor t) {
    StringBuilder shape = new StringBuilder("[");
    for (int i = 0; i < t.dim(); i++) {
      shape.append(i == 0 ? "" : ", ").append(t.size(i));
    }
    return shape.append("]").toString();
  }

  private static void check(int status, String kernel) {
    if (status == NativeKernels.OK) {
      return;
    }
    String detail = NativeKernels.vidtag_last_error().getString();
    switch (status) {
      case NativeKernels.ERR_CUDA_UNAVAILABLE ->
          throw new IllegalStateException(kernel + ": CUDA is unavailable: " + detail);
      case NativeKernels.ERR_INVALID_ARGUMENT ->
          throw new IllegalArgumentException(kernel + ": " + detail);
      case NativeKernels.ERR_OUT_OF_MEMORY -> throw new OutOfMemoryError(kernel + ": " + detail);
      default -> throw new KernelException(kernel + " failed: " + detail);
    }
  }
}

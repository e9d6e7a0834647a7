package dev.vidtag.kernels;

import dev.vidtag.runtime.TorchRuntime;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.MemberSetter;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of {@code native/include/vidtag/kernels.h}. Pointer arrays travel as
 * {@link LongPointer}s of addresses. Nothing here checks its arguments: call {@link FusedKernels},
 * which does, never these directly.
 */
@Platform(include = "vidtag/kernels.h", link = "vidtag_kernels")
final class NativeKernels {
  static {
    // LibTorch first, so that the kernels bind to the OpenMP runtime LibTorch ships.
    TorchRuntime.initialize();
    Loader.load();
  }

  private NativeKernels() {}

  static final int FLOAT32 = 0;
  static final int BFLOAT16 = 1;

  static final int OK = 0;
  static final int ERR_INVALID_ARGUMENT = 1;
  static final int ERR_CUDA_UNAVAILABLE = 2;
  static final int ERR_CUDA = 3;
  static final int ERR_OUT_OF_MEMORY = 4;

  static native @Cast("const char*") BytePointer vidtag_status_string(int status);

  static native @Cast("const char*") BytePointer vidtag_last_error();

  static native int vidtag_cuda_compiled();

  static native int vidtag_cuda_device_count();

  static native @Cast("const char*") BytePointer vidtag_version();

  static native @Cast("uint32_t") int vidtag_cpu_features();

  static native int vidtag_ema_update_cpu(@Cast("float*const*") LongPointer shadow,
      @Cast("const void*const*") LongPointer param, int paramDtype,
      @Cast("const int64_t*") LongPointer numel, long count, float decay);

  static native int vidtag_ema_update_cuda(@Cast("float*const*") LongPointer shadow,
      @Cast("const void*const*") LongPointer param, int paramDtype,
      @Cast("const int64_t*") LongPointer numel, long count, float decay, Pointer stream);

  static native int vidtag_swap_cpu(@Cast("void*const*") LongPointer a,
      @Cast("void*const*") LongPointer b, int dtype, @Cast("const int64_t*") LongPointer numel,
      long count);

  static native int vidtag_swap_cuda(@Cast("void*const*") LongPointer a,
      @Cast("void*const*") LongPointer b, int dtype, @Cast("const int64_t*") LongPointer numel,
      long count, Pointer stream);

  static native int vidtag_swa_accumulate_cpu(@Cast("float*const*") LongPointer average,
      @Cast("const void*const*") LongPointer x, int xDtype,
      @Cast("const int64_t*") LongPointer numel, long count, long nAveraged);

  static native int vidtag_swa_accumulate_cuda(@Cast("float*const*") LongPointer average,
      @Cast("const void*const*") LongPointer x, int xDtype,
      @Cast("const int64_t*") LongPointer numel, long count, long nAveraged, Pointer stream);

  static native int vidtag_l2_norm_cpu(@Cast("const void*const*") LongPointer x, int dtype,
      @Cast("const int64_t*") LongPointer numel, long count, DoublePointer perTensor,
      DoublePointer total);

  static native int vidtag_l2_norm_cuda(@Cast("const void*const*") LongPointer x, int dtype,
      @Cast("const int64_t*") LongPointer numel, long count,
      DoublePointer perTensor, DoublePointer total, Pointer stream);

  static native int vidtag_copy_many_cpu(@Cast("void*const*") LongPointer dst,
      @Cast("const void*const*") LongPointer src, @Cast("const int64_t*") LongPointer nbytes,
      long count);

  static native int vidtag_copy_many_cuda(@Cast("void*const*") LongPointer dst,
      @Cast("const void*const*") LongPointer src, @Cast("const int64_t*") LongPointer nbytes,
      long count, Pointer stream);

  static native int vidtag_fgm_perturb_cpu(@Cast("float*const*") LongPointer param,
      @Cast("float*const*") LongPointer backup, @Cast("const float*const*") LongPointer grad,
      @Cast("const int64_t*") LongPointer numel, long count, float epsilon,
      @Cast("int32_t*") IntPointer applied);

  static native int vidtag_fgm_perturb_cuda(@Cast("float*const*") LongPointer param,
      @Cast("float*const*") LongPointer backup, @Cast("const float*const*") LongPointer grad,
      @Cast("const int64_t*") LongPointer numel, long count, float epsilon,
      @Cast("int32_t*") IntPointer applied, Pointer stream);

  static native int vidtag_restore_cpu(@Cast("float*const*") LongPointer param,
      @Cast("const float*const*") LongPointer backup, @Cast("const int64_t*") LongPointer numel,
      long count);

  static native int vidtag_restore_cuda(@Cast("float*const*") LongPointer param,
      @Cast("const float*const*") LongPointer backup, @Cast("const int64_t*") LongPointer numel,
      long count, Pointer stream);

  static native int vidtag_pgd_step_cpu(@Cast("float*const*") LongPointer param,
      @Cast("const float*const*") LongPointer backup, @Cast("const float*const*") LongPointer grad,
      @Cast("const int64_t*") LongPointer numel, long count, float alpha, float epsilon,
      @Cast("int32_t*") IntPointer applied);

  static native int vidtag_pgd_step_cuda(@Cast("float*const*") LongPointer param,
      @Cast("const float*const*") LongPointer backup, @Cast("const float*const*") LongPointer grad,
      @Cast("const int64_t*") LongPointer numel, long count, float alpha, float epsilon,
      @Cast("int32_t*") IntPointer applied, Pointer stream);

  static final int ISA_AUTO = 0;
  static final int ISA_BASELINE = 1;
  static final int ISA_AVX2 = 2;
  static final int ISA_AVX512 = 3;

  /** {@code vidtag_attention_shape}: the geometry of one attention call. */
  @Name("vidtag_attention_shape")
  static final class AttentionShape extends Pointer {
    static {
      Loader.load();
    }

    AttentionShape() {
      allocate();
    }

    private native void allocate();

    @MemberSetter native AttentionShape batch(long value);

    @MemberSetter native AttentionShape heads(long value);

    @MemberSetter native AttentionShape query_length(long value);

    @MemberSetter native AttentionShape key_length(long value);

    @MemberSetter native AttentionShape head_dim(long value);

    @MemberSetter native AttentionShape q_batch_stride(long value);

    @MemberSetter native AttentionShape q_row_stride(long value);

    @MemberSetter native AttentionShape k_batch_stride(long value);

    @MemberSetter native AttentionShape k_row_stride(long value);

    @MemberSetter native AttentionShape v_batch_stride(long value);

    @MemberSetter native AttentionShape v_row_stride(long value);

    @MemberSetter native AttentionShape dtype(int value);

    @MemberSetter native AttentionShape scale(float value);

    @MemberSetter native AttentionShape dropout_p(float value);

    @MemberSetter native AttentionShape dropout_seed(@Cast("uint64_t") long value);
  }

  static native float vidtag_dropout_uniform(@Cast("uint64_t") long seed,
      @Cast("uint64_t") long index);

  static native int vidtag_attention_forward_cpu(@Cast("const vidtag_attention_shape*")
      AttentionShape shape, @Cast("const void*") Pointer q, @Cast("const void*") Pointer k,
      @Cast("const void*") Pointer v, @Cast("const int32_t*") IntPointer keyLengths,
      @Cast("const uint8_t*") Pointer keyMask, Pointer out, FloatPointer lse, int isa);

  static native int vidtag_attention_backward_cpu(@Cast("const vidtag_attention_shape*")
      AttentionShape shape, @Cast("const void*") Pointer q, @Cast("const void*") Pointer k,
      @Cast("const void*") Pointer v, @Cast("const int32_t*") IntPointer keyLengths,
      @Cast("const uint8_t*") Pointer keyMask, @Cast("const void*") Pointer out,
      @Cast("const float*") FloatPointer lse, @Cast("const void*") Pointer gradOut,
      Pointer gradQ, Pointer gradK, Pointer gradV, int isa);

  static native int vidtag_attention_forward_cuda(@Cast("const vidtag_attention_shape*")
      AttentionShape shape, @Cast("const void*") Pointer q, @Cast("const void*") Pointer k,
      @Cast("const void*") Pointer v, @Cast("const int32_t*") IntPointer keyLengths,
      @Cast("const uint8_t*") Pointer keyMask, Pointer out, FloatPointer lse, Pointer stream);

  static native int vidtag_attention_backward_cuda(@Cast("const vidtag_attention_shape*")
      AttentionShape shape, @Cast("const void*") Pointer q, @Cast("const void*") Pointer k,
      @Cast("const void*") Pointer v, @Cast("const int32_t*") IntPointer keyLengths,
      @Cast("const uint8_t*") Pointer keyMask, @Cast("const void*") Pointer out,
      @Cast("const float*") FloatPointer lse, @Cast("const void*") Pointer gradOut,
      Pointer gradQ, Pointer gradK, Pointer gradV, Pointer stream);
}

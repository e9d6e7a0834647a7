package dev.vidtag.kernels;

import dev.vidtag.runtime.TorchRuntime;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
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
}

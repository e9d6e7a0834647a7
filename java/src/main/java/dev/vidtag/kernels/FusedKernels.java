package dev.vidtag.kernels;

import dev.vidtag.kernels.TensorList.ElementType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The fused multi-tensor kernels of {@code native/}: one native call updates a whole list of
 * tensors. Every argument is checked here, before the native call, and a bad one raises
 * {@link IllegalArgumentException} naming the offending tensor; CPU tensors run the OpenMP
 * kernels, CUDA tensors the CUDA ones on LibTorch's current stream of their device.
 *
 * <p>The kernels write tensor memory directly, outside autograd: call them outside a graph
 * (between steps, or on parameters whose graph is complete), as optimizers do.
 */
public final class FusedKernels {
  private FusedKernels() {}

  /** Tensors whose gradient norm was zero or not finite, so they were left unchanged. */
  public record Perturbation(List<String> skipped) {
    public boolean allApplied() {
      return skipped.isEmpty();
    }
  }

  /** L2 norms of each tensor of a list and of the whole list. */
  public record Norms(double[] perTensor, double total) {}

  /** What the loaded native library is. */
  public record LibraryInfo(String version, boolean cudaCompiled, int cudaDevices) {}

  public static LibraryInfo libraryInfo() {
    return new LibraryInfo(NativeKernels.vidtag_version().getString(),
        NativeKernels.vidtag_cuda_compiled() == 1, NativeKernels.vidtag_cuda_device_count());
  }

  /** {@code shadow = decay * shadow + (1 - decay) * params}; fp32 shadow, fp32 or bf16 params. */
  public static void emaUpdate(TensorList shadow, TensorList params, double decay) {
    requireFraction("decay", decay);
    requireElementType(shadow, ElementType.FLOAT32);
    requireMatching(shadow, params);
    requireDisjoint(shadow, params);
    int status = shadow.isCuda()
        ? NativeKernels.vidtag_ema_update_cuda(shadow.addresses(), params.addresses(),
            params.elementType().code, shadow.numels(), shadow.size(), (float) decay, CudaStreams.current(shadow))
        : NativeKernels.vidtag_ema_update_cpu(shadow.addresses(), params.addresses(),
            params.elementType().code, shadow.numels(), shadow.size(), (float) decay);
    check(status, "ema_update");
  }

  /** Exchanges the contents of a and b in place (e.g. live weights and their EMA shadow). */
  public static void swap(TensorList a, TensorList b) {
    requireMatching(a, b);
    requireSameElementType(a, b);
    requireDisjoint(a, b);
    int status = a.isCuda()
        ? NativeKernels.vidtag_swap_cuda(a.addresses(), b.addresses(), a.elementType().code,
            a.numels(), a.size(), CudaStreams.current(a))
        : NativeKernels.vidtag_swap_cpu(a.addresses(), b.addresses(), a.elementType().code,
            a.numels(), a.size());
    check(status, "swap");
  }

  /**
   * Folds one more model into an equal-weight running average:
   * {@code average += (x - average) / (averagedSoFar + 1)}.
   */
  public static void swaAccumulate(TensorList average, TensorList x, long averagedSoFar) {
    if (averagedSoFar < 0) {
      throw new IllegalArgumentException("averagedSoFar must be >= 0, got " + averagedSoFar);
    }
    requireElementType(average, ElementType.FLOAT32);
    requireMatching(average, x);
    requireDisjoint(average, x);
    int status = average.isCuda()
        ? NativeKernels.vidtag_swa_accumulate_cuda(average.addresses(), x.addresses(),
            x.elementType().code, average.numels(), average.size(), averagedSoFar,
            CudaStreams.current(average))
        : NativeKernels.vidtag_swa_accumulate_cpu(average.addresses(), x.addresses(),
            x.elementType().code, average.numels(), average.size(), averagedSoFar);
    check(status, "swa_accumulate");
  }

  /** L2 norm of every tensor and of the list (float64 accumulation on the CPU). */
  public static Norms l2Norm(TensorList x) {
    int n = x.size();
    if (x.isCuda()) {
      try (Tensor out = deviceBuffer(x, n + 1, ScalarType.Double)) {
        int status = NativeKernels.vidtag_l2_norm_cuda(x.addresses(), x.elementType().code,
            x.numels(), n, out.data_ptr_double(), out.data_ptr_double().position(n),
            CudaStreams.current(x));
        check(status, "l2_norm");
        double[] values = new double[n + 1];
        try (Tensor host = out.cpu()) {
          host.data_ptr_double().get(values);
        }
        return new Norms(Arrays.copyOf(values, n), values[n]);
      }
    }
    try (DoublePointer perTensor = new DoublePointer(Math.max(n, 1));
         DoublePointer total = new DoublePointer(1)) {
      check(NativeKernels.vidtag_l2_norm_cpu(x.addresses(), x.elementType().code, x.numels(), n,
          perTensor, total), "l2_norm");
      double[] values = new double[n];
      perTensor.get(values);
      return new Norms(values, total.get());
    }
  }

  /** {@code dst = src} for every tensor (e.g. backing up and restoring all gradients). */
  public static void copy(TensorList dst, TensorList src) {
    requireMatching(dst, src);
    requireSameElementType(dst, src);
    requireDisjoint(dst, src);
    int status = dst.isCuda()
        ? NativeKernels.vidtag_copy_many_cuda(dst.addresses(), src.addresses(), dst.byteCounts(),
            dst.size(), CudaStreams.current(dst))
        : NativeKernels.vidtag_copy_many_cpu(dst.addresses(), src.addresses(), dst.byteCounts(),
            dst.size());
    check(status, "copy_many");
  }

  /**
   * FGM: backs up {@code params} into {@code backup}, then adds {@code epsilon * g / ||g||} to
   * each tensor whose gradient norm is finite and non-zero. All fp32.
   */
  public static Perturbation fgmPerturb(TensorList params, TensorList backup, TensorList grads,
      double epsilon) {
    requirePositive("epsilon", epsilon);
    requireAdversarialLists(params, backup, grads);
    return withAppliedFlags(params, (applied, appliedDevice) -> params.isCuda()
        ? NativeKernels.vidtag_fgm_perturb_cuda(params.addresses(), backup.addresses(),
            grads.addresses(), params.numels(), params.size(), (float) epsilon, appliedDevice,
            CudaStreams.current(params))
        : NativeKernels.vidtag_fgm_perturb_cpu(params.addresses(), backup.addresses(),
            grads.addresses(), params.numels(), params.size(), (float) epsilon, applied),
        "fgm_perturb");
  }

  /** {@code params = backup}: undoes {@link #fgmPerturb} or a series of {@link #pgdStep}. */
  public static void restore(TensorList params, TensorList backup) {
    requireElementType(params, ElementType.FLOAT32);
    requireMatching(params, backup);
    requireSameElementType(params, backup);
    requireDisjoint(params, backup);
    int status = params.isCuda()
        ? NativeKernels.vidtag_restore_cuda(params.addresses(), backup.addresses(),
            params.numels(), params.size(), CudaStreams.current(params))
        : NativeKernels.vidtag_restore_cpu(params.addresses(), backup.addresses(),
            params.numels(), params.size());
    check(status, "restore");
  }

  /**
   * One PGD step: {@code params += alpha * g / ||g||}, then the displacement from
   * {@code backup} is projected onto the L2 ball of radius epsilon. Tensors whose gradient norm
   * is zero or not finite are left unchanged. All fp32; {@code backup} holds the weights before
   * the first step (see {@link #copy}).
   */
  public static Perturbation pgdStep(TensorList params, TensorList backup, TensorList grads,
      double alpha, double epsilon) {
    requirePositive("alpha", alpha);
    requirePositive("epsilon", epsilon);
    requireAdversarialLists(params, backup, grads);
    return withAppliedFlags(params, (applied, appliedDevice) -> params.isCuda()
        ? NativeKernels.vidtag_pgd_step_cuda(params.addresses(), backup.addresses(),
            grads.addresses(), params.numels(), params.size(), (float) alpha, (float) epsilon,
            appliedDevice, CudaStreams.current(params))
        : NativeKernels.vidtag_pgd_step_cpu(params.addresses(), backup.addresses(),
            grads.addresses(), params.numels(), params.size(), (float) alpha, (float) epsilon,
            applied),
        "pgd_step");
  }

  // ---- argument checks ------------------------------------------------------------------------

  private static void requireAdversarialLists(TensorList params, TensorList backup,
      TensorList grads) {
    requireElementType(params, ElementType.FLOAT32);
    requireElementType(backup, ElementType.FLOAT32);
    requireElementType(grads, ElementType.FLOAT32);
    requireMatching(params, backup);
    requireMatching(params, grads);
    requireDisjoint(params, backup);
    requireDisjoint(params, grads);
    requireDisjoint(backup, grads);
  }

  private static void requireMatching(TensorList a, TensorList b) {
    if (a.size() != b.size()) {
      throw new IllegalArgumentException(a.role() + " has " + a.size() + " tensors but "
          + b.role() + " has " + b.size());
    }
    if (a.size() > 0 && !a.device().equals(b.device())) {
      throw new IllegalArgumentException(a.role() + " is on " + a.device() + " but " + b.role()
          + " is on " + b.device());
    }
    for (int i = 0; i < a.size(); i++) {
      if (a.numel(i) != b.numel(i)) {
        throw new IllegalArgumentException(a.describe(i) + " has " + a.numel(i) + " elements but "
            + b.describe(i) + " has " + b.numel(i));
      }
    }
  }

  private static void requireElementType(TensorList list, ElementType type) {
    if (list.size() > 0 && list.elementType() != type) {
      throw new IllegalArgumentException(list.describe(0) + " is " + list.elementType() + "; "
          + list.role() + " must be " + type);
    }
  }

  private static void requireSameElementType(TensorList a, TensorList b) {
    if (a.size() > 0 && a.elementType() != b.elementType()) {
      throw new IllegalArgumentException(a.role() + " is " + a.elementType() + " but " + b.role()
          + " is " + b.elementType());
    }
  }

  /** The kernels assume no aliasing between the tensors they pair (their loops are restrict). */
  private static void requireDisjoint(TensorList a, TensorList b) {
    for (int i = 0; i < a.size(); i++) {
      long aStart = a.address(i);
      long bStart = b.address(i);
      long aEnd = aStart + a.numel(i) * a.elementType().bytes;
      long bEnd = bStart + b.numel(i) * b.elementType().bytes;
      if (a.numel(i) > 0 && aStart < bEnd && bStart < aEnd) {
        throw new IllegalArgumentException(a.describe(i) + " and " + b.describe(i)
            + " share memory");
      }
    }
  }

  private static void requireFraction(String name, double value) {
    if (!(value >= 0.0 && value <= 1.0)) {
      throw new IllegalArgumentException(name + " must be in [0, 1], got " + value);
    }
  }

  private static void requirePositive(String name, double value) {
    if (!(value > 0.0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(name + " must be positive and finite, got " + value);
    }
  }

  // ---- native results -------------------------------------------------------------------------

  private interface PerturbationCall {
    int run(IntPointer appliedHost, IntPointer appliedDevice);
  }

  private static Perturbation withAppliedFlags(TensorList params, PerturbationCall call,
      String kernel) {
    int n = params.size();
    int[] applied = new int[n];
    if (params.isCuda()) {
      try (Tensor flags = deviceBuffer(params, Math.max(n, 1), ScalarType.Int)) {
        check(call.run(null, flags.data_ptr_int()), kernel);
        try (Tensor host = flags.cpu()) {
          host.data_ptr_int().get(applied, 0, n);
        }
      }
    } else {
      try (IntPointer flags = new IntPointer(Math.max(n, 1))) {
        check(call.run(flags, null), kernel);
        flags.get(applied, 0, n);
      }
    }
    List<String> skipped = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (applied[i] == 0 && params.numel(i) > 0) {
        skipped.add(params.names().get(i));
      }
    }
    return new Perturbation(List.copyOf(skipped));
  }

  private static Tensor deviceBuffer(TensorList onDeviceOf, int length, ScalarType type) {
    TensorOptions options = new TensorOptions(type)
        .device(new DeviceOptional(new Device(onDeviceOf.device())));
    return torch.zeros(new long[] {length}, options);
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
      default -> throw new KernelException(kernel + " failed: " + detail);
    }
  }
}

package dev.vidtag.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A named list of tensors as the fused kernels take it: every tensor contiguous, of one element
 * type (fp32 or bf16) and on one device, checked when the list is made. Holds the tensors, so
 * their storage outlives the list, and the native arrays of their addresses and sizes.
 *
 * <p>Parameter addresses do not change during training, so lists of parameters and of their EMA
 * shadows are made once. Gradients may be reallocated between steps: make their list per step
 * with {@link #gradientsOf}. Like every JavaCPP pointer, a list belongs to the
 * {@code PointerScope} it is made in: make long-lived lists outside any scope. Closing a list
 * frees its address arrays, never the tensors.
 */
public final class TensorList implements AutoCloseable {
  private final String role;
  private final List<String> names;
  private final List<Tensor> tensors;
  private final long[] numel;
  private final ElementType elementType;
  private final String device;
  private final LongPointer addresses;
  private final LongPointer numels;
  private final LongPointer byteCounts;

  /** Element types the kernels work on. */
  public enum ElementType {
    FLOAT32(NativeKernels.FLOAT32, 4),
    BFLOAT16(NativeKernels.BFLOAT16, 2);

    final int code;
    final int bytes;

    ElementType(int code, int bytes) {
      this.code = code;
      this.bytes = bytes;
    }
  }

  private TensorList(String role, List<String> names, List<Tensor> tensors) {
    this.role = role;
    this.names = List.copyOf(names);
    this.tensors = List.copyOf(tensors);
    int n = tensors.size();
    this.numel = new long[n];
    long[] address = new long[n];
    ElementType type = null;
    String firstDevice = null;
    for (int i = 0; i < n; i++) {
      Tensor t = tensors.get(i);
      String what = describe(i);
      if (t == null || t.isNull() || !t.defined()) {
        throw new IllegalArgumentException(what + " is undefined");
      }
      if (t.is_sparse() || t.is_mkldnn()) {
        throw new IllegalArgumentException(what + " is not a dense strided tensor");
      }
      if (!t.is_contiguous()) {
        throw new IllegalArgumentException(what + " is not contiguous (call contiguous() first)");
      }
      ElementType elementType = elementTypeOf(t, what);
      if (type == null) {
        type = elementType;
      } else if (type != elementType) {
        throw new IllegalArgumentException(what + " is " + elementType + " but " + describe(0)
            + " is " + type + ": a list holds one element type");
      }
      String tensorDevice = deviceOf(t, what);
      if (firstDevice == null) {
        firstDevice = tensorDevice;
      } else if (!firstDevice.equals(tensorDevice)) {
        throw new IllegalArgumentException(what + " is on " + tensorDevice + " but " + describe(0)
            + " is on " + firstDevice + ": a list lives on one device");
      }
      numel[i] = t.numel();
      address[i] = numel[i] == 0 ? 0 : t.data_ptr().address();
    }
    this.elementType = type == null ? ElementType.FLOAT32 : type;
    this.device = firstDevice == null ? "cpu" : firstDevice;
    long[] bytes = new long[n];
    for (int i = 0; i < n; i++) {
      bytes[i] = numel[i] * this.elementType.bytes;
    }
    this.addresses = nativeArray(address);
    this.numels = nativeArray(numel);
    this.byteCounts = nativeArray(bytes);
  }

  private static LongPointer nativeArray(long[] values) {
    return new LongPointer(Math.max(values.length, 1)).put(values, 0, values.length);
  }

  /**
   * A list of tensors with a name each (used in error messages).
   *
   * @param role what the list is, e.g. "EMA shadow" or "parameters"
   */
  public static TensorList of(String role, List<String> names, List<Tensor> tensors) {
    Objects.requireNonNull(role, "role");
    if (names.size() != tensors.size()) {
      throw new IllegalArgumentException(role + ": " + names.size() + " names for "
          + tensors.size() + " tensors");
    }
    return new TensorList(role, names, tensors);
  }

  /** The gradients of the parameters of a list, named after them; each must exist. */
  public static TensorList gradientsOf(TensorList parameters) {
    List<Tensor> grads = new ArrayList<>(parameters.size());
    for (int i = 0; i < parameters.size(); i++) {
      Tensor grad = parameters.tensors.get(i).grad();
      if (grad == null || grad.isNull() || !grad.defined()) {
        throw new IllegalArgumentException(parameters.role + " '" + parameters.names.get(i)
            + "' has no gradient (run backward first, and check requires_grad)");
      }
      grads.add(grad);
    }
    return new TensorList("gradient of " + parameters.role, parameters.names, grads);
  }

  public int size() {
    return tensors.size();
  }

  public String role() {
    return role;
  }

  public List<String> names() {
    return names;
  }

  public List<Tensor> tensors() {
    return tensors;
  }

  public ElementType elementType() {
    return elementType;
  }

  /** "cpu" or "cuda:N". */
  public String device() {
    return device;
  }

  public long numel(int i) {
    return numel[i];
  }

  /** Total number of elements of all tensors. */
  public long totalElements() {
    long total = 0;
    for (long n : numel) {
      total += n;
    }
    return total;
  }

  boolean isCuda() {
    return device.startsWith("cuda");
  }

  long address(int i) {
    return addresses.get(i);
  }

  LongPointer addresses() {
    return addresses;
  }

  LongPointer numels() {
    return numels;
  }

  LongPointer byteCounts() {
    return byteCounts;
  }

  String describe(int i) {
    return role + " '" + names.get(i) + "'";
  }

  @Override
  public void close() {
    addresses.close();
    numels.close();
    byteCounts.close();
  }

  private static ElementType elementTypeOf(Tensor t, String what) {
    ScalarType type = t.scalar_type().intern();
    if (type == ScalarType.Float) {
      return ElementType.FLOAT32;
    }
    if (type == ScalarType.BFloat16) {
      return ElementType.BFLOAT16;
    }
    throw new IllegalArgumentException(what + " has dtype " + type + "; the kernels take Float or BFloat16");
  }

  private static String deviceOf(Tensor t, String what) {
    if (t.is_cuda()) {
      return "cuda:" + t.device().index();
    }
    if (t.is_cpu()) {
      return "cpu";
    }
    throw new IllegalArgumentException(what + " is on device " + t.device().str().getString()
        + "; the kernels run on cpu and cuda");
  }
}

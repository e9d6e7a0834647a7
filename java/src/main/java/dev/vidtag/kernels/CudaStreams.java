package dev.vidtag.kernels;

import org.bytedeco.javacpp.Pointer;

/**
 * LibTorch's current CUDA stream of a device, as the raw {@code cudaStream_t} the kernels take,
 * so that they run in order with LibTorch's own work on that stream (a copy of their output to
 * the host, the next forward) instead of on the legacy default stream.
 *
 * <p>Looked up by reflection: the stream's type comes from the CUDA classes that only the GPU
 * build carries (the {@code gpu} Maven profile), and the CPU build must neither compile against
 * nor load them. A CUDA tensor exists only in a GPU build, so only those calls come here.
 */
final class CudaStreams {
  private CudaStreams() {}

  /** The current stream of CUDA device {@code index}. */
  static Pointer current(int index) {
    try {
      Class<?> cuda = Class.forName("org.bytedeco.pytorch.global.torch_cuda");
      Object stream = cuda.getMethod("getCurrentCUDAStream", byte.class)
          .invoke(null, (byte) index);
      return (Pointer) stream.getClass().getMethod("stream").invoke(stream);
    } catch (ReflectiveOperationException | LinkageError e) {
      throw new IllegalStateException("LibTorch's current CUDA stream is not reachable in this "
          + "build (its CUDA classes come with the gpu profile): " + e, e);
    }
  }

  /** The current stream of the device a CUDA tensor list lives on ("cuda:N"). */
  static Pointer current(TensorList list) {
    return current(Integer.parseInt(list.device().substring("cuda:".length())));
  }
}

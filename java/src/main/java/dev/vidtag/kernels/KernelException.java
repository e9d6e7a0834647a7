package dev.vidtag.kernels;

/** A native kernel failed after its arguments were accepted (e.g. a CUDA error). */
public class KernelException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public KernelException(String message) {
    super(message);
  }
}

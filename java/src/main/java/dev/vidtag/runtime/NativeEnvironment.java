package dev.vidtag.runtime;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.MemberGetter;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The C library's view of the process: its environment and its allocator. Java cannot change
 * its own environment, but OpenMP and LibTorch read theirs from the C environment when they
 * load, so VidTag sets it here before LibTorch loads. Its JNI library links nothing but libc, so
 * loading it loads no OpenMP.
 */
@Platform(include = {"<stdlib.h>", "<malloc.h>"})
final class NativeEnvironment {
  private NativeEnvironment() {}

  static native int setenv(String name, String value, int overwrite);

  static native @Cast("const char*") BytePointer getenv(String name);

  /** glibc's allocator tuning; returns 1 on success. */
  static native int mallopt(int parameter, int value);

  /** Returns the free memory of glibc's heaps to the system; 1 when some was released. */
  static native int malloc_trim(@Cast("size_t") long pad);

  /** Most chunks glibc serves with mmap at once (0: none, all from its heaps). */
  @MemberGetter static native int M_MMAP_MAX();

  /** Free memory at a heap's top above which glibc returns it to the system. */
  @MemberGetter static native int M_TRIM_THRESHOLD();
}

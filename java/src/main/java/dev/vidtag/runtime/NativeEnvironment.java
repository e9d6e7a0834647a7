package dev.vidtag.runtime;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The C library's view of the process environment. Java cannot change its own environment, but
 * OpenMP reads OMP_WAIT_POLICY from the C environment when it loads, so VidTag sets it here
 * before LibTorch loads. Its JNI library links nothing but libc, so loading it loads no OpenMP.
 */
@Platform(include = "<stdlib.h>")
final class NativeEnvironment {
  private NativeEnvironment() {}

  static native int setenv(String name, String value, int overwrite);

  static native @Cast("const char*") BytePointer getenv(String name);
}

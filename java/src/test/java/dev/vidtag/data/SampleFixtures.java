package dev.vidtag.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Frame features with known values, stored as float16 or float32 bytes. */
final class SampleFixtures {
  private SampleFixtures() {}

  /** The value of row r, column c of video v: a multiple of 1/8, exact in float16. */
  static float value(int video, int row, int column) {
    return ((video * 7 + row * 3 + column) % 64 - 32) / 8.0f;
  }

  static FrameFeatures features(int video, int frames, int dim, FrameFeatures.ElementType type) {
    ByteBuffer data = ByteBuffer.allocateDirect(frames * dim * type.bytes)
        .order(ByteOrder.LITTLE_ENDIAN);
    for (int r = 0; r < frames; r++) {
      for (int c = 0; c < dim; c++) {
        float v = value(video, r, c);
        if (type == FrameFeatures.ElementType.FLOAT32) {
          data.putFloat(v);
        } else {
          data.putShort(toHalf(v));
        }
      }
    }
    data.flip();
    return new FrameFeatures(data, type, frames, dim);
  }

  /** IEEE half precision of a float that has one (normal, at most 11 significant bits, or 0). */
  static short toHalf(float f) {
    int bits = Float.floatToIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    if (f == 0) {
      return (short) sign;
    }
    int exponent = ((bits >>> 23) & 0xff) - 127 + 15;
    if (exponent <= 0 || exponent >= 31 || (bits & 0x1fff) != 0) {
      throw new IllegalArgumentException(f + " has no exact normal float16");
    }
    return (short) (sign | (exponent << 10) | ((bits >>> 13) & 0x3ff));
  }

  static int[] ids(int video, int length) {
    int[] ids = new int[length];
    for (int i = 0; i < length; i++) {
      ids[i] = 100 + video * 1000 + i;
    }
    return ids;
  }
}

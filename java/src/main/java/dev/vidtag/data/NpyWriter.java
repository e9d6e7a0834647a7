package dev.vidtag.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Writes NumPy format version 1 {@code .npy} bytes, as {@code numpy.save} lays them out. */
public final class NpyWriter {
  private NpyWriter() {}

  /** A {@code [frames, dim]} float16 array from row-major float values (rounded to nearest even). */
  public static byte[] float16(float[] values, int frames, int dim) {
    if ((long) frames * dim != values.length) {
      throw new IllegalArgumentException(values.length + " values for shape [" + frames + ", " + dim + "]");
    }
    ByteBuffer out = start("<f2", frames, dim, values.length * 2L);
    for (float value : values) {
      out.putShort(Float16.fromFloat(value));
    }
    return out.array();
  }

  /** A {@code [frames, dim]} float32 array from row-major values. */
  public static byte[] float32(float[] values, int frames, int dim) {
    if ((long) frames * dim != values.length) {
      throw new IllegalArgumentException(values.length + " values for shape [" + frames + ", " + dim + "]");
    }
    ByteBuffer out = start("<f4", frames, dim, values.length * 4L);
    out.asFloatBuffer().put(values);
    return out.array();
  }

  private static ByteBuffer start(String descr, int frames, int dim, long dataBytes) {
    String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + frames + ", "
        + dim + "), }";
    // magic (6) + version (2) + length (2) + dict + padding + '\n', a multiple of 64 in all
    int unpadded = 10 + dict.length() + 1;
    int total = (unpadded + 63) / 64 * 64;
    String header = dict + " ".repeat(total - unpadded) + "\n";
    ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(total + dataBytes)).order(ByteOrder.LITTLE_ENDIAN);
    out.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
    out.putShort((short) (total - 10));
    out.put(header.getBytes(StandardCharsets.US_ASCII));
    return out;
  }
}

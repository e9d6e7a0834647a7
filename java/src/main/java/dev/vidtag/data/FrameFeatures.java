package dev.vidtag.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The frame features of one video as stored: {@code frames x dim} values, C order, little-endian
 * float16 or float32 in {@code data} (position 0, limit = frames * dim * element size). Kept as
 * bytes so that conversion happens once, in LibTorch, when batches are built.
 */
public record FrameFeatures(ByteBuffer data, ElementType type, int frames, int dim) {

  public enum ElementType {
    FLOAT16(2),
    FLOAT32(4);

    public final int bytes;

    ElementType(int bytes) {
      this.bytes = bytes;
    }
  }

  public FrameFeatures {
    if (frames < 0 || dim <= 0) {
      throw new IllegalArgumentException("bad feature shape [" + frames + ", " + dim + "]");
    }
    if (data.remaining() != (long) frames * dim * type.bytes) {
      throw new IllegalArgumentException("feature data has " + data.remaining()
          + " bytes, expected " + (long) frames * dim * type.bytes);
    }
    data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A video without frames. */
  public static FrameFeatures empty(int dim) {
    return new FrameFeatures(ByteBuffer.allocate(0), ElementType.FLOAT16, 0, dim);
  }
}

package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class Float16Test {
  @Test
  void roundsLikeNumpy() {
    // NumPy's astype(float16) of the same float32 values: normals, subnormals, overflow, ties
    ByteBuffer singles = ByteBuffer.wrap(NpyReaderTest.fixture("float32_v1.npy")).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer halves = ByteBuffer.wrap(NpyReaderTest.fixture("float16_v1.npy")).order(ByteOrder.LITTLE_ENDIAN);
    singles.position(128);
    halves.position(128);
    int count = 0;
    while (singles.hasRemaining()) {
      float value = singles.getFloat();
      short expected = halves.getShort();
      assertEquals(expected, Float16.fromFloat(value), "value " + value);
      count++;
    }
    assertEquals(965, count);
  }

  @Test
  void everyHalfSurvivesTheRoundTrip() {
    for (int bits = 0; bits < 0x10000; bits++) {
      short half = (short) bits;
      float value = Float16.toFloat(half);
      if (Float.isNaN(value)) {
        assertTrue((Float16.fromFloat(value) & 0x7C00) == 0x7C00 && (Float16.fromFloat(value) & 0x3FF) != 0);
      } else {
        assertEquals(half, Float16.fromFloat(value), "bits " + Integer.toHexString(bits));
      }
    }
    assertEquals(65504f, Float16.toFloat((short) 0x7BFF));
    assertEquals(0x1p-24f, Float16.toFloat((short) 0x0001));
  }
}

package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.FrameFeatures.ElementType;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Against files written by NumPy itself (src/test/resources/dev/vidtag/data/npy/make_fixtures.py). */
class NpyReaderTest {
  private static final Path SOURCE = Path.of("fixture.npy");

  static byte[] fixture(String name) {
    try (InputStream in = NpyReaderTest.class.getResourceAsStream("npy/" + name)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static FrameFeatures read(byte[] bytes) {
    return NpyReader.read(ByteBuffer.wrap(bytes), SOURCE, "v1.npy", true);
  }

  /** The float16 fixture holds NumPy's infinities for the overflowing values. */
  private static FrameFeatures readUnchecked(byte[] bytes) {
    return NpyReader.read(ByteBuffer.wrap(bytes), SOURCE, "v1.npy", false);
  }

  private static float[] floats(FrameFeatures features) {
    float[] out = new float[features.frames() * features.dim()];
    ByteBuffer data = features.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < out.length; i++) {
      out[i] = features.type() == ElementType.FLOAT16 ? Float16.toFloat(data.getShort())
          : data.getFloat();
    }
    return out;
  }

  private static void assertFails(byte[] bytes, String field, String problem) {
    DataException e = assertThrows(DataException.class,
        () -> NpyReader.read(ByteBuffer.wrap(bytes), SOURCE, "v1.npy", true));
    assertTrue(e.getMessage().startsWith("fixture.npy: item v1.npy: field '" + field + "': "),
        e.getMessage());
    assertTrue(e.getMessage().contains(problem), e.getMessage());
  }

  @Test
  void readsAllThreeFormatVersions() {
    // values written by NumPy: arange(12).reshape(3, 4) / 8 - 0.5, all exact in float16
    float[] expected = new float[12];
    for (int i = 0; i < 12; i++) {
      expected[i] = i / 8f - 0.5f;
    }
    for (String name : new String[] {"float16_v2.npy", "float16_v3.npy"}) {
      FrameFeatures features = read(fixture(name));
      assertEquals(ElementType.FLOAT16, features.type());
      assertEquals(3, features.frames());
      assertEquals(4, features.dim());
      assertArrayEquals(expected, floats(features), name);
    }
    FrameFeatures v1 = read(fixture("float32_v1.npy"));
    assertEquals(ElementType.FLOAT32, v1.type());
    assertEquals(193, v1.frames());
    assertEquals(5, v1.dim());
    FrameFeatures empty = read(fixture("empty_v1.npy"));
    assertEquals(0, empty.frames());
    assertEquals(4, empty.dim());
  }

  @Test
  void keepsTheStoredBytesWithoutConverting() {
    byte[] file = fixture("float16_v2.npy");
    FrameFeatures features = read(file);
    byte[] data = new byte[features.data().remaining()];
    features.data().duplicate().get(data);
    assertArrayEquals(Arrays.copyOfRange(file, file.length - 24, file.length), data);
  }

  @Test
  void writerRoundTripsThroughReaderAndMatchesNumpysLayout() {
    FrameFeatures halves = readUnchecked(fixture("float16_v1.npy"));
    float[] values = floats(read(fixture("float32_v1.npy")));
    byte[] written = NpyWriter.float16(values, 193, 5);
    // NumPy's own file, header and data, byte for byte
    assertArrayEquals(fixture("float16_v1.npy"), written);
    assertArrayEquals(fixture("float32_v1.npy"), NpyWriter.float32(values, 193, 5));
    assertArrayEquals(floats(halves), floats(readUnchecked(written)));
  }

  @Test
  void refusesUnsupportedLayouts() {
    assertFails(fixture("float16_fortran.npy"), "fortran_order", "Fortran order");
    assertFails(fixture("float64_v1.npy"), "descr", "dtype '<f8' is not supported");
    assertFails(fixture("float16_be.npy"), "descr", "big-endian");
    assertFails(fixture("float16_3d.npy"), "shape", "expected 2 dimensions");
  }

  @Test
  void refusesBrokenHeadersAndData() {
    byte[] good = fixture("float16_v2.npy");
    byte[] badMagic = good.clone();
    badMagic[1] = 'X';
    assertFails(badMagic, "header", "bad magic");
    byte[] badVersion = good.clone();
    badVersion[6] = 9;
    assertFails(badVersion, "header", "version 9");
    byte[] hugeHeader = good.clone();
    hugeHeader[11] = 0x7F;
    assertFails(hugeHeader, "header", "header length");
    assertFails(Arrays.copyOf(good, 8), "header", "too short");
    assertFails(Arrays.copyOf(good, good.length - 2), "data", "truncated");
    assertFails(Arrays.copyOf(good, good.length + 4), "data", "4 bytes after the data");
    String header = new String(good, 12, 116, StandardCharsets.US_ASCII);
    assertFails(withHeader(good, header.replace("'shape'", "'shap'")), "shape", "missing");
    assertFails(withHeader(good, header.replace("(3, 4)", "(3, x)")), "header", "malformed header");
    assertFails(withHeader(good, header.replace("{", "[")), "header", "malformed header");
  }

  @Test
  void refusesNanAndInfinityNamingFrameAndColumn() {
    byte[] file = fixture("float16_v2.npy");
    byte[] nan = file.clone();
    int offset = file.length - 24 + (2 * 4 + 1) * 2; // frame 2, column 1
    nan[offset] = 0x00;
    nan[offset + 1] = (byte) 0x7E;
    assertFails(nan, "data", "NaN or infinite value at frame 2, column 1");
    byte[] infinity = file.clone();
    infinity[file.length - 2] = 0x00;
    infinity[file.length - 1] = (byte) 0xFC;
    assertFails(infinity, "data", "frame 2, column 3");
    float[] values = {1, 2, Float.POSITIVE_INFINITY, 4};
    assertFails(NpyWriter.float32(values, 2, 2), "data", "frame 1, column 0");
    // the check is optional
    assertEquals(2, NpyReader.read(ByteBuffer.wrap(NpyWriter.float32(values, 2, 2)), SOURCE, "x",
        false).frames());
  }

  /** The same file with another header text of the same length. */
  private static byte[] withHeader(byte[] file, String header) {
    byte[] out = file.clone();
    byte[] text = header.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(text, 0, out, 12, text.length);
    return out;
  }
}

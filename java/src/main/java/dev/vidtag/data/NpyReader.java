package dev.vidtag.data;

import dev.vidtag.data.FrameFeatures.ElementType;
import dev.vidtag.io.DataException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a NumPy {@code .npy} file (format versions 1, 2 and 3) holding a frame-feature matrix:
 * little-endian float16 or float32, C order, shape {@code [frames, dim]}. The values are not
 * converted: the result wraps the bytes as stored.
 *
 * <p>Layout (numpy.lib.format): the magic {@code \x93NUMPY}, a major and a minor version byte, the
 * header length (2 bytes little-endian in version 1, 4 in versions 2 and 3), then the header, a
 * Python dict literal with {@code descr}, {@code fortran_order} and {@code shape} (ASCII; UTF-8 in
 * version 3), padded with spaces and ended by a newline, then the data.
 */
public final class NpyReader {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final int MAX_HEADER_BYTES = 65_536;

  /** The parsed header of an array. */
  public record Header(int version, ElementType type, int frames, int dim, int dataOffset) {}

  private NpyReader() {}

  /**
   * The features in {@code bytes} (the whole file; the result shares them), checked as
   * described in the class comment; {@code file} and {@code item} name the source in errors.
   * With {@code checkFinite}, a NaN or infinite value is an error naming its frame and column.
   */
  public static FrameFeatures read(ByteBuffer bytes, Path file, String item, boolean checkFinite) {
    ByteBuffer data = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    Header header = readHeader(data, file, item);
    long expected = (long) header.frames() * header.dim() * header.type().bytes;
    long actual = data.limit() - header.dataOffset();
    if (actual < expected) {
      throw DataException.at(file, item, "data", "truncated: " + actual + " bytes of data, shape ["
          + header.frames() + ", " + header.dim() + "] needs " + expected);
    }
    if (actual > expected) {
      throw DataException.at(file, item, "data", (actual - expected)
          + " bytes after the data of shape [" + header.frames() + ", " + header.dim() + "]");
    }
    data.position(header.dataOffset());
    FrameFeatures features = new FrameFeatures(data.slice(), header.type(), header.frames(),
        header.dim());
    if (checkFinite) {
      requireFinite(features, file, item);
    }
    return features;
  }

  /** Parses the header; leaves {@code data}'s position unspecified. */
  public static Header readHeader(ByteBuffer data, Path file, String item) {
    data = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (data.remaining() < MAGIC.length + 4) {
      throw DataException.at(file, item, "header", "too short for an .npy file ("
          + data.remaining() + " bytes)");
    }
    for (byte b : MAGIC) {
      if (data.get() != b) {
        throw DataException.at(file, item, "header", "not an .npy file (bad magic)");
      }
    }
    int major = data.get() & 0xFF;
    data.get(); // minor version: no meaning to readers
    long headerLength;
    if (major == 1) {
      headerLength = data.getShort() & 0xFFFF;
    } else if (major == 2 || major == 3) {
      if (data.remaining() < 4) {
        throw DataException.at(file, item, "header", "truncated header");
      }
      headerLength = data.getInt() & 0xFFFFFFFFL;
    } else {
      throw DataException.at(file, item, "header", "unsupported .npy format version " + major
          + " (1, 2 and 3 are read)");
    }
    if (headerLength > MAX_HEADER_BYTES || headerLength > data.remaining()) {
      throw DataException.at(file, item, "header", "header length " + headerLength
          + " exceeds the file or " + MAX_HEADER_BYTES + " bytes");
    }
    byte[] headerBytes = new byte[(int) headerLength];
    data.get(headerBytes);
    String text;
    try {
      text = (major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.US_ASCII).newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(headerBytes)).toString();
    } catch (CharacterCodingException e) {
      throw DataException.at(file, item, "header", "header is not "
          + (major == 3 ? "UTF-8" : "ASCII"), e);
    }
    Map<String, Object> dict;
    try {
      dict = new DictParser(text.strip()).parseDict();
    } catch (IllegalArgumentException e) {
      throw DataException.at(file, item, "header", "malformed header dict: " + e.getMessage()
          + " in " + quote(text));
    }
    return new Header(major, elementType(dict.get("descr"), file, item),
        shape(dict, file, item, 0), shape(dict, file, item, 1), data.position());
  }

  private static ElementType elementType(Object descr, Path file, String item) {
    if (!(descr instanceof String type)) {
      throw DataException.at(file, item, "descr", "missing or not a string");
    }
    switch (type) {
      case "<f2":
        return ElementType.FLOAT16;
      case "<f4":
        return ElementType.FLOAT32;
      case ">f2", ">f4":
        throw DataException.at(file, item, "descr", "big-endian " + type
            + " is not supported (little-endian float16 or float32 only)");
      default:
        throw DataException.at(file, item, "descr", "dtype " + quote(type)
            + " is not supported (little-endian float16 '<f2' or float32 '<f4' only)");
    }
  }

  private static int shape(Map<String, Object> dict, Path file, String item, int axis) {
    Object order = dict.get("fortran_order");
    if (!(order instanceof Boolean)) {
      throw DataException.at(file, item, "fortran_order", "missing or not True/False");
    }
    if ((Boolean) order) {
      throw DataException.at(file, item, "fortran_order",
          "Fortran order is not supported (save C-ordered arrays)");
    }
    if (!(dict.get("shape") instanceof List<?> shape)) {
      throw DataException.at(file, item, "shape", "missing or not a tuple");
    }
    if (shape.size() != 2) {
      throw DataException.at(file, item, "shape", "expected 2 dimensions [frames, dim], found "
          + shape.size() + " " + shape);
    }
    long size = (Long) shape.get(axis);
    if (size > Integer.MAX_VALUE || (axis == 1 && size == 0)) {
      throw DataException.at(file, item, "shape", "bad shape " + shape);
    }
    return (int) size;
  }

  /** Fails on the first NaN or infinity, naming its frame and column. */
  public static void requireFinite(FrameFeatures features, Path file, String item) {
    ByteBuffer data = features.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int bad = -1;
    if (features.type() == ElementType.FLOAT16) {
      ShortBuffer values = data.asShortBuffer();
      for (int i = 0, n = values.remaining(); i < n; i++) {
        // all exponent bits set: infinity or NaN
        if ((values.get(i) & 0x7C00) == 0x7C00) {
          bad = i;
          break;
        }
      }
    } else {
      FloatBuffer values = data.asFloatBuffer();
      for (int i = 0, n = values.remaining(); i < n; i++) {
        if (!Float.isFinite(values.get(i))) {
          bad = i;
          break;
        }
      }
    }
    if (bad >= 0) {
      throw DataException.at(file, item, "data", "NaN or infinite value at frame "
          + bad / features.dim() + ", column " + bad % features.dim());
    }
  }

  private static String quote(String text) {
    String shown = text.length() > 120 ? text.substring(0, 120) + "..." : text;
    return "'" + shown.strip() + "'";
  }

  /** The subset of Python literals a header uses: dicts, strings, booleans, ints, tuples. */
  private static final class DictParser {
    private final String text;
    private int at;

    DictParser(String text) {
      this.text = text;
    }

    Map<String, Object> parseDict() {
      expect('{');
      Map<String, Object> dict = new HashMap<>();
      while (!peek('}')) {
        Object key = value();
        if (!(key instanceof String name)) {
          throw new IllegalArgumentException("a key that is not a string");
        }
        expect(':');
        if (dict.put(name, value()) != null) {
          throw new IllegalArgumentException("duplicate key '" + name + "'");
        }
        if (!peek('}')) {
          expect(',');
        }
      }
      expect('}');
      skipSpace();
      if (at != text.length()) {
        throw new IllegalArgumentException("text after the dict");
      }
      return dict;
    }

    private Object value() {
      skipSpace();
      if (at >= text.length()) {
        throw new IllegalArgumentException("unexpected end");
      }
      char c = text.charAt(at);
      if (c == '\'' || c == '"') {
        int end = text.indexOf(c, at + 1);
        if (end < 0) {
          throw new IllegalArgumentException("unterminated string");
        }
        String value = text.substring(at + 1, end);
        at = end + 1;
        return value;
      }
      if (c == '(') {
        at++;
        List<Long> items = new ArrayList<>();
        while (!peek(')')) {
          Object item = value();
          if (!(item instanceof Long number)) {
            throw new IllegalArgumentException("a shape entry that is not an integer");
          }
          items.add(number);
          if (!peek(')')) {
            expect(',');
          }
        }
        expect(')');
        return items;
      }
      if (text.startsWith("True", at)) {
        at += 4;
        return Boolean.TRUE;
      }
      if (text.startsWith("False", at)) {
        at += 5;
        return Boolean.FALSE;
      }
      int start = at;
      while (at < text.length() && Character.isDigit(text.charAt(at))) {
        at++;
      }
      if (at == start || at - start > 12) {
        throw new IllegalArgumentException("unexpected '" + c + "' at " + start);
      }
      return Long.parseLong(text.substring(start, at));
    }

    private boolean peek(char c) {
      skipSpace();
      return at < text.length() && text.charAt(at) == c;
    }

    private void expect(char c) {
      if (!peek(c)) {
        throw new IllegalArgumentException("expected '" + c + "' at " + at);
      }
      at++;
    }

    private void skipSpace() {
      while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
        at++;
      }
    }
  }
}

package dev.vidtag.model.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.model.Fixtures;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * safetensors both ways: files written by the Python package read here; a file written here is
 * byte-identical to java_written.safetensors, which make_fixtures.py reads back with the Python
 * package; the header layout checked against the format's rules; broken files rejected.
 */
class SafetensorsTest {
  @TempDir Path temp;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  /** The tensors that make_fixtures.py (check_java_written) expects, deliberately unsorted. */
  static Map<String, Tensor> javaWrittenTensors() {
    Map<String, Tensor> t = new LinkedHashMap<>();
    t.put("c.half", torch.tensor(new float[] {1.5f, -2.0f, 0.25f}).to(ScalarType.Half));
    t.put("a.float", torch.arange(new Scalar(12), new TensorOptions(ScalarType.Float))
        .reshape(3, 4).div(new Scalar(4)));
    t.put("e.empty", torch.zeros(0, 3));
    t.put("d.bfloat16", torch.tensor(new float[] {1.0f, -3.0f}).reshape(1, 2)
        .to(ScalarType.BFloat16));
    t.put("b.long", torch.arange(new Scalar(5), new TensorOptions(ScalarType.Long))
        .sub(new Scalar(2)));
    return t;
  }

  @Test
  void writesTheFileThatThePythonPackageReadsBack() throws IOException {
    Path ours = Path.of("target/java_written.safetensors");
    SafetensorsWriter.write(ours, javaWrittenTensors(), Map.of("format", "pt", "writer", "vidtag"));
    Path committed = Fixtures.file("java_written.safetensors");
    assertTrue(Files.exists(committed), "copy " + ours + " to " + committed
        + " and run make_fixtures.py, which checks it with the safetensors package");
    assertArrayEquals(Files.readAllBytes(committed), Files.readAllBytes(ours),
        "the writer's output changed: regenerate java_written.safetensors and rerun"
            + " make_fixtures.py");
  }

  @Test
  void headerFollowsTheFormat() throws IOException {
    Path file = temp.resolve("layout.safetensors");
    SafetensorsWriter.write(file, javaWrittenTensors(), Map.of("format", "pt"));
    byte[] bytes = Files.readAllBytes(file);
    long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, (8 + headerLength) % 8, "data starts 8-byte aligned");
    JsonNode header = new ObjectMapper().readTree(
        new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8).trim());
    assertEquals("pt", header.get("__metadata__").get("format").asText());
    long expectedBegin = 0;
    // decreasing element size, then name
    String[] order = {"b.long", "a.float", "e.empty", "c.half", "d.bfloat16"};
    Map<String, JsonNode> byBegin = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : header.properties()) {
      if (!e.getKey().equals("__metadata__")) {
        byBegin.put(e.getKey(), e.getValue());
      }
    }
    for (String name : order) {
      JsonNode entry = byBegin.get(name);
      long begin = entry.get("data_offsets").get(0).asLong();
      long end = entry.get("data_offsets").get(1).asLong();
      assertEquals(expectedBegin, begin, name + " starts where the previous ended");
      String dtype = entry.get("dtype").asText();
      int size = TensorDtype.fromSafetensors(dtype).size();
      assertEquals(0, begin % size, name + " aligned to its element size");
      expectedBegin = end;
    }
    assertEquals(bytes.length - 8 - headerLength, expectedBegin, "tensors tile the data");
  }

  @Test
  void roundTripsEveryTensorExactly() {
    Path file = temp.resolve("round.safetensors");
    Map<String, Tensor> tensors = javaWrittenTensors();
    SafetensorsWriter.write(file, tensors, Map.of());
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
        Tensor back = f.view(e.getKey());
        assertEquals(e.getValue().scalar_type().intern(), back.scalar_type().intern());
        assertArrayEquals(StateDicts.shape(e.getValue()), StateDicts.shape(back));
        assertTrue(back.equal(e.getValue()), e.getKey());
      }
    }
  }

  @Test
  void readsFilesWrittenByThePythonPackage() {
    try (SafetensorsFile f = SafetensorsFile.open(Fixtures.file("dtypes.safetensors"))) {
      assertEquals(ScalarType.BFloat16, f.view("bf16").scalar_type().intern());
      assertArrayEquals(new long[] {3, 4}, f.entry("int64").shape());
      Tensor ints = f.view("int64");
      assertEquals(-3, ints.flatten(0, -1).select(0, 0).item_long());
      assertEquals(8, ints.flatten(0, -1).select(0, 11).item_long());
    }
  }

  /**
   * Offsets past 2 GiB (one mapping per tensor; Java maps at most 2 GiB at once): a sparse file
   * whose second tensor starts 2.5 GiB into the data section; nothing that large is allocated.
   */
  @Test
  void readsTensorsBeyondTwoGibibytes() throws IOException {
    long padding = 5L << 29; // 2.5 GiB of U8
    String json = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + padding + "],\"data_offsets\":[0,"
        + padding + "]},\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + padding
        + "," + (padding + 16) + "]}}";
    byte[] header = json.getBytes(StandardCharsets.UTF_8);
    Path file = temp.resolve("large.safetensors");
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      ByteBuffer head = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
      head.putLong(header.length).put(header);
      raf.write(head.array());
      long dataStart = 8 + header.length;
      raf.seek(dataStart + padding);
      ByteBuffer x = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
      x.putFloat(1f).putFloat(-2f).putFloat(3.5f).putFloat(4f);
      raf.write(x.array());
    }
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      Tensor x = f.view("x");
      assertEquals(-2f, x.select(0, 0).select(0, 1).item_float());
      assertEquals(3.5f, x.select(0, 1).select(0, 0).item_float());
    }
  }

  @Test
  void brokenFilesAreClearErrors() throws IOException {
    assertError("short", new byte[] {1, 2, 3}, "shorter than the 8-byte header length");
    assertError("huge-header", header(1L << 40, "{}"), "header length");
    assertError("not-json", header(5, "{abc}"), "not valid JSON");
    String mismatch = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}";
    assertError("size", withData(mismatch, 4), "needs 8");
    String ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    assertError("truncated", withData(ok, 4), "truncated");
    String dtype = "{\"w\":{\"dtype\":\"F8_E9\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    assertError("dtype", withData(dtype, 2), "unsupported or missing dtype");
    String gap = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
    assertError("gap", withData(gap, 8), "gap or overlap");
  }

  private void assertError(String name, byte[] content, String expected) throws IOException {
    Path file = temp.resolve(name + ".safetensors");
    Files.write(file, content);
    WeightFormatException e = assertThrows(WeightFormatException.class,
        () -> SafetensorsFile.open(file).close());
    assertTrue(e.getMessage().contains(expected) && e.getMessage().contains(file.toString()),
        e.getMessage());
  }

  private static byte[] header(long declaredLength, String json) {
    byte[] j = json.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + j.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(declaredLength).put(j);
    return b.array();
  }

  private static byte[] withData(String json, int dataBytes) {
    byte[] h = header(json.getBytes(StandardCharsets.UTF_8).length, json);
    byte[] out = new byte[h.length + dataBytes];
    System.arraycopy(h, 0, out, 0, h.length);
    return out;
  }
}

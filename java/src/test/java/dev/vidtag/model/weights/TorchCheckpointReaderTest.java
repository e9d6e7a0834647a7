package dev.vidtag.model.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.model.Fixtures;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pure-Java torch.save reader against files written by torch.save (make_fixtures.py), and
 * hostile or broken inputs built here.
 */
class TorchCheckpointReaderTest {
  @TempDir Path temp;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  @Test
  void readsEveryDtypeTiedWeightsAndViewsAsPyTorchSavedThem() {
    Map<String, Tensor> bin = TorchCheckpointReader.read(Fixtures.file("dtypes.bin"));
    Map<String, Tensor> expected = Fixtures.tensors("dtypes.safetensors");
    assertEquals(expected.keySet(), bin.keySet());
    for (String name : expected.keySet()) {
      Tensor ours = bin.get(name);
      Tensor theirs = expected.get(name);
      assertEquals(theirs.scalar_type().intern(), ours.scalar_type().intern(), name);
      assertArrayEquals(StateDicts.shape(theirs), StateDicts.shape(ours), name);
      assertTrue(ours.equal(theirs), name + " differs");
    }
    assertEquals(ScalarType.Half, bin.get("fp16").scalar_type().intern());
    assertEquals(ScalarType.BFloat16, bin.get("bf16").scalar_type().intern());
    assertEquals(ScalarType.Long, bin.get("int64").scalar_type().intern());
    // tied weights: one storage, one allocation
    assertEquals(bin.get("tied_a").data_ptr().address(), bin.get("tied_b").data_ptr().address());
    // base[1:5, 2:7].t() of a 6x8 tensor: stride (1, 8), offset 1*8 + 2
    Tensor view = bin.get("view_t");
    assertFalse(view.is_contiguous());
    assertEquals(1, view.stride(0));
    assertEquals(8, view.stride(1));
    assertEquals(10, view.storage_offset());
    assertEquals(0, bin.get("scalar").dim());
  }

  @Test
  void bothWeightFormatsOfAModelHoldIdenticalTensors() {
    for (String model : new String[] {"single", "double"}) {
      Map<String, Tensor> bin = TorchCheckpointReader.read(Fixtures.file(model + ".bin"));
      Map<String, Tensor> safe = Fixtures.tensors(model + ".safetensors");
      assertEquals(safe.size(), bin.size(), model);
      for (Map.Entry<String, Tensor> e : safe.entrySet()) {
        Tensor fromBin = bin.get("module." + e.getKey());
        assertTrue(fromBin != null && fromBin.equal(e.getValue()), model + " " + e.getKey());
      }
    }
  }

  @Test
  void refusesAPickleNamingAnyOtherGlobalWithoutRunningIt() throws IOException {
    // pickle of os.system("touch PWNED"), protocol 2
    byte[] pickle = concat(new byte[] {(byte) 0x80, 2}, ascii("cos\nsystem\nX"),
        new byte[] {11, 0, 0, 0}, ascii("touch PWNED"), new byte[] {(byte) 0x85, 'R', '.'});
    Path file = zip("archive/data.pkl", pickle);
    WeightFormatException e = assertThrows(WeightFormatException.class,
        () -> TorchCheckpointReader.read(file));
    assertTrue(e.getMessage().contains("'os.system'"), e.getMessage());
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    assertFalse(Files.exists(Path.of("PWNED")));
  }

  @Test
  void refusesBuiltinsEval() throws IOException {
    byte[] pickle = concat(new byte[] {(byte) 0x80, 2}, ascii("cbuiltins\neval\n)R."));
    Path file = zip("archive/data.pkl", pickle);
    WeightFormatException e = assertThrows(WeightFormatException.class,
        () -> TorchCheckpointReader.read(file));
    assertTrue(e.getMessage().contains("'builtins.eval'"), e.getMessage());
  }

  @Test
  void truncatedZipIsAClearError() throws IOException {
    byte[] whole = Files.readAllBytes(Fixtures.file("dtypes.bin"));
    Path file = temp.resolve("truncated.bin");
    Files.write(file, Arrays.copyOf(whole, whole.length / 2));
    WeightFormatException e = assertThrows(WeightFormatException.class,
        () -> TorchCheckpointReader.read(file));
    assertTrue(e.getMessage().contains("not a readable zip archive"), e.getMessage());
  }

  @Test
  void badMagicAndLegacyFormatAreClearErrors() throws IOException {
    Path text = temp.resolve("text.bin");
    Files.writeString(text, "hello, not a checkpoint");
    assertTrue(assertThrows(WeightFormatException.class, () -> TorchCheckpointReader.read(text))
        .getMessage().contains("does not start with a zip header"));
    Path legacy = temp.resolve("legacy.bin");
    Files.write(legacy, new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10});
    assertTrue(assertThrows(WeightFormatException.class, () -> TorchCheckpointReader.read(legacy))
        .getMessage().contains("legacy (pre-1.6)"));
  }

  @Test
  void aTruncatedPickleIsAClearError() throws IOException {
    byte[] pickle = concat(new byte[] {(byte) 0x80, 2}, ascii("ccollections\nOrderedDict\n)R(X"),
        new byte[] {100, 0, 0, 0}, ascii("abc"));
    Path file = zip("archive/data.pkl", pickle);
    WeightFormatException e = assertThrows(WeightFormatException.class,
        () -> TorchCheckpointReader.read(file));
    assertTrue(e.getMessage().contains("data.pkl"), e.getMessage());
  }

  private Path zip(String entry, byte[] content) throws IOException {
    Path file = temp.resolve("hostile.bin");
    try (OutputStream out = Files.newOutputStream(file);
         ZipOutputStream zip = new ZipOutputStream(out)) {
      zip.putNextEntry(new ZipEntry(entry));
      zip.write(content);
      zip.closeEntry();
    }
    return file;
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}

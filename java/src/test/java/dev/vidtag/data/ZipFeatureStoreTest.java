package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.ZipFeatureStore.MissingPolicy;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ZipFeatureStoreTest {
  @TempDir Path dir;

  /** Member i holds frames (i % 5) of width 4 with value i + frame / 8 + column / 64. */
  static float[] values(int video, int frames, int dim) {
    float[] out = new float[frames * dim];
    for (int f = 0; f < frames; f++) {
      for (int d = 0; d < dim; d++) {
        out[f * dim + d] = video + f / 8f + d / 64f;
      }
    }
    return out;
  }

  private Path zip(String name, Map<String, byte[]> members, boolean stored) throws IOException {
    Path file = dir.resolve(name);
    try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
      for (Map.Entry<String, byte[]> member : members.entrySet()) {
        ZipEntry entry = new ZipEntry(member.getKey());
        if (stored) {
          entry.setMethod(ZipEntry.STORED);
          entry.setSize(member.getValue().length);
          CRC32 crc = new CRC32();
          crc.update(member.getValue());
          entry.setCrc(crc.getValue());
        }
        zip.putNextEntry(entry);
        zip.write(member.getValue());
        zip.closeEntry();
      }
    }
    return file;
  }

  private Map<String, byte[]> videos(int count) {
    Map<String, byte[]> members = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      members.put("10000" + i + ".npy", NpyWriter.float16(values(i, i % 5, 4), i % 5, 4));
    }
    return members;
  }

  private static float[] halfPrecision(float[] values) {
    float[] out = new float[values.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = Float16.toFloat(Float16.fromFloat(values[i]));
    }
    return out;
  }

  private static float[] floats(FrameFeatures features) {
    ByteBuffer data = features.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[features.frames() * features.dim()];
    for (int i = 0; i < out.length; i++) {
      out[i] = Float16.toFloat(data.getShort());
    }
    return out;
  }

  @Test
  void readsMembersByIdFromSeveralThreads() throws Exception {
    Path file = zip("labeled.zip", videos(200), false);
    try (ZipFeatureStore store = ZipFeatureStore.open(file, MissingPolicy.ERROR)) {
      assertEquals(4, store.dim());
      assertEquals(200, store.ids().size());
      ExecutorService executor = Executors.newFixedThreadPool(8);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        done.add(executor.submit(() -> {
          for (int k = 0; k < 400; k++) {
            int video = (k * 37 + thread * 11) % 200;
            FrameFeatures features = store.read("10000" + video);
            assertEquals(video % 5, features.frames());
            assertArrayEquals(halfPrecision(values(video, video % 5, 4)), floats(features));
          }
          return null;
        }));
      }
      for (Future<?> future : done) {
        future.get();
      }
      executor.shutdown();
    }
  }

  @Test
  void missingVideosAreErrorsOrEmptyAsConfigured() throws IOException {
    Path file = zip("labeled.zip", videos(3), true);
    try (ZipFeatureStore strict = ZipFeatureStore.open(file, MissingPolicy.ERROR)) {
      DataException e = assertThrows(DataException.class, () -> strict.read("42"));
      assertTrue(e.getMessage().contains(file + ": item 42: no member 42.npy"), e.getMessage());
    }
    try (ZipFeatureStore lenient = ZipFeatureStore.open(file, MissingPolicy.EMPTY)) {
      FrameFeatures none = lenient.read("42");
      assertEquals(0, none.frames());
      assertEquals(4, none.dim());
      lenient.read("43");
      lenient.read("42");  // a later epoch reads it again: still one video
      assertEquals(2, lenient.missingCount());
    }
  }

  @Test
  void refusesUnsafeMemberNamesWithoutFollowingThem() throws IOException {
    for (String name : new String[] {"../evil.npy", "a/../../evil.npy", "/abs/evil.npy", "a\\..\\evil.npy", "C:evil.npy"}) {
      Map<String, byte[]> members = videos(2);
      members.put(name, NpyWriter.float16(new float[4], 1, 4));
      Path file = zip("unsafe.zip", members, false);
      DataException e = assertThrows(DataException.class, () -> ZipFeatureStore.open(file, MissingPolicy.ERROR));
      assertTrue(e.getMessage().contains("unsafe member name '" + name + "'"), e.getMessage());
      assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    }
    assertTrue(Files.notExists(dir.getParent().resolve("evil.npy")));
  }

  @Test
  void refusesTruncatedAndCorruptArchives() throws IOException {
    Path file = zip("labeled.zip", videos(5), true);
    byte[] bytes = Files.readAllBytes(file);
    Path truncated = dir.resolve("truncated.zip");
    Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 30));
    DataException e = assertThrows(DataException.class, () -> ZipFeatureStore.open(truncated, MissingPolicy.ERROR));
    assertTrue(e.getMessage().contains(truncated + ": not a zip archive, or a truncated one"), e.getMessage());

    Path garbage = dir.resolve("garbage.zip");
    Files.write(garbage, new byte[] {1, 2, 3});
    assertThrows(DataException.class, () -> ZipFeatureStore.open(garbage, MissingPolicy.ERROR));
    assertThrows(DataException.class, () -> ZipFeatureStore.open(dir.resolve("absent.zip"), MissingPolicy.ERROR));

    // flip one data byte of member 100003.npy (stored): the CRC catches it
    byte[] member = videos(5).get("100003.npy");
    int at = indexOf(bytes, member) + member.length - 1;
    bytes[at] ^= 0x01;
    Path corrupt = dir.resolve("corrupt.zip");
    Files.write(corrupt, bytes);
    try (ZipFeatureStore store = ZipFeatureStore.open(corrupt, MissingPolicy.ERROR)) {
      store.read("100002");
      DataException crc = assertThrows(DataException.class, () -> store.read("100003"));
      assertTrue(crc.getMessage().contains(corrupt + ": item 100003.npy: member is corrupt (CRC mismatch)"),
          crc.getMessage());
    }
  }

  @Test
  void refusesBadMembersNamingThem() throws IOException {
    Map<String, byte[]> members = videos(3);
    members.put("777.npy", NpyWriter.float16(values(0, 2, 8), 2, 8));
    members.put("778.npy", NpyWriter.float32(new float[] {1, Float.NaN, 3, 4}, 1, 4));
    members.put("779.npy", new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    Path file = zip("labeled.zip", members, false);
    try (ZipFeatureStore store = ZipFeatureStore.open(file, MissingPolicy.ERROR)) {
      assertMessage(() -> store.read("777"), file + ": item 777.npy: field 'shape': width 8, expected 4");
      assertMessage(() -> store.read("778"), file + ": item 778.npy: field 'data': NaN or infinite value at frame 0, column 1");
      assertMessage(() -> store.read("779"), file + ": item 779.npy: field 'header': not an .npy file");
    }
    members.put("100000.npy", members.get("100001.npy"));
    members.put("sub/100001.npy", members.get("100001.npy"));
    Path twice = zip("twice.zip", members, false);
    assertMessage(() -> ZipFeatureStore.open(twice, MissingPolicy.ERROR), "a second member for video 100001");
  }

  @Test
  void anEmptyArchiveNeedsAnExplicitWidth() throws IOException {
    Path file = zip("empty.zip", Map.of(), false);
    assertMessage(() -> ZipFeatureStore.open(file, MissingPolicy.EMPTY), "feature width is unknown");
    try (ZipFeatureStore store = ZipFeatureStore.open(file, MissingPolicy.EMPTY, true, 768)) {
      assertEquals(768, store.read("1").dim());
    }
  }

  private static void assertMessage(Runnable action, String expected) {
    DataException e = assertThrows(DataException.class, action::run);
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }
}

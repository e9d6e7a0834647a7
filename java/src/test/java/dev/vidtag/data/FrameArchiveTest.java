package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FrameArchiveTest {
  @TempDir Path dir;

  private Path zip(Map<String, byte[]> members) throws IOException {
    Path file = dir.resolve("12345.zip");
    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
      for (Map.Entry<String, byte[]> member : members.entrySet()) {
        ZipMembers.writeStored(zip, member.getKey(), member.getValue());
      }
    }
    return file;
  }

  @Test
  void pathFollowsTheOfficialLayout() {
    assertEquals(Path.of("data/zip_frames/test_a/789/1000000000000000789.zip"),
        Dataset.at(Path.of("data")).frameArchive("test_a", "1000000000000000789"));
    assertThrows(IllegalArgumentException.class,
        () -> Dataset.at(Path.of("d")).frameArchive("x", "../../etc"));
  }

  @Test
  void framesComeInSortedNameOrderAndOtherMembersAreIgnored() throws IOException {
    byte[] a = FrameImages.jpeg(1, 0, new SplittableRandom(1));
    byte[] b = FrameImages.jpeg(2, 0, new SplittableRandom(2));
    byte[] c = FrameImages.jpeg(3, 0, new SplittableRandom(3));
    Map<String, byte[]> members = new LinkedHashMap<>();
    members.put("frames/0002.jpg", c);
    members.put("frames/0000.jpg", a);
    members.put("notes.txt", new byte[] {1});
    members.put("frames/0001.JPG", b);
    List<byte[]> frames = FrameArchive.readJpegs(zip(members));
    assertEquals(3, frames.size());
    assertArrayEquals(a, frames.get(0));
    // "0001.JPG" sorts before "0002.jpg": names compare as strings
    assertArrayEquals(b, frames.get(1));
    assertArrayEquals(c, frames.get(2));
  }

  @Test
  void refusesUnsafeNamesNonJpegsAndBrokenArchives() throws IOException {
    byte[] jpeg = FrameImages.jpeg(1, 0, new SplittableRandom(1));
    for (String name : new String[] {"../0000.jpg", "/tmp/0000.jpg", "a/../../0000.jpg"}) {
      Path file = zip(Map.of(name, jpeg));
      DataException e = assertThrows(DataException.class, () -> FrameArchive.readJpegs(file));
      assertTrue(e.getMessage().contains("unsafe member name '" + name + "'"), e.getMessage());
    }
    Path notJpeg = zip(Map.of("0000.jpg", new byte[] {'P', 'N', 'G', 0, 0}));
    DataException e = assertThrows(DataException.class, () -> FrameArchive.readJpegs(notJpeg));
    assertTrue(e.getMessage().startsWith(notJpeg + ": item 0000.jpg: not a JPEG"), e.getMessage());
    Path garbage = dir.resolve("garbage.zip");
    Files.write(garbage, new byte[100]);
    e = assertThrows(DataException.class, () -> FrameArchive.readJpegs(garbage));
    assertTrue(e.getMessage().contains("not a zip archive"), e.getMessage());
    e = assertThrows(DataException.class, () -> FrameArchive.readJpegs(dir.resolve("absent.zip")));
    assertTrue(e.getMessage().contains("no such file"), e.getMessage());
  }
}

package dev.vidtag.data;

import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * The JPG frames of one video (a zip that {@link Dataset#frameArchive} locates), in time order,
 * which is the order of the member names sorted as strings.
 */
public final class FrameArchive {
  /** A JPG frame is a few tens of kilobytes; anything past this is not one. */
  private static final long MAX_FRAME_BYTES = 32L << 20;
  private static final int MAX_FRAMES = 10_000;

  private FrameArchive() {}

  /**
   * The encoded frames in time order. Every member name is checked (unsafe names refuse the
   * archive), every member's CRC, and that each {@code .jpg}/{@code .jpeg} member starts like
   * a JPEG; other members are ignored. Decoding is the pixel pipeline's job.
   */
  public static List<byte[]> readJpegs(Path file) {
    if (!Files.isRegularFile(file)) {
      throw DataException.at(file, null, null, "no such file");
    }
    try (ZipFile zip = new ZipFile(file.toFile())) {
      List<ZipEntry> frames = new ArrayList<>();
      for (ZipEntry entry : java.util.Collections.list(zip.entries())) {
        ZipMembers.requireSafeName(file, entry.getName());
        String lower = entry.getName().toLowerCase(java.util.Locale.ROOT);
        if (!entry.isDirectory() && (lower.endsWith(".jpg") || lower.endsWith(".jpeg"))) {
          frames.add(entry);
        }
      }
      if (frames.size() > MAX_FRAMES) {
        throw DataException.at(file, null, null, frames.size() + " frames, more than " + MAX_FRAMES);
      }
      frames.sort(Comparator.comparing(ZipEntry::getName));
      List<byte[]> jpegs = new ArrayList<>(frames.size());
      for (ZipEntry entry : frames) {
        byte[] bytes = ZipMembers.read(file, zip, entry, MAX_FRAME_BYTES);
        if (bytes.length < 4 || (bytes[0] & 0xFF) != 0xFF || (bytes[1] & 0xFF) != 0xD8
            || (bytes[2] & 0xFF) != 0xFF) {
          throw DataException.at(file, entry.getName(), null, "not a JPEG (bad start of image)");
        }
        jpegs.add(bytes);
      }
      return jpegs;
    } catch (ZipException e) {
      throw DataException.at(file, null, null, "not a zip archive, or a truncated one: "
          + e.getMessage(), e);
    } catch (IOException e) {
      throw DataException.at(file, null, null, "cannot read: " + e.getMessage(), e);
    }
  }
}

package dev.vidtag.data;

import dev.vidtag.io.DataException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/** Zip members read whole, with the checks every archive of a dataset needs, and written STORED. */
public final class ZipMembers {
  /** 2022-01-01T00:00:00Z, the time of every member VidTag writes. */
  static final long FIXED_ENTRY_TIME = 1_640_995_200_000L;

  private ZipMembers() {}

  /**
   * The bytes of a member, refusing members larger than {@code maxBytes} (a zip bomb or a
   * mislabelled file) and members whose CRC does not match (a corrupt archive).
   */
  static byte[] read(Path file, ZipFile zip, ZipEntry entry, long maxBytes) {
    long size = entry.getSize();
    if (size < 0 || size > maxBytes) {
      throw DataException.at(file, entry.getName(), null, "member size " + size
          + " is unknown or larger than " + maxBytes + " bytes");
    }
    byte[] bytes;
    try (InputStream in = zip.getInputStream(entry)) {
      bytes = in.readNBytes((int) size);
      if (bytes.length != size || in.read() != -1) {
        throw DataException.at(file, entry.getName(), null, "member is corrupt: "
            + bytes.length + " bytes where the directory says " + size);
      }
    } catch (IOException e) {
      throw DataException.at(file, entry.getName(), null, "member is corrupt: " + e.getMessage(), e);
    }
    CRC32 crc = new CRC32();
    crc.update(bytes);
    if (entry.getCrc() != -1 && crc.getValue() != entry.getCrc()) {
      throw DataException.at(file, entry.getName(), null, "member is corrupt (CRC mismatch)");
    }
    return bytes;
  }

  /** Refuses names that could point outside an extraction folder, whether or not we extract. */
  static void requireSafeName(Path file, String name) {
    boolean unsafe = name.isEmpty() || name.startsWith("/") || name.contains("\\")
        || name.contains("\0") || (name.length() > 1 && name.charAt(1) == ':');
    for (String part : name.split("/")) {
      unsafe |= part.equals("..");
    }
    if (unsafe) {
      throw DataException.at(file, null, "member name", "unsafe member name '" + name
          + "' (absolute, '..' or backslash): refused");
    }
  }

  /**
   * Writes an uncompressed member: float16 noise and JPGs do not compress, and STORED members
   * are read without an inflater. The fixed time makes equal inputs give equal archives.
   */
  public static void writeStored(ZipOutputStream zip, String name, byte[] bytes)
      throws IOException {
    ZipEntry entry = new ZipEntry(name);
    entry.setMethod(ZipEntry.STORED);
    entry.setSize(bytes.length);
    entry.setCompressedSize(bytes.length);
    CRC32 crc = new CRC32();
    crc.update(bytes);
    entry.setCrc(crc.getValue());
    entry.setTime(FIXED_ENTRY_TIME);
    zip.putNextEntry(entry);
    zip.write(bytes);
    zip.closeEntry();
  }
}

package dev.vidtag.data;

import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One split's {@code zip_feats/<split>.zip}: a member {@code <id>.npy} per video. Member names
 * are indexed once when the store opens (an archive with a member named with {@code ..}, an
 * absolute path or a backslash is refused, never followed); reads are random access and safe
 * from several threads ({@link ZipFile} serialises its own file access). Each member's CRC is
 * checked, so a corrupt archive fails with the member's name rather than yielding bad numbers.
 */
public final class ZipFeatureStore implements FrameFeatureSource {
  private static final Logger LOG = LoggerFactory.getLogger(ZipFeatureStore.class);
  /** 32 frames x 4096 float32 values is 512 KiB; anything near this is not a feature matrix. */
  private static final long MAX_MEMBER_BYTES = 256L << 20;
  private static final String SUFFIX = ".npy";

  /** What a video without a member becomes. */
  public enum MissingPolicy {
    /** A {@link DataException}. */
    ERROR,
    /** A video with no frames, counted and logged when the store closes. */
    EMPTY
  }

  private final Path file;
  private final ZipFile zip;
  private final Map<String, ZipEntry> members;
  private final MissingPolicy missingPolicy;
  private final boolean checkFinite;
  private final int dim;
  private final Set<String> missing = ConcurrentHashMap.newKeySet();

  private ZipFeatureStore(Path file, MissingPolicy missingPolicy, boolean checkFinite,
      int expectedDim) {
    this.file = file;
    this.missingPolicy = missingPolicy;
    this.checkFinite = checkFinite;
    if (!Files.isRegularFile(file)) {
      throw DataException.at(file, null, null, "no such file");
    }
    try {
      this.zip = new ZipFile(file.toFile());
    } catch (ZipException e) {
      throw DataException.at(file, null, null, "not a zip archive, or a truncated one: "
          + e.getMessage(), e);
    } catch (IOException e) {
      throw DataException.at(file, null, null, "cannot read: " + e.getMessage(), e);
    }
    try {
      this.members = index(file, zip);
      this.dim = expectedDim > 0 ? expectedDim : firstDim();
    } catch (RuntimeException e) {
      closeQuietly();
      throw e;
    }
  }

  /** Opens a feature archive; the width is taken from its first member. */
  public static ZipFeatureStore open(Path file, MissingPolicy missingPolicy) {
    return new ZipFeatureStore(file, missingPolicy, true, 0);
  }

  /**
   * Opens a feature archive whose members must all be {@code expectedDim} wide (required when
   * the archive may be empty); {@code checkFinite} rejects NaN and infinite values.
   */
  public static ZipFeatureStore open(Path file, MissingPolicy missingPolicy, boolean checkFinite,
      int expectedDim) {
    if (expectedDim <= 0) {
      throw new IllegalArgumentException("expectedDim must be positive: " + expectedDim);
    }
    return new ZipFeatureStore(file, missingPolicy, checkFinite, expectedDim);
  }

  @Override
  public int dim() {
    return dim;
  }

  /** The ids that have a member. */
  public Set<String> ids() {
    return Collections.unmodifiableSet(members.keySet());
  }

  public boolean contains(String videoId) {
    return members.containsKey(videoId);
  }

  /**
   * Distinct videos read so far that had no member (with {@link MissingPolicy#EMPTY}); a video
   * read again in a later epoch counts once.
   */
  public long missingCount() {
    return missing.size();
  }

  @Override
  public FrameFeatures read(String videoId) {
    ZipEntry entry = members.get(videoId);
    if (entry == null) {
      if (missingPolicy == MissingPolicy.ERROR) {
        throw DataException.at(file, videoId, null, "no member " + videoId + SUFFIX);
      }
      missing.add(videoId);
      return FrameFeatures.empty(dim);
    }
    FrameFeatures features = NpyReader.read(ByteBuffer.wrap(readMember(entry)), file,
        entry.getName(), checkFinite);
    if (features.dim() != dim) {
      throw DataException.at(file, entry.getName(), "shape", "width " + features.dim()
          + ", expected " + dim + " like the rest of the archive");
    }
    return features;
  }

  @Override
  public void close() {
    if (!missing.isEmpty()) {
      LOG.info("{}: {} videos had no features and were read as videos without frames", file,
          missing.size());
    }
    closeQuietly();
  }

  private byte[] readMember(ZipEntry entry) {
    return ZipMembers.read(file, zip, entry, MAX_MEMBER_BYTES);
  }

  private int firstDim() {
    if (members.isEmpty()) {
      throw DataException.at(file, null, null,
          "no .npy members, so the feature width is unknown (give it explicitly)");
    }
    ZipEntry first = members.values().stream()
        .min((a, b) -> a.getName().compareTo(b.getName())).orElseThrow();
    return NpyReader.read(ByteBuffer.wrap(readMember(first)), file, first.getName(), checkFinite)
        .dim();
  }

  /** The video ids of an archive (possibly empty), its member names checked. */
  static Set<String> memberIds(Path file) {
    try (ZipFile zip = new ZipFile(file.toFile())) {
      return Set.copyOf(index(file, zip).keySet());
    } catch (ZipException e) {
      throw DataException.at(file, null, null, "not a zip archive, or a truncated one: "
          + e.getMessage(), e);
    } catch (IOException e) {
      throw DataException.at(file, null, null, "cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * Maps each video id to its member, refusing unsafe names; members in a sub-folder are
   * indexed by their base name, other files (not {@code .npy}) are ignored.
   */
  static Map<String, ZipEntry> index(Path file, ZipFile zip) {
    Map<String, ZipEntry> members = new HashMap<>();
    Enumeration<? extends ZipEntry> entries = zip.entries();
    while (entries.hasMoreElements()) {
      ZipEntry entry = entries.nextElement();
      String name = entry.getName();
      ZipMembers.requireSafeName(file, name);
      if (entry.isDirectory() || !name.endsWith(SUFFIX)) {
        continue;
      }
      String id = name.substring(name.lastIndexOf('/') + 1, name.length() - SUFFIX.length());
      if (members.put(id, entry) != null) {
        throw DataException.at(file, name, null, "a second member for video " + id);
      }
    }
    return members;
  }

  private void closeQuietly() {
    try {
      zip.close();
    } catch (IOException e) {
      // read-only: nothing to lose
    }
  }
}

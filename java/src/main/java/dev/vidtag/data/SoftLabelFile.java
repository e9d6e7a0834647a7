package dev.vidtag.data;

import dev.vidtag.io.DataException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * A teacher's soft labels, compactly: for each video, in the split's annotation order, its
 * {@code k} most probable classes (uint16, most probable first) with their probabilities
 * (float16), and the probability mass of all other classes (float16). A video's hard label is its
 * first class and its confidence that class's probability.
 *
 * <p>Layout, little-endian: the magic {@code VTSOFTL1}, {@code k} and the number of classes
 * (int32 each), then fixed-size records of {@code 4k + 2} bytes. Fixed-size records make an
 * interrupted file resumable: its complete records are the first {@code (size - 16) / (4k + 2)},
 * whatever the crash left after them ({@link Appender#open}).
 */
public final class SoftLabelFile {
  private static final byte[] MAGIC = "VTSOFTL1".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER = MAGIC.length + 8;

  private final int topK;
  private final int classes;
  private final short[] ids;
  private final short[] probabilities;
  private final short[] rest;

  private SoftLabelFile(int topK, int classes, short[] ids, short[] probabilities, short[] rest) {
    this.topK = topK;
    this.classes = classes;
    this.ids = ids;
    this.probabilities = probabilities;
    this.rest = rest;
  }

  /** Bytes per video with {@code topK} classes kept. */
  public static int recordBytes(int topK) {
    return 4 * topK + 2;
  }

  public int topK() {
    return topK;
  }

  public int classes() {
    return classes;
  }

  public int size() {
    return rest.length;
  }

  /** The {@code rank}-th most probable class of video {@code video} (rank 0: the hard label). */
  public int classAt(int video, int rank) {
    return Short.toUnsignedInt(ids[video * topK + rank]);
  }

  /** Its probability. */
  public float probabilityAt(int video, int rank) {
    return Float16.toFloat(probabilities[video * topK + rank]);
  }

  /** The probability of every class outside the video's top k together. */
  public float restMass(int video) {
    return Float16.toFloat(rest[video]);
  }

  /**
   * Reads a complete file.
   *
   * @throws DataException naming the file when it is not one, or ends inside a record
   */
  public static SoftLabelFile read(Path file) {
    ByteBuffer bytes;
    try {
      bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    int[] header = readHeader(bytes, file);
    int topK = header[0];
    int record = recordBytes(topK);
    if ((bytes.remaining()) % record != 0) {
      throw DataException.at(file, null, null, "ends inside a record (" + bytes.remaining()
          + " bytes after the header, records of " + record + ")");
    }
    int videos = bytes.remaining() / record;
    short[] ids = new short[videos * topK];
    short[] probabilities = new short[videos * topK];
    short[] rest = new short[videos];
    for (int v = 0; v < videos; v++) {
      for (int r = 0; r < topK; r++) {
        ids[v * topK + r] = bytes.getShort();
        if (Short.toUnsignedInt(ids[v * topK + r]) >= header[1]) {
          throw DataException.at(file, "video " + v, "class",
              Short.toUnsignedInt(ids[v * topK + r]) + " is not below " + header[1] + " classes");
        }
      }
      for (int r = 0; r < topK; r++) {
        probabilities[v * topK + r] = bytes.getShort();
      }
      rest[v] = bytes.getShort();
    }
    return new SoftLabelFile(topK, header[1], ids, probabilities, rest);
  }

  private static int[] readHeader(ByteBuffer bytes, Path file) {
    byte[] magic = new byte[MAGIC.length];
    if (bytes.remaining() < HEADER) {
      throw DataException.at(file, null, null, "not a soft-label file: shorter than its header");
    }
    bytes.get(magic);
    if (!Arrays.equals(magic, MAGIC)) {
      throw DataException.at(file, null, null, "not a soft-label file: no VTSOFTL1 magic");
    }
    int topK = bytes.getInt();
    int classes = bytes.getInt();
    if (topK < 1 || classes < topK || classes > 65536) {
      throw DataException.at(file, null, "header", "top k " + topK + " of " + classes
          + " classes");
    }
    return new int[] {topK, classes};
  }

  /** Appends records to a file, continuing after its last complete record. */
  public static final class Appender implements AutoCloseable {
    private final FileChannel channel;
    private final int topK;
    private final int classes;
    private final long complete;

    private Appender(FileChannel channel, int topK, int classes, long complete) {
      this.channel = channel;
      this.topK = topK;
      this.classes = classes;
      this.complete = complete;
    }

    /**
     * Opens {@code file} to append to: a new one gets its header; an existing one must have the
     * same {@code topK} and {@code classes} and is cut after its last complete record.
     */
    public static Appender open(Path file, int topK, int classes) {
      if (topK < 1 || topK > classes || classes > 65536) {
        throw new IllegalArgumentException("top k must be from 1 to the " + classes
            + " classes, got " + topK);
      }
      try {
        boolean existed = Files.exists(file) && Files.size(file) > 0;
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE,
            StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
          long complete = 0;
          if (existed) {
            ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
            while (header.hasRemaining() && channel.read(header) >= 0) {
              // a header is 16 bytes: one read nearly always suffices
            }
            header.flip();
            int[] found = readHeader(header, file);
            if (found[0] != topK || found[1] != classes) {
              throw DataException.at(file, null, "header", "holds the top " + found[0] + " of "
                  + found[1] + " classes, not the top " + topK + " of " + classes);
            }
            complete = (channel.size() - HEADER) / recordBytes(topK);
            channel.truncate(HEADER + complete * recordBytes(topK));
          } else {
            ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
            header.put(MAGIC).putInt(topK).putInt(classes).flip();
            channel.truncate(0);
            writeFully(channel, header, 0);
          }
          channel.position(HEADER + complete * recordBytes(topK));
          return new Appender(channel, topK, classes, complete);
        } catch (RuntimeException | IOException e) {
          channel.close();
          throw e;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot open " + file, e);
      }
    }

    /** How many complete records the file held when opened. */
    public long complete() {
      return complete;
    }

    /**
     * Appends one record per row of {@code probabilities} (row-major {@code [videos, classes]},
     * each row a distribution) and forces them to disk.
     */
    public void append(float[] probabilities, int videos) {
      if (probabilities.length != (long) videos * classes) {
        throw new IllegalArgumentException(probabilities.length + " probabilities for " + videos
            + " videos of " + classes + " classes");
      }
      ByteBuffer records = ByteBuffer.allocate(videos * recordBytes(topK))
          .order(ByteOrder.LITTLE_ENDIAN);
      Integer[] order = new Integer[classes];
      for (int v = 0; v < videos; v++) {
        int offset = v * classes;
        for (int c = 0; c < classes; c++) {
          order[c] = c;
        }
        // most probable first; equal probabilities by class index, so the file is deterministic
        Arrays.sort(order, (a, b) -> {
          int byProbability = Float.compare(probabilities[offset + b], probabilities[offset + a]);
          return byProbability != 0 ? byProbability : Integer.compare(a, b);
        });
        double kept = 0;
        for (int r = 0; r < topK; r++) {
          records.putShort((short) (int) order[r]);
        }
        for (int r = 0; r < topK; r++) {
          float p = probabilities[offset + order[r]];
          kept += p;
          records.putShort(Float16.fromFloat(p));
        }
        records.putShort(Float16.fromFloat((float) Math.max(0.0, 1.0 - kept)));
      }
      records.flip();
      try {
        writeFully(channel, records, channel.position());
        channel.force(false);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot append soft labels", e);
      }
    }

    @Override
    public void close() {
      try {
        channel.close();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot close the soft labels", e);
      }
    }
  }

  private static void writeFully(FileChannel channel, ByteBuffer bytes, long position)
      throws IOException {
    long at = position;
    while (bytes.hasRemaining()) {
      at += channel.write(bytes, at);
    }
    channel.position(at);
  }
}

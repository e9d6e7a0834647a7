package dev.vidtag.io;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Outputs that appear whole or not at all: written under a temporary name in the target's
 * directory, flushed to disk, then renamed over the target. A crash leaves at most a stray
 * {@code .tmp} file, never a truncated output.
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /** What writes the content. */
  @FunctionalInterface
  public interface Writer {
    void write(OutputStream out) throws IOException;
  }

  /** What writes the content through a channel (bulk and direct-buffer writes). */
  @FunctionalInterface
  public interface ChannelWriter {
    void write(FileChannel out) throws IOException;
  }

  /** What fills a directory with its files. */
  @FunctionalInterface
  public interface DirectoryWriter {
    void write(Path directory) throws IOException;
  }

  public static void write(Path target, Writer writer) {
    writeChannel(target, channel -> {
      // a writer may close its stream (Jackson does): the channel must stay open to be forced
      OutputStream out = new FilterOutputStream(Channels.newOutputStream(channel)) {
        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
          this.out.write(bytes, offset, length);
        }

        @Override
        public void close() throws IOException {
          flush();
        }
      };
      writer.write(out);
      out.flush();
    });
  }

  /** As {@link #write}, for a writer that wants the file's channel. */
  public static void writeChannel(Path target, ChannelWriter writer) {
    Path absolute = target.toAbsolutePath();
    Path directory = absolute.getParent();
    Path temporary = null;
    try {
      Files.createDirectories(directory);
      temporary = Files.createTempFile(directory, "." + absolute.getFileName() + ".", ".tmp");
      try (FileChannel out = FileChannel.open(temporary, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        writer.write(out);
        out.force(true);
      }
      moveIntoPlace(temporary, absolute);
      temporary = null;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
    } finally {
      deleteQuietly(temporary);
    }
  }

  public static void writeString(Path target, String content) {
    write(target, out -> out.write(content.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  /**
   * A directory that appears whole or not at all: filled under {@code .NAME.partial} beside the
   * target, then put in its place by {@link #replaceDirectory} (an existing target is replaced).
   * A failure removes the partial directory.
   */
  public static void writeDirectory(Path target, DirectoryWriter writer) {
    Path partial = partialOf(target);
    try {
      deleteRecursively(partial);
      Files.createDirectories(partial);
      writer.write(partial);
      replaceDirectory(partial, target);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
    } finally {
      try {
        deleteRecursively(partial);
      } catch (IOException ignored) {
        // the original failure, if any, is the one worth reporting
      }
    }
  }

  /** Where {@link #writeDirectory} fills a directory before it is put in place. */
  public static Path partialOf(Path target) {
    return target.resolveSibling("." + target.getFileName() + ".partial");
  }

  /** Renames a finished file or directory over the target. */
  public static void moveIntoPlace(Path source, Path target) throws IOException {
    try {
      Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(source, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /**
   * Puts a finished directory in the place of {@code target}, which may exist: the old one is
   * moved aside to {@code .NAME.previous} first (a directory cannot be renamed over a non-empty
   * one) and deleted once the new one is in place. A crash in between leaves the previous
   * directory whole under that name.
   */
  public static void replaceDirectory(Path finished, Path target) throws IOException {
    Path previous = previousOf(target);
    deleteRecursively(previous);
    if (Files.exists(target)) {
      Files.move(target, previous);
    }
    moveIntoPlace(finished, target);
    deleteRecursively(previous);
  }

  /** Where {@link #replaceDirectory} keeps the old directory while it swaps in the new one. */
  public static Path previousOf(Path target) {
    return target.resolveSibling("." + target.getFileName() + ".previous");
  }

  /** Deletes a file or a directory with everything in it; nothing happens when it is absent. */
  public static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static void deleteQuietly(Path path) {
    if (path != null) {
      try {
        Files.deleteIfExists(path);
      } catch (IOException ignored) {
        // the original failure is the one worth reporting
      }
    }
  }
}

package dev.vidtag.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.io.DataException;
import dev.vidtag.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The options a run of {@code vidtag train} or {@code vidtag pretrain} was started with, kept
 * as {@code RUN/options.json} so that {@code --resume} continues with exactly them.
 */
public final class RunOptions {
  public static final String FILE = "options.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private RunOptions() {}

  /** Writes {@code options} into {@code run} (created when missing), atomically. */
  public static void write(Path run, Object options) {
    Path file = run.resolve(FILE);
    try {
      Files.createDirectories(run);
      AtomicFiles.writeString(file, JSON.writerWithDefaultPrettyPrinter()
          .writeValueAsString(options));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Reads the options of a run that {@code command} ("vidtag train", ...) started. */
  public static <T> T read(Path run, Class<T> type, String command) {
    Path file = run.resolve(FILE);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(run + " has no " + FILE + ": not a run of " + command);
    }
    try {
      return JSON.readValue(file.toFile(), type);
    } catch (IOException e) {
      throw DataException.at(file, null, null, "unreadable run options: " + e.getMessage());
    }
  }
}

package dev.vidtag.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * The directory of a fine-tuning or pretraining run: {@code options.json} (the options it was
 * started with, so that {@code --resume} continues with exactly them), {@code metrics.jsonl},
 * and {@code checkpoints/}.
 */
public final class RunDirectory {
  public static final String OPTIONS = "options.json";
  public static final String METRICS = "metrics.jsonl";
  public static final String CHECKPOINTS = "checkpoints";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path path;

  private RunDirectory(Path path) {
    this.path = path;
  }

  /**
   * A new run in {@code path} (created when missing) with its options written; refused when
   * the directory already holds a run.
   */
  public static RunDirectory create(Path path, Object options) {
    if (holdsRun(path)) {
      throw new IllegalArgumentException(path + " already holds a run; choose another --out, "
          + "or continue it with --resume");
    }
    Path file = path.resolve(OPTIONS);
    try {
      Files.createDirectories(path);
      AtomicFiles.writeString(file, JSON.writerWithDefaultPrettyPrinter()
          .writeValueAsString(options));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
    return new RunDirectory(path);
  }

  /** The run in {@code path}, to continue; it must have been started ({@code options.json}). */
  public static RunDirectory existing(Path path) {
    if (!Files.isRegularFile(path.resolve(OPTIONS))) {
      throw new IllegalArgumentException(path + " has no " + OPTIONS + ": not a run to resume");
    }
    return new RunDirectory(path);
  }

  /** Whether {@code path} holds (part of) a run. */
  public static boolean holdsRun(Path path) {
    return Files.exists(path.resolve(OPTIONS)) || Files.exists(path.resolve(METRICS))
        || Files.isDirectory(path.resolve(CHECKPOINTS));
  }

  /** The options of a run that {@code command} ("vidtag train", ...) started. */
  public static <T> T readOptions(Path run, Class<T> type, String command) {
    Path file = run.resolve(OPTIONS);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(run + " has no " + OPTIONS + ": not a run of " + command);
    }
    try {
      return JSON.readValue(file.toFile(), type);
    } catch (IOException e) {
      throw DataException.at(file, null, null, "unreadable run options: " + e.getMessage());
    }
  }

  public Path path() {
    return path;
  }

  /** The run's metrics log, appended to (a resumed run continues the file). */
  public MetricsLog openMetrics() {
    return new MetricsLog(path.resolve(METRICS));
  }

  /** Where the checkpoint of that name lives. */
  public Path checkpoint(String name) {
    return path.resolve(CHECKPOINTS).resolve(name);
  }

  /**
   * The directories under {@code run}'s {@code checkpoints/} that {@code isCheckpoint} accepts,
   * by name; none when there is no such folder.
   */
  public static List<Path> checkpoints(Path run, Predicate<Path> isCheckpoint) {
    Path folder = run.resolve(CHECKPOINTS);
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    try (Stream<Path> listing = Files.list(folder)) {
      return listing.filter(Files::isDirectory).filter(isCheckpoint)
          .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + folder, e);
    }
  }

  /** The newest {@code step-N...} checkpoint of a run that {@code isCheckpoint} accepts. */
  public static Optional<Path> newestCheckpoint(Path run, Predicate<Path> isCheckpoint) {
    List<Path> steps = checkpoints(run,
        p -> p.getFileName().toString().startsWith("step-") && isCheckpoint.test(p));
    return steps.isEmpty() ? Optional.empty() : Optional.of(steps.get(steps.size() - 1));
  }
}

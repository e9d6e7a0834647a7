package dev.vidtag.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.cli.VidTag;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * {@code vidtag} commands in child JVMs, as a real kill would hit one: started with this JVM's
 * class path and native cache, each with its output in a log file under {@code logs}, which a
 * failure prints.
 */
public final class ChildRuns {
  private final Path logs;

  public ChildRuns(Path logs) {
    this.logs = logs;
  }

  /** Starts {@code vidtag args...}; {@code name} names its log. */
  public Process start(String name, List<String> args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("-Dvidtag.cache.dir=" + TorchRuntime.cacheRoot());
    command.add(VidTag.class.getName());
    command.addAll(args);
    Files.createDirectories(logs);
    Path log = Files.createTempFile(logs, name, ".log");
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
        .start();
  }

  /** Waits for a successful exit, failing with every log when it is not. */
  public void finish(Process process, String what) throws Exception {
    if (!process.waitFor(300, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(what + " did not finish in 300 s");
    }
    if (process.exitValue() != 0) {
      StringBuilder text = new StringBuilder();
      try (var files = Files.list(logs)) {
        for (Path log : files.filter(p -> p.toString().endsWith(".log")).toList()) {
          text.append(log.getFileName()).append(":\n")
              .append(Files.readString(log, StandardCharsets.UTF_8));
        }
      }
      throw new AssertionError(what + " exited " + process.exitValue() + "\n" + text);
    }
  }

  /**
   * The contents of a LibTorch archive's tensor records (moments and step counts), sorted: the
   * archive numbers its records in an order of its own (by tensor address), not by parameter.
   */
  public static List<String> archiveTensors(Path archive) throws Exception {
    List<String> digests = new ArrayList<>();
    try (ZipFile zip = new ZipFile(archive.toFile())) {
      for (ZipEntry entry : Collections.list(zip.entries())) {
        if (entry.getName().matches("[^/]+/data/\\d+")) {
          try (var in = zip.getInputStream(entry)) {
            digests.add(HexFormat.of().formatHex(
                MessageDigest.getInstance("SHA-256").digest(in.readAllBytes())));
          }
        }
      }
    }
    assertTrue(digests.size() > 2, "tensor records in " + archive + ": " + digests.size());
    Collections.sort(digests);
    return digests;
  }
}

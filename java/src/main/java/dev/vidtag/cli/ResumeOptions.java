package dev.vidtag.cli;

import java.util.List;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * What {@code --resume} of {@code train} and {@code pretrain} accepts beside itself: a resumed
 * run continues with the options it was started with, so only those that do not change what it
 * computes (loader threads, the runtime's threads and device) may come with it.
 */
final class ResumeOptions {
  private static final Set<String> ALLOWED =
      Set.of("--resume", "--workers", "--threads", "--device");

  private ResumeOptions() {}

  /** Fails naming the first of {@code {name, value}} pairs whose value a new run lacks. */
  static void requireForNewRun(Object[][] options) {
    for (Object[] option : options) {
      if (option[1] == null) {
        throw new IllegalArgumentException("missing " + option[0] + " (required unless --resume)");
      }
    }
  }

  /** Fails naming every other option given on the command line. */
  static void refuseOthers(CommandSpec spec) {
    refuseAllBut(spec, ALLOWED, "--resume continues with the run's own options");
  }

  /**
   * Fails with {@code reason} and the names of the options given on the command line that
   * {@code allowed} lacks.
   */
  static void refuseAllBut(CommandSpec spec, Set<String> allowed, String reason) {
    List<String> others = spec.commandLine().getParseResult().matchedOptions().stream()
        .map(OptionSpec::longestName)
        .filter(name -> !allowed.contains(name))
        .toList();
    if (!others.isEmpty()) {
      throw new IllegalArgumentException(reason + "; drop " + String.join(", ", others));
    }
  }
}

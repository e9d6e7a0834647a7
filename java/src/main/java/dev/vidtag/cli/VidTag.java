package dev.vidtag.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code vidtag} command line. */
@Command(
    name = "vidtag",
    mixinStandardHelpOptions = true,
    versionProvider = VidTag.VersionProvider.class,
    description = "Trains and serves multimodal short-video classifiers on LibTorch.",
    subcommands = {SynthCommand.class, InspectCommand.class, DemoCommand.class, DoctorCommand.class,
        ImportClipCommand.class, ExtractFeaturesCommand.class,
        EvaluateCommand.class, ImportCommand.class, TrainCommand.class, PretrainCommand.class,
        KFoldCommand.class, SwaCommand.class, PredictCommand.class, MergeResultsCommand.class,
        TailFitCommand.class, FitEnsembleCommand.class, PseudoLabelCommand.class, ServeCommand.class, CommandLine.HelpCommand.class})
public final class VidTag implements Runnable {
  @Spec CommandSpec spec;

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** Runs a command line and returns its exit code (0 only on success). */
  public static int execute(String... args) {
    CommandLine commandLine = new CommandLine(new VidTag());
    commandLine.setExecutionExceptionHandler(VidTag::reportFailure);
    return commandLine.execute(args);
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** User errors get one line on stderr; set -Dvidtag.debug=true for the stack trace. */
  private static int reportFailure(Exception e, CommandLine commandLine,
      CommandLine.ParseResult parseResult) {
    PrintWriter err = commandLine.getErr();
    String message = e.getMessage() == null ? e.toString() : e.getMessage();
    err.println("vidtag " + commandLine.getCommandName() + ": error: " + message);
    if (Boolean.getBoolean("vidtag.debug")) {
      e.printStackTrace(err);
    }
    err.flush();
    return e instanceof IllegalArgumentException ? 2 : 1;
  }

  static final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {
          "vidtag " + Versions.vidtag(),
          "LibTorch " + Versions.libTorch() + " (org.bytedeco:pytorch " + Versions.pytorchArtifact()
              + "), JavaCPP " + Versions.javacpp(),
          "Java " + System.getProperty("java.version") + " on " + System.getProperty("os.name")
              + " " + System.getProperty("os.arch")
      };
    }
  }
}

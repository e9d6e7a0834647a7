package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VidTagCommandLineTest {
  private static CommandLineRunner.Output run(String... args) {
    return CommandLineRunner.run(args);
  }

  @Test
  void versionNamesVidTagAndLibTorch() {
    CommandLineRunner.Output output = run("--version");
    assertEquals(0, output.exitCode());
    assertTrue(output.out().startsWith("vidtag "), output.out());
    assertTrue(output.out().contains("LibTorch 2.10.0"), output.out());
  }

  @Test
  void helpListsTheCommands() {
    CommandLineRunner.Output output = run("--help");
    assertEquals(0, output.exitCode());
    assertTrue(output.out().contains("doctor"), output.out());
  }

  @Test
  void unknownCommandIsAUsageError() {
    CommandLineRunner.Output output = run("frobnicate");
    assertEquals(2, output.exitCode());
    assertTrue(output.err().contains("frobnicate"), output.err());
  }

  @Test
  void badDeviceIsReportedInOneLine() {
    CommandLineRunner.Output output = run("doctor", "--device", "tpu");
    assertEquals(2, output.exitCode());
    assertEquals("vidtag doctor: error: unknown device 'tpu': expected cpu, cuda or cuda:N",
        output.err().strip());
  }

  @Test
  void trainNamesWhatIsMissingOrNotAllowedWithResume(@TempDir Path dir) {
    CommandLineRunner.Output missing = run("train", "--arch", "single");
    assertEquals(2, missing.exitCode());
    assertEquals("vidtag train: error: missing --data (required unless --resume)",
        missing.err().strip());

    CommandLineRunner.Output extra = run("train", "--resume", dir.toString(), "--epochs", "3",
        "--threads", "1");
    assertEquals(2, extra.exitCode());
    assertEquals("vidtag train: error: --resume continues with the run's own options; drop "
        + "--epochs", extra.err().strip());

    CommandLineRunner.Output notARun = run("train", "--resume", dir.toString());
    assertEquals(2, notARun.exitCode());
    assertTrue(notARun.err().contains("holds no resumable run"), notARun.err());
  }

  @Test
  void kfoldNamesWhatIsMissingOrHasNoUse(@TempDir Path dir) {
    CommandLineRunner.Output noFolds = run("kfold", "--arch", "single");
    assertEquals(2, noFolds.exitCode());
    assertEquals("vidtag kfold: error: missing --folds (required unless --resume)",
        noFolds.err().strip());

    CommandLineRunner.Output ratio = run("kfold", "--folds", "5", "--val-ratio", "0.2");
    assertEquals(2, ratio.exitCode());
    assertEquals("vidtag kfold: error: --val-ratio has no use in k-fold: each fold validates in "
        + "turn", ratio.err().strip());

    CommandLineRunner.Output fold = run("kfold", "--folds", "5", "--fold", "1");
    assertEquals(2, fold.exitCode());
    assertTrue(fold.err().contains("--fold"), fold.err());

    CommandLineRunner.Output extra = run("kfold", "--resume", dir.toString(), "--folds", "3");
    assertEquals(2, extra.exitCode());
    assertEquals("vidtag kfold: error: --resume continues with the run's own options; drop "
        + "--folds", extra.err().strip());

    CommandLineRunner.Output notAKFold = run("kfold", "--resume", dir.toString());
    assertEquals(2, notAKFold.exitCode());
    assertTrue(notAKFold.err().contains("not a run of vidtag kfold"), notAKFold.err());
  }
}

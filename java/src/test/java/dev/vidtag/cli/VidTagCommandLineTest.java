package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

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
}

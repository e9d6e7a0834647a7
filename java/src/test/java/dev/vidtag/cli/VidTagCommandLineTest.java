package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class VidTagCommandLineTest {
  record Output(int exitCode, String out, String err) {}

  static Output run(String... args) {
    PrintStream originalOut = System.out;
    PrintStream originalErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = VidTag.execute(args);
      return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(originalOut);
      System.setErr(originalErr);
    }
  }

  @Test
  void versionNamesVidTagAndLibTorch() {
    Output output = run("--version");
    assertEquals(0, output.exitCode());
    assertTrue(output.out().startsWith("vidtag "), output.out());
    assertTrue(output.out().contains("LibTorch 2.10.0"), output.out());
  }

  @Test
  void helpListsTheCommands() {
    Output output = run("--help");
    assertEquals(0, output.exitCode());
    assertTrue(output.out().contains("doctor"), output.out());
  }

  @Test
  void unknownCommandIsAUsageError() {
    Output output = run("frobnicate");
    assertEquals(2, output.exitCode());
    assertTrue(output.err().contains("frobnicate"), output.err());
  }

  @Test
  void badDeviceIsReportedInOneLine() {
    Output output = run("doctor", "--device", "tpu");
    assertEquals(2, output.exitCode());
    assertEquals("vidtag doctor: error: unknown device 'tpu': expected cpu, cuda or cuda:N",
        output.err().strip());
  }
}

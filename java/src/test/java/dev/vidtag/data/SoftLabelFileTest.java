package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SoftLabelFileTest {
  private static final int CLASSES = 6;

  /** Three distributions over six classes; the third has a tie between classes 1 and 4. */
  private static final float[] ROWS = {
      0.05f, 0.10f, 0.60f, 0.05f, 0.15f, 0.05f,
      0.50f, 0.00f, 0.00f, 0.25f, 0.00f, 0.25f,
      0.10f, 0.30f, 0.05f, 0.05f, 0.30f, 0.20f};

  @Test
  void keepsTheTopClassesMostProbableFirstAndTheRestOfTheMass(@TempDir Path dir) {
    Path file = dir.resolve("soft.bin");
    try (SoftLabelFile.Appender appender = SoftLabelFile.Appender.open(file, 2, CLASSES)) {
      assertEquals(0, appender.complete());
      appender.append(ROWS, 3);
    }
    SoftLabelFile labels = SoftLabelFile.read(file);
    assertEquals(3, labels.size());
    assertEquals(2, labels.topK());
    int[][] classes = {{2, 4}, {0, 3}, {1, 4}};  // the tie goes to the lower class first
    float[][] probabilities = {{0.60f, 0.15f}, {0.50f, 0.25f}, {0.30f, 0.30f}};
    float[] rest = {0.25f, 0.25f, 0.40f};
    for (int v = 0; v < 3; v++) {
      for (int r = 0; r < 2; r++) {
        assertEquals(classes[v][r], labels.classAt(v, r), "video " + v + " rank " + r);
        assertEquals(probabilities[v][r], labels.probabilityAt(v, r), 5e-4f);
      }
      assertEquals(rest[v], labels.restMass(v), 5e-4f);
    }
    assertEquals(16 + 3 * SoftLabelFile.recordBytes(2), file.toFile().length());
  }

  @Test
  void anInterruptedFileContinuesAfterItsLastCompleteRecord(@TempDir Path dir)
      throws IOException {
    Path whole = dir.resolve("whole.bin");
    try (SoftLabelFile.Appender appender = SoftLabelFile.Appender.open(whole, 3, CLASSES)) {
      appender.append(ROWS, 3);
    }
    Path cut = dir.resolve("cut.bin");
    try (SoftLabelFile.Appender appender = SoftLabelFile.Appender.open(cut, 3, CLASSES)) {
      appender.append(Arrays.copyOf(ROWS, CLASSES), 1);
    }
    // a crash in the middle of the second record
    Files.write(cut, new byte[] {1, 2, 3, 4, 5}, StandardOpenOption.APPEND);
    try (SoftLabelFile.Appender appender = SoftLabelFile.Appender.open(cut, 3, CLASSES)) {
      assertEquals(1, appender.complete());
      appender.append(Arrays.copyOfRange(ROWS, CLASSES, 3 * CLASSES), 2);
    }
    assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(cut));

    DataException other = assertThrows(DataException.class,
        () -> SoftLabelFile.Appender.open(cut, 2, CLASSES));
    assertTrue(other.getMessage().contains("cut.bin") && other.getMessage().contains("top 3"),
        other.getMessage());
  }

  @Test
  void refusesWhatIsNotASoftLabelFile(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("labels.bin");
    Files.writeString(file, "not soft labels at all");
    DataException magic = assertThrows(DataException.class, () -> SoftLabelFile.read(file));
    assertTrue(magic.getMessage().contains("labels.bin") && magic.getMessage().contains("magic"),
        magic.getMessage());
    try (SoftLabelFile.Appender appender = SoftLabelFile.Appender.open(file.resolveSibling("ok.bin"),
        2, CLASSES)) {
      appender.append(ROWS, 3);
    }
    Files.write(file.resolveSibling("ok.bin"), new byte[] {9}, StandardOpenOption.APPEND);
    DataException partial = assertThrows(DataException.class,
        () -> SoftLabelFile.read(file.resolveSibling("ok.bin")));
    assertTrue(partial.getMessage().contains("inside a record"), partial.getMessage());
  }
}

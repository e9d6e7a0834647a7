package dev.vidtag.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResultMergeTest {
  static final CategoryMap CATEGORIES = CategoryMap.official();
  static final List<String> SPLIT = List.of("v1", "v2", "v3", "v4", "v5");
  @TempDir Path dir;

  private Path part(String name, String... idsAndClasses) throws IOException {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < idsAndClasses.length; i += 2) {
      text.append(idsAndClasses[i]).append(',')
          .append(CATEGORIES.categoryId(Integer.parseInt(idsAndClasses[i + 1]))).append('\n');
    }
    return Files.writeString(dir.resolve(name), text);
  }

  @Test
  void partsInAnyOrderComeBackInTheSplitsOrder() throws IOException {
    Path second = part("b.csv", "v5", "7", "v3", "2");
    Path first = part("a.csv", "v2", "1", "v1", "0", "v4", "199");
    List<ResultFile.Entry> merged = ResultMerge.merge(List.of(second, first), SPLIT, "test_a",
        CATEGORIES);
    assertEquals(SPLIT, merged.stream().map(ResultFile.Entry::videoId).toList());
    assertEquals(List.of(CATEGORIES.categoryId(0), CATEGORIES.categoryId(1),
        CATEGORIES.categoryId(2), CATEGORIES.categoryId(199), CATEGORIES.categoryId(7)),
        merged.stream().map(ResultFile.Entry::categoryId).toList());
  }

  @Test
  void overlappingPartsNameBothFiles() throws IOException {
    Path first = part("a.csv", "v1", "0", "v2", "1", "v3", "2");
    Path second = part("b.csv", "v3", "2", "v4", "3", "v5", "4");
    DataException e = assertThrows(DataException.class,
        () -> ResultMerge.merge(List.of(first, second), SPLIT, "test_a", CATEGORIES));
    assertTrue(e.getMessage().contains("b.csv") && e.getMessage().contains("a.csv")
        && e.getMessage().contains("v3"), e.getMessage());
  }

  @Test
  void aVideoOfAnotherSplitOrAMissingOneIsRefused() throws IOException {
    Path stranger = part("a.csv", "v1", "0", "x9", "1");
    DataException unknown = assertThrows(DataException.class,
        () -> ResultMerge.merge(List.of(stranger), SPLIT, "test_a", CATEGORIES));
    assertTrue(unknown.getMessage().contains("x9") && unknown.getMessage().contains("test_a"),
        unknown.getMessage());

    Path some = part("b.csv", "v1", "0", "v3", "1");
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> ResultMerge.merge(List.of(some), SPLIT, "test_a", CATEGORIES));
    assertTrue(missing.getMessage().startsWith("3 of the 5 videos of split test_a")
        && missing.getMessage().contains("v2, v4, v5"), missing.getMessage());
  }
}

package dev.vidtag.eval;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The official result format, also used for the truth: one {@code <id>,<category_id>} line per
 * video, no header, ids unique, category ids among the official 200.
 */
public final class ResultFile {
  private ResultFile() {}

  /** One line of a result file. */
  public record Entry(String videoId, String categoryId) {}

  /**
   * Writes one {@code <id>,<category_id>} line per video, in the given order, atomically (a
   * temporary file renamed over the target).
   *
   * @param predictedLv2 each video's predicted lv2 index
   */
  public static void write(Path file, List<String> videoIds, int[] predictedLv2,
      CategoryMap categories) {
    if (videoIds.size() != predictedLv2.length) {
      throw new IllegalArgumentException(videoIds.size() + " ids but " + predictedLv2.length
          + " predictions");
    }
    StringBuilder text = new StringBuilder(videoIds.size() * 24);
    for (int i = 0; i < predictedLv2.length; i++) {
      String id = videoIds.get(i);
      if (id.isEmpty() || id.indexOf(',') >= 0 || id.indexOf('\n') >= 0
          || id.indexOf('\r') >= 0) {
        throw new IllegalArgumentException("video id '" + abbreviate(id)
            + "' cannot be written as a result line");
      }
      if (predictedLv2[i] < 0 || predictedLv2[i] >= categories.size()) {
        throw new IllegalArgumentException("video " + id + ": lv2 index " + predictedLv2[i]
            + " is outside 0.." + (categories.size() - 1));
      }
      text.append(id).append(',').append(categories.categoryId(predictedLv2[i])).append('\n');
    }
    AtomicFiles.writeString(file, text.toString());
  }

  public static List<Entry> read(Path file, CategoryMap categories) {
    List<Entry> entries = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    var decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    try (BufferedReader reader = new BufferedReader(
        new java.io.InputStreamReader(Files.newInputStream(file), decoder))) {
      String line;
      int number = 0;
      while ((line = reader.readLine()) != null) {
        number++;
        String item = "line " + number;
        if (line.isBlank()) {
          throw DataException.at(file, item, null, "empty line");
        }
        String[] fields = line.split(",", -1);
        if (fields.length != 2) {
          throw DataException.at(file, item, null, "expected '<id>,<category_id>', got '"
              + abbreviate(line) + "'");
        }
        String id = fields[0].strip();
        String category = fields[1].strip();
        if (id.isEmpty()) {
          throw DataException.at(file, item, "id", "empty");
        }
        if (!categories.contains(category)) {
          throw DataException.at(file, item + " (id " + id + ")", "category_id",
              "'" + abbreviate(category) + "' is not an official category id");
        }
        if (!seen.add(id)) {
          throw DataException.at(file, item, "id", "duplicate id " + id);
        }
        entries.add(new Entry(id, category));
      }
    } catch (NoSuchFileException e) {
      throw new DataException(file + ": no such file");
    } catch (CharacterCodingException e) {
      throw DataException.at(file, null, null, "not valid UTF-8", e);
    } catch (IOException e) {
      throw DataException.at(file, null, null, "cannot read: " + e.getMessage(), e);
    }
    if (entries.isEmpty()) {
      throw DataException.at(file, null, null, "no lines");
    }
    return entries;
  }

  private static String abbreviate(String text) {
    return text.length() <= 60 ? text : text.substring(0, 57) + "...";
  }
}

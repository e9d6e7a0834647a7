package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.io.DataException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AnnotationReaderTest {
  private static final String GOOD_ITEM =
      "{\"id\": \"%s\", \"title\": \"t\", \"asr\": \"\", \"ocr\": [], \"category_id\": \"0101\"}";

  @TempDir Path dir;

  private Path write(String json) throws IOException {
    Path file = dir.resolve("labeled.json");
    Files.writeString(file, json, StandardCharsets.UTF_8);
    return file;
  }

  private DataException failure(String json, boolean labeled) throws IOException {
    Path file = write(json);
    DataException e = assertThrows(DataException.class,
        () -> AnnotationReader.readAll(file, labeled));
    assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
    return e;
  }

  private static void assertMentions(DataException e, String... parts) {
    for (String part : parts) {
      assertTrue(e.getMessage().contains(part), "'" + part + "' not in: " + e.getMessage());
    }
  }

  @Test
  void readsEveryFieldInFileOrder() throws IOException {
    Path file = write("""
        [{"id": "1000000000000000001", "title": "标题 A", "asr": "语音",
          "ocr": [{"time": 0, "text": "字幕"}, {"time": 3, "text": ""}],
          "category_id": "0101", "extra": {"nested": [1, 2]}},
         {"id": "2", "title": "", "asr": "", "ocr": [], "category_id": "2223"}]
        """);
    List<VideoAnnotation> items = AnnotationReader.readAll(file, true);
    assertEquals(2, items.size());
    VideoAnnotation first = items.get(0);
    assertEquals("1000000000000000001", first.id());
    assertEquals("标题 A", first.title());
    assertEquals("语音", first.asr());
    assertEquals(List.of(new OcrText(0, "字幕"), new OcrText(3, "")), first.ocr());
    assertEquals(Optional.of("0101"), first.categoryId());
    assertEquals(new VideoAnnotation("2", "", "", List.of(), Optional.of("2223")), items.get(1));
  }

  @Test
  void unlabeledSplitsNeedNoCategory() throws IOException {
    Path file = write("[{\"id\": \"7\", \"title\": \"x\", \"asr\": \"y\", \"ocr\": []}]");
    List<VideoAnnotation> items = AnnotationReader.readAll(file, false);
    assertEquals(Optional.empty(), items.get(0).categoryId());
    assertMentions(failure(Files.readString(file), true), "item 0 (id 7)", "'category_id'", "missing");
  }

  @Test
  void streamsOneItemAtATime() throws IOException {
    StringBuilder json = new StringBuilder("[");
    for (int i = 0; i < 1000; i++) {
      json.append(i == 0 ? "" : ",").append(String.format(GOOD_ITEM, "v" + i));
    }
    Path file = write(json.append("]").toString());
    try (AnnotationReader reader = AnnotationReader.open(file, true)) {
      assertEquals("v0", reader.next().id());
      assertEquals(1, reader.count());
      assertEquals(999, reader.stream().count());
      assertFalse(reader.hasNext());
    }
  }

  @Test
  void emptyArrayIsAnEmptySplit() throws IOException {
    assertEquals(List.of(), AnnotationReader.readAll(write(" [ ] "), true));
  }

  @Test
  void brokenJsonNamesTheItem() throws IOException {
    String good = String.format(GOOD_ITEM, "a");
    assertMentions(failure("[" + good + ", {\"id\": \"b\", \"title\": }]", true),
        "item 1 (id b)", "'title'", "broken JSON");
    assertMentions(failure("[" + good + ", " + String.format(GOOD_ITEM, "b").substring(0, 30), true),
        "item 1", "broken JSON");
    assertMentions(failure("[" + good, true), "item 1", "truncated");
    assertMentions(failure("{\"id\": \"a\"}", true), "expected one JSON array");
    assertMentions(failure("[" + good + "] []", true), "after the closing ']'");
    assertMentions(failure("[" + good + ", 5]", true), "item 1", "expected an object");
    assertMentions(failure("", true), "expected one JSON array");
  }

  @Test
  void wrongTypesNameTheField() throws IOException {
    assertMentions(failure("[{\"id\": 12, \"title\": \"\", \"asr\": \"\", \"ocr\": []}]", false),
        "item 0", "'id'", "expected a string, found an integer");
    assertMentions(failure("[{\"id\": \"a\", \"title\": null, \"asr\": \"\", \"ocr\": []}]", false),
        "item 0 (id a)", "'title'", "found null");
    assertMentions(failure("[{\"id\": \"a\", \"title\": \"\", \"asr\": [\"x\"], \"ocr\": []}]", false),
        "'asr'", "found an array");
    assertMentions(failure("[{\"id\": \"a\", \"title\": \"\", \"asr\": \"\", \"ocr\": \"x\"}]", false),
        "'ocr'", "expected an array");
    assertMentions(failure("[{\"id\": \"a\", \"title\": \"\", \"asr\": \"\", \"ocr\": [{\"time\": 1.5, \"text\": \"\"}]}]", false),
        "'ocr[0].time'", "expected an integer");
    assertMentions(failure("[{\"id\": \"a\", \"title\": \"\", \"asr\": \"\", \"ocr\": [{\"time\": 1, \"text\": \"\"}, {\"time\": 2, \"text\": 3}]}]", false),
        "'ocr[1].text'", "expected a string");
    assertMentions(failure("[{\"id\": \"a\", \"title\": \"\", \"asr\": \"\", \"ocr\": [{\"time\": 1}]}]", false),
        "'ocr[0].text'", "missing");
    assertMentions(failure("[{\"id\": \"a\", \"title\": \"\", \"asr\": \"\", \"ocr\": [], \"category_id\": 101}]", true),
        "'category_id'", "expected a string");
  }

  @Test
  void missingFieldsAreNamed() throws IOException {
    assertMentions(failure("[{\"title\": \"\", \"asr\": \"\", \"ocr\": []}]", false), "item 0", "'id'", "missing");
    assertMentions(failure("[{\"id\": \"a\", \"asr\": \"\", \"ocr\": []}]", false), "'title'", "missing");
    assertMentions(failure("[{\"id\": \"a\", \"title\": \"\", \"ocr\": []}]", false), "'asr'", "missing");
    assertMentions(failure("[{\"id\": \"a\", \"title\": \"\", \"asr\": \"\"}]", false), "'ocr'", "missing");
  }

  @Test
  void unknownCategoriesDuplicateIdsAndUnsafeIdsAreRefused() throws IOException {
    assertMentions(failure("[" + String.format(GOOD_ITEM, "a").replace("0101", "9999") + "]", true),
        "item 0 (id a)", "'category_id'", "unknown category '9999'");
    assertMentions(failure("[" + String.format(GOOD_ITEM, "a") + "," + String.format(GOOD_ITEM, "b")
        + "," + String.format(GOOD_ITEM, "a") + "]", true), "item 2 (id a)", "'id'", "duplicate id");
    assertMentions(failure("[" + String.format(GOOD_ITEM, "../../etc") + "]", true),
        "item 0", "'id'", "not 1-64 letters");
    assertMentions(failure("[" + String.format(GOOD_ITEM, "") + "]", true), "'id'", "not 1-64");
    assertMentions(failure("[{\"id\": \"a\", \"id\": \"b\"}]", true), "item 0", "broken JSON", "Duplicate field");
  }

  @Test
  void megabyteTitlesAreRefusedWithoutBufferingThem() throws IOException {
    String huge = "题".repeat(2_000_000);
    DataException e = failure("[" + String.format(GOOD_ITEM, "a").replace("\"t\"", "\"" + huge + "\"") + "]", true);
    assertMentions(e, "item 0 (id a)", "'title'", "too long");
    Path file = write("[" + String.format(GOOD_ITEM, "a").replace("\"t\"", "\"" + "x".repeat(50) + "\"") + "]");
    assertThrows(DataException.class, () -> {
      try (AnnotationReader reader = AnnotationReader.open(file, true, 49)) {
        reader.next();
      }
    });
    try (AnnotationReader reader = AnnotationReader.open(file, true, 50)) {
      assertEquals(50, reader.next().title().length());
    }
  }

  @Test
  void invalidUtf8NamesTheItemAndField() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes(("[" + String.format(GOOD_ITEM, "a") + ", {\"id\": \"b\", \"title\": \"ok")
        .getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes(new byte[] {(byte) 0xC3, (byte) 0x28});
    bytes.writeBytes("\", \"asr\": \"\", \"ocr\": []}]".getBytes(StandardCharsets.UTF_8));
    Path file = dir.resolve("bad-utf8.json");
    Files.write(file, bytes.toByteArray());
    DataException e = assertThrows(DataException.class, () -> AnnotationReader.readAll(file, false));
    assertMentions(e, file.toString(), "item 1 (id b)", "'title'", "invalid UTF-8");
  }

  @Test
  void missingFileIsNamed() {
    Path file = dir.resolve("absent.json");
    DataException e = assertThrows(DataException.class, () -> AnnotationReader.open(file, true));
    assertMentions(e, file.toString(), "no such file");
  }
}

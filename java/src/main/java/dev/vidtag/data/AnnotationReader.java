package dev.vidtag.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Streams the items of one official annotation file (a single JSON array of objects) and
 * validates each as it goes, so that a 1 GB {@code unlabeled.json} never sits in memory: only
 * the current item and the set of ids seen so far (for the uniqueness check) are kept.
 *
 * <p>Each item needs {@code id} (letters, digits, '_' or '-', at most 64: it becomes a file name
 * in {@code zip_feats} and {@code zip_frames}), {@code title} and {@code asr} (strings, may be
 * empty), {@code ocr} (an array of {@code {"time": int, "text": string}}, may be empty) and, in
 * labeled splits, {@code category_id} (an official id). Unknown fields are skipped.
 *
 * <p>A string longer than {@link #DEFAULT_MAX_FIELD_CHARS} characters is an error, not a
 * truncation: the longest real fields are a few thousand characters, so a megabyte title means a
 * broken export, and the model reads only the first 256 tokens anyway. The limit is enforced
 * inside the JSON parser (Jackson's {@link StreamReadConstraints}), so an oversized string is
 * refused before it is buffered whole.
 */
public final class AnnotationReader implements Iterator<VideoAnnotation>, AutoCloseable {
  /** The default limit on any one string field, in characters. */
  public static final int DEFAULT_MAX_FIELD_CHARS = 100_000;

  private static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  private static final CategoryMap CATEGORIES = CategoryMap.official();

  private final Path file;
  private final boolean labeled;
  private final JsonParser parser;
  private final Set<String> seenIds = new HashSet<>();
  private VideoAnnotation next;
  private int index = -1;
  private int returned;
  private boolean finished;

  private AnnotationReader(Path file, boolean labeled, int maxFieldChars) {
    this.file = file;
    this.labeled = labeled;
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxStringLength(maxFieldChars)
            .maxNestingDepth(16)
            .build())
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .build();
    try {
      InputStream in = Files.newInputStream(file);
      this.parser = factory.createParser(in);
      JsonToken first = parser.nextToken();
      if (first != JsonToken.START_ARRAY) {
        parser.close();
        throw DataException.at(file, null, null,
            "expected one JSON array of items, found " + describe(first));
      }
    } catch (NoSuchFileException e) {
      throw DataException.at(file, null, null, "no such file", e);
    } catch (JsonProcessingException e) {
      throw DataException.at(file, null, null, "broken JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw DataException.at(file, null, null, "cannot read: " + e.getMessage(), e);
    }
  }

  /** Opens a split for streaming; {@code labeled} requires a category on every item. */
  public static AnnotationReader open(Path file, boolean labeled) {
    return new AnnotationReader(file, labeled, DEFAULT_MAX_FIELD_CHARS);
  }

  public static AnnotationReader open(Path file, boolean labeled, int maxFieldChars) {
    if (maxFieldChars <= 0) {
      throw new IllegalArgumentException("maxFieldChars must be positive: " + maxFieldChars);
    }
    return new AnnotationReader(file, labeled, maxFieldChars);
  }

  /** A whole split, in file order. */
  public static List<VideoAnnotation> readAll(Path file, boolean labeled) {
    List<VideoAnnotation> items = new ArrayList<>();
    try (AnnotationReader reader = open(file, labeled)) {
      reader.forEachRemaining(items::add);
    }
    return items;
  }

  /** The items as a sequential stream; closing the stream closes the file. */
  public Stream<VideoAnnotation> stream() {
    return StreamSupport.stream(
        Spliterators.spliteratorUnknownSize(this, Spliterator.ORDERED | Spliterator.NONNULL),
        false).onClose(this::close);
  }

  public Path file() {
    return file;
  }

  /** Items returned so far. */
  public int count() {
    return returned;
  }

  @Override
  public boolean hasNext() {
    if (next == null && !finished) {
      next = readItem();
    }
    return next != null;
  }

  @Override
  public VideoAnnotation next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    VideoAnnotation item = next;
    next = null;
    returned++;
    return item;
  }

  @Override
  public void close() {
    try {
      parser.close();
    } catch (IOException e) {
      // nothing to lose: the file was only read
    }
  }

  private VideoAnnotation readItem() {
    ItemState item = new ItemState(index + 1);
    try {
      JsonToken token = parser.nextToken();
      if (token == JsonToken.END_ARRAY) {
        finished = true;
        JsonToken trailing = parser.nextToken();
        if (trailing != null) {
          throw DataException.at(file, null, null, "content after the closing ']' of the array");
        }
        return null;
      }
      index++;
      if (token == null) {
        throw DataException.at(file, item.describe(), null,
            "file ends inside the array (truncated?)");
      }
      if (token != JsonToken.START_OBJECT) {
        throw DataException.at(file, item.describe(), null,
            "expected an object, found " + describe(token));
      }
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        item.field = parser.currentName();
        JsonToken value = parser.nextToken();
        switch (item.field) {
          case "id" -> item.readId(value);
          case "title" -> item.title = requireString(item, value);
          case "asr" -> item.asr = requireString(item, value);
          case "ocr" -> item.ocr = readOcr(item, value);
          case "category_id" -> item.categoryId = readCategory(item, value);
          default -> parser.skipChildren();
        }
        item.field = null;
      }
      item.field = null;
      if (token != JsonToken.END_OBJECT) {
        throw DataException.at(file, item.describe(), null,
            "file ends inside an item (truncated?)");
      }
      return item.build();
    } catch (StreamConstraintsException e) {
      throw DataException.at(file, item.describe(), item.field,
          "value too long or too deeply nested: " + e.getOriginalMessage(), e);
    } catch (JsonParseException e) {
      // Jackson reads a field's value together with its name: name the field it was reading
      String field = item.field != null ? item.field : parser.getParsingContext().getCurrentName();
      String problem = e.getOriginalMessage();
      if (problem.contains("end-of-input")) {
        throw DataException.at(file, item.describe(), field,
            "broken JSON: the file ends early (truncated?)", e);
      }
      String kind = problem.contains("UTF-8") || problem.contains("UTF8")
          ? "invalid UTF-8: " : "broken JSON: ";
      throw DataException.at(file, item.describe(), field,
          kind + problem + " (line " + e.getLocation().getLineNr() + ", column "
              + e.getLocation().getColumnNr() + ")", e);
    } catch (JsonProcessingException e) {
      throw DataException.at(file, item.describe(), item.field,
          "broken JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw DataException.at(file, item.describe(), item.field, "cannot read: " + e.getMessage(), e);
    }
  }

  private String requireString(ItemState item, JsonToken value) throws IOException {
    if (value != JsonToken.VALUE_STRING) {
      throw DataException.at(file, item.describe(), item.field,
          "expected a string, found " + describe(value));
    }
    return parser.getText();
  }

  private List<OcrText> readOcr(ItemState item, JsonToken value) throws IOException {
    if (value != JsonToken.START_ARRAY) {
      throw DataException.at(file, item.describe(), "ocr",
          "expected an array of {time, text}, found " + describe(value));
    }
    List<OcrText> entries = new ArrayList<>();
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
      String where = "ocr[" + entries.size() + "]";
      if (token != JsonToken.START_OBJECT) {
        throw DataException.at(file, item.describe(), where,
            "expected an object {time, text}, found " + describe(token));
      }
      Integer time = null;
      String text = null;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken fieldValue = parser.nextToken();
        if (name.equals("time")) {
          if (fieldValue != JsonToken.VALUE_NUMBER_INT
              || parser.getNumberType() != JsonParser.NumberType.INT) {
            throw DataException.at(file, item.describe(), where + ".time",
                "expected an integer, found " + describe(fieldValue));
          }
          time = parser.getIntValue();
        } else if (name.equals("text")) {
          item.field = where + ".text";
          text = requireString(item, fieldValue);
          item.field = "ocr";
        } else {
          parser.skipChildren();
        }
      }
      if (token != JsonToken.END_OBJECT) {
        throw DataException.at(file, item.describe(), where, "file ends inside an item (truncated?)");
      }
      if (time == null || text == null) {
        throw DataException.at(file, item.describe(), where + (time == null ? ".time" : ".text"),
            "missing");
      }
      entries.add(new OcrText(time, text));
    }
    return entries;
  }

  private String readCategory(ItemState item, JsonToken value) throws IOException {
    String category = requireString(item, value);
    if (!CATEGORIES.contains(category)) {
      throw DataException.at(file, item.describe(), "category_id",
          "unknown category '" + shorten(category) + "' (not one of the 200 official ids)");
    }
    return category;
  }

  private static String describe(JsonToken token) {
    if (token == null) {
      return "the end of the file";
    }
    return switch (token) {
      case START_ARRAY -> "an array";
      case START_OBJECT -> "an object";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT -> "an integer";
      case VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> token.toString();
    };
  }

  private static String shorten(String text) {
    return text.length() <= 40 ? text : text.substring(0, 40) + "...";
  }

  /** The fields of the item being read, and where the reader is inside it. */
  private final class ItemState {
    final int position;
    String field;
    String id;
    String title;
    String asr;
    List<OcrText> ocr;
    String categoryId;

    ItemState(int position) {
      this.position = position;
    }

    String describe() {
      return id == null ? Integer.toString(position) : position + " (id " + id + ")";
    }

    void readId(JsonToken value) throws IOException {
      String candidate = requireString(this, value);
      if (!SAFE_ID.matcher(candidate).matches()) {
        throw DataException.at(file, describe(), "id",
            "'" + shorten(candidate) + "' is not 1-64 letters, digits, '_' or '-'");
      }
      if (!seenIds.add(candidate)) {
        throw DataException.at(file, position + " (id " + candidate + ")", "id",
            "duplicate id (seen before in this file)");
      }
      id = candidate;
    }

    VideoAnnotation build() {
      field = null;
      String missing = id == null ? "id" : title == null ? "title" : asr == null ? "asr"
          : ocr == null ? "ocr" : labeled && categoryId == null ? "category_id" : null;
      if (missing != null) {
        throw DataException.at(file, describe(), missing, "missing");
      }
      return new VideoAnnotation(id, title, asr, ocr, Optional.ofNullable(categoryId));
    }
  }
}

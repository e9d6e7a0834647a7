package dev.vidtag.io;

import java.nio.file.Path;

/**
 * Malformed input: the message names the file, the item (index or id) and the field, so that a
 * user can find and fix it.
 */
public class DataException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public DataException(String message) {
    super(message);
  }

  public DataException(String message, Throwable cause) {
    super(message, cause);
  }

  /** "FILE: item ITEM: field FIELD: PROBLEM", leaving out the parts that are null. */
  public static DataException at(Path file, String item, String field, String problem) {
    return new DataException(describe(file, item, field) + problem);
  }

  public static DataException at(Path file, String item, String field, String problem,
      Throwable cause) {
    return new DataException(describe(file, item, field) + problem, cause);
  }

  private static String describe(Path file, String item, String field) {
    StringBuilder where = new StringBuilder();
    if (file != null) {
      where.append(file).append(": ");
    }
    if (item != null) {
      where.append("item ").append(item).append(": ");
    }
    if (field != null) {
      where.append("field '").append(field).append("': ");
    }
    return where.toString();
  }
}

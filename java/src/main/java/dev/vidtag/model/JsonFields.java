package dev.vidtag.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Typed reads of a config object's fields; every failure names the file and the field. */
final class JsonFields {
  static final ObjectMapper MAPPER = new ObjectMapper();

  private final Path file;
  private final JsonNode node;
  private final String prefix;

  JsonFields(Path file, JsonNode node, String prefix) {
    this.file = file;
    this.node = node;
    this.prefix = prefix;
  }

  static JsonFields read(Path file) {
    JsonNode root;
    try {
      root = MAPPER.readTree(Files.readAllBytes(file));
    } catch (IOException e) {
      throw DataException.at(file, null, null, "cannot read JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw DataException.at(file, null, null, "expected a JSON object");
    }
    return new JsonFields(file, root, "");
  }

  JsonFields object(String name) {
    JsonNode value = node.get(name);
    if (value == null || !value.isObject()) {
      throw error(name, "missing or not an object");
    }
    return new JsonFields(file, value, prefix + name + ".");
  }

  boolean has(String name) {
    return node.hasNonNull(name);
  }

  int positiveInt(String name) {
    return checkPositive(name, integer(name));
  }

  int positiveInt(String name, int fallback) {
    return has(name) ? positiveInt(name) : fallback;
  }

  private int integer(String name) {
    JsonNode value = node.get(name);
    if (value == null || value.isNull()) {
      throw error(name, "missing");
    }
    if (!value.canConvertToInt() || !value.isIntegralNumber()) {
      throw error(name, "expected an integer, got " + value);
    }
    return value.intValue();
  }

  private int checkPositive(String name, int value) {
    if (value <= 0) {
      throw error(name, "must be positive, got " + value);
    }
    return value;
  }

  double number(String name, double fallback, double min, double max) {
    if (!has(name)) {
      return fallback;
    }
    JsonNode value = node.get(name);
    if (!value.isNumber()) {
      throw error(name, "expected a number, got " + value);
    }
    double v = value.doubleValue();
    if (!(v >= min && v <= max)) {
      throw error(name, "must be in [" + min + ", " + max + "], got " + v);
    }
    return v;
  }

  String string(String name, String fallback) {
    if (!has(name)) {
      if (fallback == null) {
        throw error(name, "missing");
      }
      return fallback;
    }
    JsonNode value = node.get(name);
    if (!value.isTextual()) {
      throw error(name, "expected a string, got " + value);
    }
    return value.textValue();
  }

  DataException error(String name, String problem) {
    return DataException.at(file, null, prefix + name, problem);
  }
}

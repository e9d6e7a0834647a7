package dev.vidtag.benchmarks.compare;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** {@code --name value} pairs of a benchmark's command line. */
final class Arguments {
  private final Map<String, String> values = new HashMap<>();

  Arguments(String[] args, int first) {
    for (int i = first; i < args.length; i += 2) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
      }
      values.put(args[i], args[i + 1]);
    }
  }

  String string(String name, String fallback) {
    String value = values.getOrDefault(name, fallback);
    if (value == null) {
      throw new IllegalArgumentException("missing " + name);
    }
    return value;
  }

  Path path(String name) {
    return Path.of(string(name, null));
  }

  int integer(String name, int fallback) {
    return Integer.parseInt(string(name, Integer.toString(fallback)));
  }
}

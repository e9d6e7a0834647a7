package dev.vidtag.data;

import java.util.List;

/**
 * One of {@code count} contiguous parts of a split, in the split's annotation order: part
 * {@code index} (from 0) holds items {@code [index * n / count, (index + 1) * n / count)}, so the
 * parts of a split cover each of its items once, their sizes differ by at most one, and a
 * machine or process can predict its part without knowing of the others.
 */
public record Shard(int index, int count) {
  public static final Shard WHOLE = new Shard(0, 1);

  public Shard {
    if (count < 1 || index < 0 || index >= count) {
      throw new IllegalArgumentException("a shard is I/N with N at least 1 and I from 0 to N-1, "
          + "got " + index + "/" + count);
    }
  }

  /** Parses {@code I/N}, e.g. {@code 0/4} for the first of four parts. */
  public static Shard parse(String text) {
    String[] parts = text.trim().split("/", -1);
    if (parts.length != 2) {
      throw new IllegalArgumentException("a shard is written I/N (e.g. 0/4), got '" + text + "'");
    }
    try {
      return new Shard(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("a shard is written I/N with whole numbers (e.g. 0/4), "
          + "got '" + text + "'", e);
    }
  }

  /** The first item of this part among {@code size}. */
  public int from(int size) {
    return (int) ((long) index * size / count);
  }

  /** One past the last item of this part among {@code size}. */
  public int to(int size) {
    return (int) ((long) (index + 1) * size / count);
  }

  /** This part of {@code items}, a view in their order. */
  public <T> List<T> of(List<T> items) {
    return items.subList(from(items.size()), to(items.size()));
  }

  @Override
  public String toString() {
    return index + "/" + count;
  }
}

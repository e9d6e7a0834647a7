package dev.vidtag.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The 200 official categories, the one source of truth for ids and indices: the lv2 index is a
 * category's position in the sorted id list, the lv1 index its group (the first two digits),
 * numbered in order of appearance (23 groups).
 */
public final class CategoryMap {
  private static final String RESOURCE = "/dev/vidtag/data/category_ids.tsv";
  private static final CategoryMap OFFICIAL = load();

  private final List<String> ids;
  private final int[] lv1OfLv2;
  private final Map<String, Integer> lv2ById;
  private final int lv1Count;

  private CategoryMap(List<String> ids, int[] lv1OfLv2) {
    this.ids = List.copyOf(ids);
    this.lv1OfLv2 = lv1OfLv2;
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < ids.size(); i++) {
      index.put(ids.get(i), i);
    }
    this.lv2ById = Collections.unmodifiableMap(index);
    int max = -1;
    for (int lv1 : lv1OfLv2) {
      max = Math.max(max, lv1);
    }
    this.lv1Count = max + 1;
  }

  /** The official competition categories. */
  public static CategoryMap official() {
    return OFFICIAL;
  }

  /** Number of lv2 categories (200). */
  public int size() {
    return ids.size();
  }

  /** Number of lv1 groups (23). */
  public int lv1Count() {
    return lv1Count;
  }

  /** The 4-character category id of an lv2 index. */
  public String categoryId(int lv2Index) {
    return ids.get(lv2Index);
  }

  /** The lv2 index of a category id, empty when the id is not an official one. */
  public OptionalInt lv2Index(String categoryId) {
    Integer index = lv2ById.get(categoryId);
    return index == null ? OptionalInt.empty() : OptionalInt.of(index);
  }

  /**
   * The lv2 index of a labeled video's category.
   *
   * @throws IllegalArgumentException when the video has no category or an unknown one
   */
  public int lv2Of(VideoAnnotation video) {
    String id = video.categoryId().orElseThrow(() -> new IllegalArgumentException("video "
        + video.id() + " has no category"));
    return lv2Index(id).orElseThrow(() -> new IllegalArgumentException("video " + video.id()
        + ": '" + id + "' is not one of the " + size() + " categories"));
  }

  /** The labeled videos of each lv2 class. */
  public int[] lv2Counts(List<VideoAnnotation> videos) {
    int[] counts = new int[size()];
    for (VideoAnnotation video : videos) {
      counts[lv2Of(video)]++;
    }
    return counts;
  }

  public boolean contains(String categoryId) {
    return lv2ById.containsKey(categoryId);
  }

  public int lv1Index(int lv2Index) {
    return lv1OfLv2[lv2Index];
  }

  /** All ids in lv2 order. */
  public List<String> ids() {
    return ids;
  }

  private static CategoryMap load() {
    try (InputStream in = CategoryMap.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + RESOURCE);
      }
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      List<String> ids = new ArrayList<>();
      List<Integer> lv1 = new ArrayList<>();
      String header = reader.readLine();
      if (header == null || !header.startsWith("category_id\tlv1_id\tlv2_index")) {
        throw new IllegalStateException(RESOURCE + ": unexpected header " + header);
      }
      String line;
      while ((line = reader.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        String[] fields = line.split("\t");
        if (fields.length != 3 || Integer.parseInt(fields[2]) != ids.size()) {
          throw new IllegalStateException(RESOURCE + ": malformed line '" + line + "'");
        }
        ids.add(fields[0]);
        lv1.add(Integer.parseInt(fields[1]));
      }
      int[] lv1OfLv2 = lv1.stream().mapToInt(Integer::intValue).toArray();
      return new CategoryMap(ids, lv1OfLv2);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

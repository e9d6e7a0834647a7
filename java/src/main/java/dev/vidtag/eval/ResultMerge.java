package dev.vidtag.eval;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.io.DataException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The result files of a split's shards ({@code vidtag predict --shard I/N}) as one: every video
 * of the split present in exactly one part, in the split's annotation order. A video in two
 * parts, a video the split does not have, and videos in no part are errors, since a submission
 * missing predictions or holding another split's would be scored as if complete.
 */
public final class ResultMerge {
  private static final int MISSING_IDS_SHOWN = 5;

  private ResultMerge() {}

  /** The merged entries, in the order of {@code splitIds}. */
  public static List<ResultFile.Entry> merge(List<Path> parts, List<String> splitIds,
      String split, CategoryMap categories) {
    if (parts.isEmpty()) {
      throw new IllegalArgumentException("no result files to merge");
    }
    Set<String> expected = new HashSet<>(splitIds);
    Map<String, ResultFile.Entry> entries = new HashMap<>();
    Map<String, Path> sources = new HashMap<>();
    for (Path part : parts) {
      for (ResultFile.Entry entry : ResultFile.read(part, categories)) {
        String id = entry.videoId();
        if (!expected.contains(id)) {
          throw DataException.at(part, "video " + id, null, "not a video of split " + split);
        }
        Path earlier = sources.putIfAbsent(id, part);
        if (earlier != null) {
          throw DataException.at(part, "video " + id, null, "also predicted in " + earlier
              + ": the parts overlap");
        }
        entries.put(id, entry);
      }
    }
    if (entries.size() < splitIds.size()) {
      List<String> missing = splitIds.stream().filter(id -> !entries.containsKey(id)).toList();
      throw new IllegalArgumentException(missing.size() + " of the " + splitIds.size()
          + " videos of split " + split + " are in none of the " + parts.size() + " parts, e.g. "
          + missing.stream().limit(MISSING_IDS_SHOWN).collect(Collectors.joining(", ")));
    }
    return splitIds.stream().map(entries::get).toList();
  }
}

package dev.vidtag.infer.budget;

import dev.vidtag.infer.Precision;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * What a budgeted prediction may trade for time: precisions, frame limits and how many of the
 * best-ranked members run. Each list is best first and holds no duplicates.
 */
public record Allowance(List<Precision> precisions, List<Integer> frameLimits,
    List<Integer> memberCounts) {

  public Allowance {
    precisions = precisions.stream().distinct().sorted().toList();
    frameLimits = frameLimits.stream().distinct().sorted(Comparator.reverseOrder()).toList();
    memberCounts = memberCounts.stream().distinct().sorted(Comparator.reverseOrder()).toList();
    if (precisions.isEmpty() || frameLimits.isEmpty() || memberCounts.isEmpty()) {
      throw new IllegalArgumentException("an allowance needs at least one precision, frame limit "
          + "and member count");
    }
  }

  /**
   * Parses {@code key=value,value} items: {@code precision=fp32,bf16,int8},
   * {@code frames=trained,14,8} (frame limits; {@code trained}: each model's own) and
   * {@code members=all,best,2} (how many of the best-ranked members). A key not given keeps its
   * default: the requested precision, plus int8 on the CPU when that is not the requested one
   * already; the trained frames; all members and the best one.
   *
   * @param ensembleSize the number of members of the ensemble
   * @param requested the precision asked for without a budget
   * @param onCpu whether int8 (CPU only) may be offered by default
   */
  public static Allowance parse(List<String> items, int ensembleSize, Precision requested,
      boolean onCpu) {
    Map<String, String> values = new LinkedHashMap<>();
    for (String item : items) {
      for (String part : item.trim().split("\\s+")) {
        if (part.isEmpty()) {
          continue;
        }
        int equals = part.indexOf('=');
        if (equals <= 0 || equals == part.length() - 1) {
          throw new IllegalArgumentException("'" + part + "' is not KEY=VALUE[,VALUE...] (keys: "
              + "precision, frames, members)");
        }
        String key = part.substring(0, equals).toLowerCase(Locale.ROOT);
        if (!List.of("precision", "frames", "members").contains(key)) {
          throw new IllegalArgumentException("unknown key '" + key + "' in '" + part
              + "': expected precision, frames or members");
        }
        if (values.put(key, part.substring(equals + 1)) != null) {
          throw new IllegalArgumentException("'" + key + "' is given twice");
        }
      }
    }
    List<Precision> precisions = new ArrayList<>();
    if (values.containsKey("precision")) {
      for (String v : values.get("precision").split(",")) {
        precisions.add(Precision.parse(v));
      }
    } else {
      precisions.add(requested);
      if (onCpu) {
        precisions.add(Precision.INT8);
      }
    }
    List<Integer> frames = new ArrayList<>();
    for (String v : values.getOrDefault("frames", "trained").split(",")) {
      frames.add(v.trim().equalsIgnoreCase("trained") ? Plan.TRAINED_FRAMES
          : positive("frames", v, Integer.MAX_VALUE));
    }
    TreeSet<Integer> counts = new TreeSet<>();
    for (String v : values.getOrDefault("members", "all,best").split(",")) {
      String name = v.trim().toLowerCase(Locale.ROOT);
      counts.add(name.equals("all") ? ensembleSize : name.equals("best") ? 1
          : positive("members", v, ensembleSize));
    }
    return new Allowance(precisions, frames, new ArrayList<>(counts));
  }

  private static int positive(String key, String value, int max) {
    int n;
    try {
      n = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " value '" + value + "' is not "
          + (key.equals("frames") ? "'trained' or a positive count" : "all, best or a count"));
    }
    if (n < 1 || n > max) {
      throw new IllegalArgumentException(key + " value '" + value + "' must be in [1, " + max
          + "]");
    }
    return n;
  }
}

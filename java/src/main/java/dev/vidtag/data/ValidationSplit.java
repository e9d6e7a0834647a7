package dev.vidtag.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.ToIntFunction;

/**
 * The labeled videos cut into a training part and a held-out validation part: one function of
 * (videos, ratio, seed), or of (videos, folds, fold, seed) for k-fold, so that training, SWA
 * scoring, the tail fit and the demo all hold out the same videos. Both parts keep the videos'
 * order.
 */
public record ValidationSplit(List<VideoAnnotation> training, List<VideoAnnotation> validation) {

  public ValidationSplit {
    training = List.copyOf(training);
    validation = List.copyOf(validation);
  }

  /**
   * A copy of {@code videos} shuffled by {@code seed} and cut at round(ratio * n): the first
   * part validates, the rest trains.
   */
  public static ValidationSplit of(List<VideoAnnotation> videos, double validationRatio,
      long seed) {
    requireRatio(validationRatio);
    List<VideoAnnotation> shuffled = new ArrayList<>(videos);
    Collections.shuffle(shuffled, new Random(seed));
    int held = (int) Math.round(validationRatio * videos.size());
    return new ValidationSplit(shuffled.subList(held, shuffled.size()),
        shuffled.subList(0, held));
  }

  /**
   * Fold {@code fold} (from 0) of {@code folds} stratified folds validates, the other folds train.
   * Each class's videos, shuffled by {@code seed}, are dealt to the folds in turn, the dealing
   * running on from one class to the next (classes in index order), so that every fold holds
   * within one video of every class's share and of the others' sizes, and the rare classes'
   * few videos spread over the folds instead of all landing in the first. A class with fewer
   * videos than folds is missing from some folds' validation ({@link #classesBelow} counts them).
   * Each video validates in exactly one fold of the same (folds, seed).
   */
  public static ValidationSplit fold(List<VideoAnnotation> videos, int folds, int fold, long seed,
      ToIntFunction<VideoAnnotation> classOf) {
    requireFold(folds, fold);
    TreeMap<Integer, List<VideoAnnotation>> byClass = new TreeMap<>();
    for (VideoAnnotation video : videos) {
      byClass.computeIfAbsent(classOf.applyAsInt(video), c -> new ArrayList<>()).add(video);
    }
    Random random = new Random(seed);
    Set<VideoAnnotation> held = Collections.newSetFromMap(new IdentityHashMap<>());
    int dealt = 0;
    for (List<VideoAnnotation> members : byClass.values()) {
      Collections.shuffle(members, random);
      for (VideoAnnotation video : members) {
        if (dealt++ % folds == fold) {
          held.add(video);
        }
      }
    }
    List<VideoAnnotation> training = new ArrayList<>();
    List<VideoAnnotation> validation = new ArrayList<>();
    for (VideoAnnotation video : videos) {
      (held.contains(video) ? validation : training).add(video);
    }
    return new ValidationSplit(training, validation);
  }

  /** How many classes have fewer videos than {@code folds}, so that some folds never see them. */
  public static int classesBelow(List<VideoAnnotation> videos, int folds,
      ToIntFunction<VideoAnnotation> classOf) {
    Map<Integer, Integer> counts = new HashMap<>();
    for (VideoAnnotation video : videos) {
      counts.merge(classOf.applyAsInt(video), 1, Integer::sum);
    }
    return (int) counts.values().stream().filter(count -> count < folds).count();
  }

  /** Refuses fewer than 2 folds or a fold outside them. */
  public static void requireFold(int folds, int fold) {
    if (folds < 2 || fold < 0 || fold >= folds) {
      throw new IllegalArgumentException("k-fold needs at least 2 folds and a fold from 0 to "
          + "folds - 1, got fold " + fold + " of " + folds);
    }
  }

  /** How many of {@code n} labeled videos train at this ratio. */
  public static int trainingCount(int n, double validationRatio) {
    requireRatio(validationRatio);
    return n - (int) Math.round(validationRatio * n);
  }

  private static void requireRatio(double ratio) {
    if (!(ratio > 0 && ratio < 1)) {
      throw new IllegalArgumentException("validation ratio must be in (0, 1), got " + ratio);
    }
  }
}

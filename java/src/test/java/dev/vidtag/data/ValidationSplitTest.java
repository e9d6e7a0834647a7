package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

class ValidationSplitTest {
  /** Class c has 40 / (c + 1) videos: a long tail down to classes of one and two. */
  static final List<VideoAnnotation> VIDEOS = new ArrayList<>();
  static final Map<String, Integer> CLASS = new HashMap<>();
  static final ToIntFunction<VideoAnnotation> CLASS_OF = v -> CLASS.get(v.id());

  static {
    int id = 0;
    for (int c = 0; c < 30; c++) {
      for (int i = 0; i < 40 / (c + 1); i++) {
        String name = "v" + id++;
        VIDEOS.add(new VideoAnnotation(name, "", "", List.of(), Optional.empty()));
        CLASS.put(name, c);
      }
    }
    java.util.Collections.shuffle(VIDEOS, new java.util.Random(1));
  }

  @Test
  void everyVideoValidatesInExactlyOneFoldAndTrainsInTheOthers() {
    int folds = 5;
    Set<String> validated = new HashSet<>();
    for (int fold = 0; fold < folds; fold++) {
      ValidationSplit split = ValidationSplit.fold(VIDEOS, folds, fold, 7, CLASS_OF);
      assertEquals(VIDEOS.size(), split.training().size() + split.validation().size());
      for (VideoAnnotation video : split.validation()) {
        assertTrue(validated.add(video.id()), video.id() + " validates in two folds");
      }
      Set<String> training = new HashSet<>();
      split.training().forEach(v -> training.add(v.id()));
      split.validation().forEach(v -> assertTrue(!training.contains(v.id())));
      // both parts keep the videos' order
      assertEquals(VIDEOS.stream().filter(split.validation()::contains).toList(),
          split.validation());
    }
    assertEquals(VIDEOS.size(), validated.size());
  }

  @Test
  void foldsHoldEveryClassesShareWithinOneAndSpreadTheRareOnes() {
    int folds = 5;
    Map<Integer, Integer> total = new HashMap<>();
    VIDEOS.forEach(v -> total.merge(CLASS_OF.applyAsInt(v), 1, Integer::sum));
    int smallest = Integer.MAX_VALUE;
    int largest = 0;
    Set<Integer> foldsWithASingleVideoClass = new HashSet<>();
    for (int fold = 0; fold < folds; fold++) {
      List<VideoAnnotation> validation = ValidationSplit.fold(VIDEOS, folds, fold, 7, CLASS_OF)
          .validation();
      smallest = Math.min(smallest, validation.size());
      largest = Math.max(largest, validation.size());
      Map<Integer, Integer> counts = new HashMap<>();
      validation.forEach(v -> counts.merge(CLASS_OF.applyAsInt(v), 1, Integer::sum));
      for (Map.Entry<Integer, Integer> e : total.entrySet()) {
        double share = e.getValue() / (double) folds;
        int held = counts.getOrDefault(e.getKey(), 0);
        assertTrue(Math.abs(held - share) < 1, "class " + e.getKey() + ": " + held
            + " in fold " + fold + " for a share of " + share);
        if (e.getValue() == 1 && held == 1) {
          foldsWithASingleVideoClass.add(fold);
        }
      }
    }
    assertTrue(largest - smallest <= 1, smallest + " to " + largest);
    // classes 20-29 have one video each (40 / 21 = 1 ... 40 / 30 = 1): dealt in turn, they land
    // in several folds, not all in the first
    assertTrue(foldsWithASingleVideoClass.size() >= 4, foldsWithASingleVideoClass.toString());
    // classes 8 to 29 have 1 to 4 videos (40 / 9 = 4 ... 40 / 30 = 1): fewer than five folds
    assertEquals(22, ValidationSplit.classesBelow(VIDEOS, folds, CLASS_OF));
  }

  @Test
  void theSeedChoosesTheFoldsAndBadFoldsAreRefused() {
    assertEquals(ValidationSplit.fold(VIDEOS, 4, 1, 3, CLASS_OF),
        ValidationSplit.fold(VIDEOS, 4, 1, 3, CLASS_OF));
    assertNotEquals(ValidationSplit.fold(VIDEOS, 4, 1, 3, CLASS_OF).validation(),
        ValidationSplit.fold(VIDEOS, 4, 1, 4, CLASS_OF).validation());
    assertThrows(IllegalArgumentException.class, () -> ValidationSplit.fold(VIDEOS, 1, 0, 3,
        CLASS_OF));
    assertThrows(IllegalArgumentException.class, () -> ValidationSplit.fold(VIDEOS, 4, 4, 3,
        CLASS_OF));
  }
}

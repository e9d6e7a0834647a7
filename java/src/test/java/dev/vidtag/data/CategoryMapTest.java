package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CategoryMapTest {
  private final CategoryMap categories = CategoryMap.official();

  @Test
  void hasTheOfficialCounts() {
    assertEquals(200, categories.size());
    assertEquals(23, categories.lv1Count());
  }

  @Test
  void indicesFollowTheSortedIdsAndTheirFirstTwoDigits() {
    for (int i = 0; i < categories.size(); i++) {
      String id = categories.categoryId(i);
      assertEquals(i, categories.lv2Index(id).getAsInt());
      if (i > 0) {
        assertTrue(categories.categoryId(i - 1).compareTo(id) < 0, "sorted at " + i);
      }
      int group = Integer.parseInt(id.substring(0, 2));
      int previousGroup = i == 0 ? -1 : Integer.parseInt(categories.categoryId(i - 1).substring(0, 2));
      int previousLv1 = i == 0 ? -1 : categories.lv1Index(i - 1);
      assertEquals(group == previousGroup ? previousLv1 : previousLv1 + 1, categories.lv1Index(i));
    }
    assertEquals("0000", categories.categoryId(0));
    assertEquals("2223", categories.categoryId(199));
    assertEquals(22, categories.lv1Index(199));
  }

  @Test
  void unknownIdsAreAbsent() {
    assertFalse(categories.contains("9999"));
    assertTrue(categories.lv2Index("0x00").isEmpty());
  }
}

package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ShardTest {
  @Test
  void tenItemsInThreeParts() {
    List<Integer> items = IntStream.range(0, 10).boxed().toList();
    assertEquals(List.of(0, 1, 2), new Shard(0, 3).of(items));
    assertEquals(List.of(3, 4, 5), new Shard(1, 3).of(items));
    assertEquals(List.of(6, 7, 8, 9), new Shard(2, 3).of(items));
    assertEquals(items, Shard.WHOLE.of(items));
  }

  @Test
  void thePartsCoverEveryItemOnceInOrder() {
    for (int size = 0; size <= 25; size++) {
      for (int count = 1; count <= 7; count++) {
        List<Integer> items = IntStream.range(0, size).boxed().toList();
        List<Integer> joined = new ArrayList<>();
        int smallest = Integer.MAX_VALUE;
        int largest = 0;
        for (int index = 0; index < count; index++) {
          List<Integer> part = new Shard(index, count).of(items);
          joined.addAll(part);
          smallest = Math.min(smallest, part.size());
          largest = Math.max(largest, part.size());
        }
        assertEquals(items, joined, size + " items in " + count + " parts");
        assertTrue(largest - smallest <= 1, size + " items in " + count + " parts");
      }
    }
  }

  @Test
  void parsesIndexOverCountAndRefusesTheRest() {
    assertEquals(new Shard(1, 4), Shard.parse("1/4"));
    assertEquals(new Shard(0, 1), Shard.parse(" 0 / 1 "));
    assertEquals("1/4", new Shard(1, 4).toString());
    for (String bad : new String[] {"4/4", "-1/4", "1/0", "1", "1/4/2", "a/4", ""}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Shard.parse(bad), bad);
      assertTrue(e.getMessage().contains("I/N"), e.getMessage());
    }
  }
}

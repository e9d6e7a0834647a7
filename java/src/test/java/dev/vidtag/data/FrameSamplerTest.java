package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class FrameSamplerTest {
  @Test
  void uniformRuleByHand() {
    FrameSampler sampler = new FrameSampler(4);
    // n = 10: step 10 / 4 = 2 -> 0 2 4 6 (the tail 8, 9 is never seen: the baseline's rule)
    assertArrayEquals(new int[] {0, 2, 4, 6}, sampler.uniform(10));
    // n = 5: step 1 -> the first four
    assertArrayEquals(new int[] {0, 1, 2, 3}, sampler.uniform(5));
    // n = 17: step 4 -> 0 4 8 12
    assertArrayEquals(new int[] {0, 4, 8, 12}, sampler.uniform(17));
    assertArrayEquals(new int[] {0, 1, 2}, sampler.uniform(3));
    assertArrayEquals(new int[] {}, sampler.uniform(0));
    // max 14 of 32 (the reference's fine-tuning setting): step 2 -> 0 2 ... 26
    int[] fourteen = new FrameSampler(14).uniform(32);
    assertEquals(14, fourteen.length);
    assertEquals(26, fourteen[13]);
  }

  @Test
  void randomSubsetIsSortedDistinctSizedAndSeeded() {
    FrameSampler sampler = new FrameSampler(8);
    int[] counts = new int[32];
    Random random = new Random(7);
    for (int trial = 0; trial < 2000; trial++) {
      int[] chosen = sampler.random(32, random);
      assertEquals(8, chosen.length);
      for (int i = 1; i < chosen.length; i++) {
        assertTrue(chosen[i - 1] < chosen[i], "sorted and distinct");
      }
      for (int index : chosen) {
        counts[index]++;
      }
    }
    assertArrayEquals(sampler.random(32, new Random(5)), sampler.random(32, new Random(5)));
    // every frame is drawn with probability 8 / 32: 500 of 2000 expected, sd about 19
    for (int count : counts) {
      assertTrue(Math.abs(count - 500) < 100, "frame drawn " + count + " times");
    }
    assertArrayEquals(new int[] {0, 1, 2}, sampler.random(3, new Random(1)));
  }

  @Test
  void maskMarksRealFrames() {
    assertArrayEquals(new byte[] {1, 1, 0, 0}, new FrameSampler(4).mask(2));
    assertThrows(IllegalArgumentException.class, () -> new FrameSampler(4).mask(5));
    assertThrows(IllegalArgumentException.class, () -> new FrameSampler(0));
  }
}

package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConcatenatedSourceTest {
  /** A source whose sample ids name the part, the index and the seed. */
  record Named(String name, int size) implements SampleSource {
    @Override
    public Sample sample(int index, long seed) {
      return new Sample(name + index + "@" + seed, new int[] {1},
          SampleFixtures.features(0, 0, 4, FrameFeatures.ElementType.FLOAT32), new int[0], -1);
    }
  }

  @Test
  void indicesRunThroughThePartsInOrderSkippingEmptyOnes() {
    ConcatenatedSource all = new ConcatenatedSource(List.of(new Named("a", 2), new Named("e", 0),
        new Named("b", 3), new Named("f", 0)));
    assertEquals(5, all.size());
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      ids.add(all.sample(i, 9).id());
    }
    assertEquals(List.of("a0@9", "a1@9", "b0@9", "b1@9", "b2@9"), ids);
    assertThrows(IndexOutOfBoundsException.class, () -> all.sample(5, 0));
    assertThrows(IllegalArgumentException.class, () -> new ConcatenatedSource(List.of()));
  }
}

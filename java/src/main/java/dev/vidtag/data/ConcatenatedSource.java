package dev.vidtag.data;

import java.util.Arrays;
import java.util.List;

/**
 * Several sources read as one, in order: index i of the whole is index i - offset of the part
 * that holds it (pretraining reads the unlabeled and the labeled split together).
 */
public final class ConcatenatedSource implements SampleSource {
  private final List<SampleSource> parts;
  private final int[] offsets;
  private final int size;

  public ConcatenatedSource(List<? extends SampleSource> parts) {
    if (parts.isEmpty()) {
      throw new IllegalArgumentException("no sources to concatenate");
    }
    this.parts = List.copyOf(parts);
    this.offsets = new int[parts.size()];
    long total = 0;
    for (int p = 0; p < parts.size(); p++) {
      offsets[p] = (int) total;
      total += parts.get(p).size();
    }
    if (total > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("more than " + Integer.MAX_VALUE + " samples");
    }
    this.size = (int) total;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public Sample sample(int index, long seed) {
    if (index < 0 || index >= size) {
      throw new IndexOutOfBoundsException("sample " + index + " of " + size);
    }
    int found = Arrays.binarySearch(offsets, index);
    // with empty parts several offsets are equal: take the last part that starts here
    int part = found >= 0 ? found : -found - 2;
    while (part + 1 < offsets.length && offsets[part + 1] == index) {
      part++;
    }
    return parts.get(part).sample(index - offsets[part], seed);
  }
}

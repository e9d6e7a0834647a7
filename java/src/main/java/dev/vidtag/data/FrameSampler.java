package dev.vidtag.data;

import java.util.Arrays;
import java.util.Random;

/**
 * Which of a video's frames the model sees, at most {@code maxFrames} of them, always in time
 * order. A video with no more frames than that keeps all of them; a longer one gets a random
 * subset in training and the official baseline's uniform rule in evaluation: step = n /
 * maxFrames (integer division), indices 0, step, 2 step, ... (the first maxFrames).
 */
public final class FrameSampler {
  private final int maxFrames;

  public FrameSampler(int maxFrames) {
    if (maxFrames <= 0) {
      throw new IllegalArgumentException("maxFrames must be positive: " + maxFrames);
    }
    this.maxFrames = maxFrames;
  }

  public int maxFrames() {
    return maxFrames;
  }

  /** The evaluation choice for a video of {@code frames} frames. */
  public int[] uniform(int frames) {
    requireFrames(frames);
    if (frames <= maxFrames) {
      return all(frames);
    }
    int step = frames / maxFrames;
    int[] chosen = new int[maxFrames];
    for (int i = 0; i < maxFrames; i++) {
      chosen[i] = i * step;
    }
    return chosen;
  }

  /** The training choice: {@code maxFrames} distinct frames drawn uniformly, sorted. */
  public int[] random(int frames, Random random) {
    requireFrames(frames);
    if (frames <= maxFrames) {
      return all(frames);
    }
    // partial Fisher-Yates: the first maxFrames slots become a uniform random subset
    int[] pool = all(frames);
    for (int i = 0; i < maxFrames; i++) {
      int j = i + random.nextInt(frames - i);
      int swap = pool[i];
      pool[i] = pool[j];
      pool[j] = swap;
    }
    int[] chosen = Arrays.copyOf(pool, maxFrames);
    Arrays.sort(chosen);
    return chosen;
  }

  /** 1 for the first {@code real} of {@code maxFrames} slots, 0 for the padding after them. */
  public byte[] mask(int real) {
    if (real < 0 || real > maxFrames) {
      throw new IllegalArgumentException("real frames " + real + " not in [0, " + maxFrames + "]");
    }
    byte[] mask = new byte[maxFrames];
    Arrays.fill(mask, 0, real, (byte) 1);
    return mask;
  }

  private static int[] all(int frames) {
    int[] indices = new int[frames];
    for (int i = 0; i < frames; i++) {
      indices[i] = i;
    }
    return indices;
  }

  private static void requireFrames(int frames) {
    if (frames < 0) {
      throw new IllegalArgumentException("negative frame count " + frames);
    }
  }
}

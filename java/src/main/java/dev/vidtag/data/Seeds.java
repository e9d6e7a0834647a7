package dev.vidtag.data;

/** Seeds derived from a run's seed, so that every random choice is repeatable on its own. */
public final class Seeds {
  private Seeds() {}

  /** A well-mixed seed for (seed, epoch, index) (SplitMix64's finalizer over each part). */
  public static long mix(long seed, long epoch, long index) {
    return splitMix(splitMix(splitMix(seed) ^ epoch) ^ index);
  }

  private static long splitMix(long x) {
    long z = x + 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}

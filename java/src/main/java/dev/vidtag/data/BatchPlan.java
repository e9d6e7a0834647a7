package dev.vidtag.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Which sample indices make up each batch of an epoch. A plan depends only on its arguments and
 * the epoch, never on timing, which is what makes the {@link Loader} repeatable.
 */
@FunctionalInterface
public interface BatchPlan {

  /** The batches of an epoch, in order; each holds sample indices. */
  List<int[]> batches(int epoch);

  /**
   * This plan as a run resumed at batch {@code batchesDone} of {@code epoch} continues it: that
   * epoch without its first {@code batchesDone} batches, later epochs whole.
   */
  default BatchPlan resumingAt(int epoch, int batchesDone) {
    if (batchesDone == 0) {
      return this;
    }
    return e -> {
      List<int[]> batches = batches(e);
      return e == epoch ? batches.subList(Math.min(batchesDone, batches.size()), batches.size())
          : batches;
    };
  }

  /** Every sample in index order (evaluation, prediction); the last batch may be smaller. */
  static BatchPlan inOrder(int size, int batchSize) {
    checkArguments(size, batchSize);
    List<int[]> batches = chunks(IntStream.range(0, size).toArray(), batchSize, false);
    return epoch -> batches;
  }

  /**
   * A new random order every epoch (from the seed and the epoch only), for training; with
   * {@code dropLast} an incomplete last batch is left out, so every step sees a full batch.
   */
  static BatchPlan shuffled(int size, int batchSize, long seed, boolean dropLast) {
    checkArguments(size, batchSize);
    return epoch -> {
      int[] order = IntStream.range(0, size).toArray();
      SplittableRandom random = new SplittableRandom(Seeds.mix(seed, epoch, -1));
      for (int i = order.length - 1; i > 0; i--) {
        int j = random.nextInt(i + 1);
        int swap = order[i];
        order[i] = order[j];
        order[j] = swap;
      }
      return chunks(order, batchSize, dropLast);
    };
  }

  /**
   * Index order cut into windows of {@code windowBatches} batches, each window sorted by text
   * length, longest first (stable), then cut into batches: with dynamic padding a batch then
   * holds texts of similar length and pads little, while the order stays close enough to the
   * annotation order that restoring it ({@link Batch#sampleIndices()}) needs only the window in
   * memory. Longest first, so that the largest batch of a window comes first.
   */
  static BatchPlan lengthBucketed(int[] textLengths, int batchSize, int windowBatches) {
    checkArguments(textLengths.length, batchSize);
    if (windowBatches < 1) {
      throw new IllegalArgumentException("a window holds at least 1 batch, got " + windowBatches);
    }
    int[] lengths = textLengths.clone();
    int window = batchSize * windowBatches;
    List<int[]> batches = new ArrayList<>();
    for (int start = 0; start < lengths.length; start += window) {
      int[] indices = IntStream.range(start, Math.min(start + window, lengths.length)).boxed()
          .sorted(Comparator.comparingInt((Integer i) -> lengths[i]).reversed())
          .mapToInt(Integer::intValue).toArray();
      batches.addAll(chunks(indices, batchSize, false));
    }
    List<int[]> fixed = List.copyOf(batches);
    return epoch -> fixed;
  }

  private static List<int[]> chunks(int[] order, int batchSize, boolean dropLast) {
    List<int[]> batches = new ArrayList<>();
    for (int start = 0; start < order.length; start += batchSize) {
      int end = Math.min(start + batchSize, order.length);
      if (dropLast && end - start < batchSize) {
        break;
      }
      batches.add(Arrays.copyOfRange(order, start, end));
    }
    return List.copyOf(batches);
  }

  private static void checkArguments(int size, int batchSize) {
    if (size < 0 || batchSize < 1) {
      throw new IllegalArgumentException("need size >= 0 and batch size >= 1, got " + size
          + " and " + batchSize);
    }
  }
}

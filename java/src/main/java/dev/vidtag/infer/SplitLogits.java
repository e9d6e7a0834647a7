package dev.vidtag.infer;

import dev.vidtag.data.NpyWriter;
import dev.vidtag.io.AtomicFiles;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One row of scores per video, in the videos' order (annotation order for a split): the fused
 * logits of a classifier, or those after a {@link TailAdjustment}.
 *
 * @param videoIds the videos, one per row
 * @param classes the number of columns
 * @param values row-major {@code [videos, classes]}; not copied, do not change
 */
public record SplitLogits(List<String> videoIds, int classes, float[] values) {

  public SplitLogits {
    videoIds = List.copyOf(videoIds);
    Objects.requireNonNull(values, "values");
    if (classes < 1 || (long) videoIds.size() * classes != values.length) {
      throw new IllegalArgumentException(values.length + " values for " + videoIds.size()
          + " videos of " + classes + " classes");
    }
  }

  public int size() {
    return videoIds.size();
  }

  /** A copy of row {@code i}. */
  public float[] row(int i) {
    return Arrays.copyOfRange(values, i * classes, (i + 1) * classes);
  }

  /** The index of each row's largest value (the first one on ties, as torch.argmax on CPU). */
  public int[] argmax() {
    int[] best = new int[size()];
    for (int i = 0; i < best.length; i++) {
      int offset = i * classes;
      int arg = 0;
      for (int c = 1; c < classes; c++) {
        if (values[offset + c] > values[offset + arg]) {
          arg = c;
        }
      }
      best[i] = arg;
    }
    return best;
  }

  /** Writes the values as a float32 {@code .npy} of shape {@code [videos, classes]}, atomically. */
  public void writeNpy(Path file) {
    byte[] bytes = NpyWriter.float32(values, size(), classes);
    AtomicFiles.write(file, out -> out.write(bytes));
  }
}

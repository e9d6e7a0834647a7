package dev.vidtag.data;

import java.util.Objects;
import java.util.stream.IntStream;

/**
 * One video ready to batch: its input ids (from the {@link TextRule}), its stored frame features
 * and the rows of them to use, in order (the frame sampler's choice; every row by default), and
 * its label.
 *
 * @param id the video id
 * @param inputIds BERT input ids, {@code [CLS]} first; not copied, do not change
 * @param frames all stored frame features of the video, {@code [F, D]}
 * @param frameRows the rows of {@code frames} to batch, in order, each in {@code [0, F)}
 * @param label the lv2 index, or -1 when unlabeled
 */
public record Sample(String id, int[] inputIds, FrameFeatures frames, int[] frameRows, int label) {

  public Sample {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(inputIds, "inputIds");
    Objects.requireNonNull(frames, "frames");
    Objects.requireNonNull(frameRows, "frameRows");
    for (int row : frameRows) {
      if (row < 0 || row >= frames.frames()) {
        throw new IllegalArgumentException("video " + id + ": frame row " + row
            + " outside the " + frames.frames() + " stored frames");
      }
    }
    if (label < -1) {
      throw new IllegalArgumentException("video " + id + ": label " + label
          + " is neither an lv2 index nor -1");
    }
  }

  /** A sample that uses every stored frame. */
  public static Sample of(String id, int[] inputIds, FrameFeatures frames, int label) {
    return new Sample(id, inputIds, frames, IntStream.range(0, frames.frames()).toArray(), label);
  }

  public int textLength() {
    return inputIds.length;
  }

  /** The number of frames batched (after sampling). */
  public int frameCount() {
    return frameRows.length;
  }
}

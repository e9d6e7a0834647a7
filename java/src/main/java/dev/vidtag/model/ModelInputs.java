package dev.vidtag.model;

import java.util.Objects;
import org.bytedeco.pytorch.Tensor;

/**
 * One batch as the models see it.
 *
 * @param textIds token ids [B, T], int64
 * @param textMask [B, T], bool or 0/1 of any numeric type: true/1 for real tokens
 * @param frames frame features [B, F, D], floating point
 * @param frameMask [B, F], bool or 0/1: true/1 for real frames
 */
public record ModelInputs(Tensor textIds, Tensor textMask, Tensor frames, Tensor frameMask) {
  public ModelInputs {
    Objects.requireNonNull(textIds, "textIds");
    Objects.requireNonNull(textMask, "textMask");
    Objects.requireNonNull(frames, "frames");
    Objects.requireNonNull(frameMask, "frameMask");
  }

  public long batchSize() {
    return textIds.size(0);
  }
}

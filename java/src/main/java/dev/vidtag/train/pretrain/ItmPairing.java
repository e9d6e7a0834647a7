package dev.vidtag.train.pretrain;

import java.util.SplittableRandom;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Image-text matching pairs for a batch: the first ceil(B/2) texts keep their own video's
 * frames, the last floor(B/2) get another video's frames, taken by rotating the batch by a
 * random offset in [1, B - 1] (never the text's own video, unlike reversing the half, which
 * leaves the middle row of an odd half in place).
 */
public final class ItmPairing {

  /**
   * @param frameSource per row, the batch row whose frames (and frame mask) it gets
   * @param matched per row, 1 when the frames are the text's own, else 0
   */
  public record Pairs(long[] frameSource, float[] matched) {
    public Tensor frameSourceTensor() {
      Tensor t = torch.empty(new long[] {frameSource.length}, new TensorOptions(ScalarType.Long),
          new MemoryFormatOptional());
      t.data_ptr_long().put(frameSource, 0, frameSource.length);
      return t;
    }

    public Tensor matchedTensor() {
      Tensor t = torch.empty(new long[] {matched.length}, new TensorOptions(ScalarType.Float),
          new MemoryFormatOptional());
      t.data_ptr_float().put(matched, 0, matched.length);
      return t;
    }
  }

  private ItmPairing() {}

  public static Pairs pair(int batchSize, SplittableRandom random) {
    if (batchSize < 2) {
      throw new IllegalArgumentException("image-text matching needs batches of at least 2, got "
          + batchSize);
    }
    int keep = batchSize - batchSize / 2;
    int offset = 1 + random.nextInt(batchSize - 1);
    long[] source = new long[batchSize];
    float[] matched = new float[batchSize];
    for (int i = 0; i < batchSize; i++) {
      source[i] = i < keep ? i : (i + offset) % batchSize;
      matched[i] = i < keep ? 1f : 0f;
    }
    return new Pairs(source, matched);
  }
}

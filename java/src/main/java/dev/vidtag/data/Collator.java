package dev.vidtag.data;

import dev.vidtag.io.DataException;
import dev.vidtag.runtime.TorchRuntime;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

/**
 * Turns samples into a {@link Batch} of CPU tensors without touching single elements in Java:
 * each sample's ids and each run of consecutive frame rows are bulk-copied straight into the
 * memory of a LibTorch tensor, float16 features become float32 in one LibTorch conversion of the
 * whole batch, and the masks come from the lengths by one comparison.
 *
 * <p>{@link Padding#FIXED} pads every batch to {@code maxText} tokens and {@code maxFrames}
 * frames, as the reference did (the unmasked mean pooling it used depends on the pad count);
 * {@link Padding#DYNAMIC} pads to the longest text and the most frames in the batch (at least 1
 * of each, so that tensors are never empty), which saves most of the attention cost at inference.
 */
public final class Collator {

  public enum Padding {
    FIXED,
    DYNAMIC
  }

  private final Padding padding;
  private final int maxText;
  private final int maxFrames;
  private final int padId;

  /**
   * @param maxText the most input ids a sample may have (the text rule's maximum length)
   * @param maxFrames the most frames a sample may have (after sampling)
   * @param padId the id that pads text (BERT: 0, {@link BertTokenizer#padId()})
   */
  public Collator(Padding padding, int maxText, int maxFrames, int padId) {
    if (maxText < 1 || maxFrames < 1) {
      throw new IllegalArgumentException("max text and max frames must be at least 1, got "
          + maxText + " and " + maxFrames);
    }
    this.padding = padding;
    this.maxText = maxText;
    this.maxFrames = maxFrames;
    this.padId = padId;
  }

  public Padding padding() {
    return padding;
  }

  public int maxText() {
    return maxText;
  }

  public int maxFrames() {
    return maxFrames;
  }

  /**
   * The batch of these samples; {@code sampleIndices[i]} is sample i's index in its source.
   *
   * @throws DataException when a sample is longer than the limits or its features do not match
   *     the others' width or element type
   */
  public Batch collate(List<Sample> samples, int[] sampleIndices) {
    TorchRuntime.initialize();
    int batchSize = samples.size();
    if (batchSize == 0) {
      throw new IllegalArgumentException("cannot collate an empty batch");
    }
    if (sampleIndices.length != batchSize) {
      throw new IllegalArgumentException(sampleIndices.length + " indices for " + batchSize
          + " samples");
    }
    int[] textLengths = new int[batchSize];
    int[] frameCounts = new int[batchSize];
    int[] labels = new int[batchSize];
    List<String> ids = new ArrayList<>(batchSize);
    int longestText = 1;
    int mostFrames = 1;
    int dim = samples.get(0).frames().dim();
    FrameFeatures.ElementType type = null;
    for (int i = 0; i < batchSize; i++) {
      Sample sample = samples.get(i);
      textLengths[i] = sample.textLength();
      frameCounts[i] = sample.frameCount();
      labels[i] = sample.label();
      ids.add(sample.id());
      if (sample.textLength() > maxText) {
        throw DataException.at(null, sample.id(), "input ids", sample.textLength()
            + " ids, more than the maximum text length " + maxText);
      }
      if (sample.frameCount() > maxFrames) {
        throw DataException.at(null, sample.id(), "frames", sample.frameCount()
            + " frames, more than the maximum of " + maxFrames + " (sample them first)");
      }
      if (sample.frames().dim() != dim) {
        throw DataException.at(null, sample.id(), "frames", "feature width "
            + sample.frames().dim() + ", but " + samples.get(0).id() + " has " + dim);
      }
      if (sample.frameCount() > 0) {
        if (type == null) {
          type = sample.frames().type();
        } else if (sample.frames().type() != type) {
          throw DataException.at(null, sample.id(), "frames", "features are "
              + sample.frames().type() + " but earlier ones in the batch are " + type);
        }
      }
      longestText = Math.max(longestText, sample.textLength());
      mostFrames = Math.max(mostFrames, sample.frameCount());
    }
    int textSlots = padding == Padding.FIXED ? maxText : longestText;
    int frameSlots = padding == Padding.FIXED ? maxFrames : mostFrames;
    if (type == null) {
      type = FrameFeatures.ElementType.FLOAT32;
    }

    try (PointerScope scope = new PointerScope()) {
      Tensor textIds = intMatrix(samples, textSlots).to(ScalarType.Long);
      Tensor textMask = lengthMask(textLengths, textSlots);
      Tensor frames = frameTensor(samples, frameSlots, dim, type);
      Tensor frameMask = lengthMask(frameCounts, frameSlots);
      Tensor labelTensor = intVector(labels).to(ScalarType.Long);
      return new Batch(textIds.retainReference(), textMask.retainReference(),
          frames.retainReference(), frameMask.retainReference(), labelTensor.retainReference(),
          ids, sampleIndices.clone(), textLengths, frameCounts);
    }
  }

  /** {@code [B, slots]} int32: each sample's ids in its row, the rest {@code padId}. */
  private Tensor intMatrix(List<Sample> samples, int slots) {
    Tensor matrix = torch.full(new long[] {samples.size(), slots}, new Scalar(padId),
        new TensorOptions(ScalarType.Int));
    IntPointer data = matrix.data_ptr_int();
    for (int i = 0; i < samples.size(); i++) {
      int[] row = samples.get(i).inputIds();
      data.position((long) i * slots).put(row, 0, row.length);
    }
    return matrix;
  }

  private static Tensor intVector(int[] values) {
    Tensor vector = torch.empty(new long[] {values.length}, new TensorOptions(ScalarType.Int),
        new MemoryFormatOptional());
    vector.data_ptr_int().put(values, 0, values.length);
    return vector;
  }

  /** {@code [B, slots]} bool, true where the position is below the row's length. */
  private static Tensor lengthMask(int[] lengths, int slots) {
    Tensor positions = torch.arange(new Scalar((long) slots), new TensorOptions(ScalarType.Int));
    return positions.unsqueeze(0).lt(intVector(lengths).unsqueeze(1));
  }

  /** {@code [B, slots, dim]} float32, the selected rows of each sample, zeros after them. */
  private static Tensor frameTensor(List<Sample> samples, int slots, int dim,
      FrameFeatures.ElementType type) {
    ScalarType stored = type == FrameFeatures.ElementType.FLOAT16 ? ScalarType.Half
        : ScalarType.Float;
    Tensor raw = torch.zeros(new long[] {samples.size(), slots, dim}, new TensorOptions(stored));
    long rowBytes = (long) dim * type.bytes;
    long total = (long) samples.size() * slots * rowBytes;
    ByteBuffer target = new BytePointer(raw.data_ptr()).capacity(total).limit(total)
        .asByteBuffer();
    for (int i = 0; i < samples.size(); i++) {
      Sample sample = samples.get(i);
      int[] rows = sample.frameRows();
      ByteBuffer source = sample.frames().data().duplicate();
      int slot = 0;
      while (slot < rows.length) {
        // copy each run of consecutive stored rows in one piece
        int run = 1;
        while (slot + run < rows.length && rows[slot + run] == rows[slot] + run) {
          run++;
        }
        int from = (int) (rows[slot] * rowBytes);
        source.limit(from + (int) (run * rowBytes)).position(from);
        target.position((int) (((long) i * slots + slot) * rowBytes));
        target.put(source);
        slot += run;
      }
    }
    return stored == ScalarType.Float ? raw : raw.to(ScalarType.Float);
  }
}

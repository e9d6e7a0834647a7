package dev.vidtag.data;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * A collated batch on the CPU. It owns its tensors: they stay valid, whatever pointer scope is
 * open, until {@link #close()} releases them (the consumer closes every batch it takes, for
 * example with try-with-resources; closing twice is harmless). Token type ids are all 0 and are
 * not included.
 *
 * <ul>
 *   <li>{@code textIds} {@code [B, T]} int64, padded with the tokenizer's pad id
 *   <li>{@code textMask} {@code [B, T]} bool, true at real tokens
 *   <li>{@code frames} {@code [B, F, D]} float32, zeros at padded frames
 *   <li>{@code frameMask} {@code [B, F]} bool, true at real frames
 *   <li>{@code labels} {@code [B]} int64, the lv2 index or -1
 * </ul>
 *
 * {@code sampleIndices} are the samples' positions in their source, so that predictions made
 * in another order (length-bucketed inference) can be put back in annotation order.
 */
public final class Batch implements AutoCloseable {
  private final Tensor textIds;
  private final Tensor textMask;
  private final Tensor frames;
  private final Tensor frameMask;
  private final Tensor labels;
  private final List<String> videoIds;
  private final int[] sampleIndices;
  private final int[] textLengths;
  private final int[] frameCounts;
  private boolean closed;

  /** Takes ownership of one reference to each tensor (see {@link Collator}). */
  Batch(Tensor textIds, Tensor textMask, Tensor frames, Tensor frameMask, Tensor labels,
      List<String> videoIds, int[] sampleIndices, int[] textLengths, int[] frameCounts) {
    this.textIds = textIds;
    this.textMask = textMask;
    this.frames = frames;
    this.frameMask = frameMask;
    this.labels = labels;
    this.videoIds = List.copyOf(videoIds);
    this.sampleIndices = sampleIndices;
    this.textLengths = textLengths;
    this.frameCounts = frameCounts;
  }

  public int size() {
    return videoIds.size();
  }

  public Tensor textIds() {
    return live(textIds);
  }

  public Tensor textMask() {
    return live(textMask);
  }

  public Tensor frames() {
    return live(frames);
  }

  public Tensor frameMask() {
    return live(frameMask);
  }

  public Tensor labels() {
    return live(labels);
  }

  public List<String> videoIds() {
    return videoIds;
  }

  /** Each sample's index in its {@link SampleSource}. */
  public int[] sampleIndices() {
    return sampleIndices.clone();
  }

  public int[] textLengths() {
    return textLengths.clone();
  }

  public int[] frameCounts() {
    return frameCounts.clone();
  }

  public synchronized boolean isClosed() {
    return closed;
  }

  private synchronized Tensor live(Tensor tensor) {
    if (closed) {
      throw new IllegalStateException("batch already closed");
    }
    return tensor;
  }

  /** Releases the tensors (their memory is freed unless someone else retained them). */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Tensor tensor : new Tensor[] {textIds, textMask, frames, frameMask, labels}) {
      tensor.releaseReference();
    }
  }
}

package dev.vidtag.train.pretrain;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A ring of the last {@code size} momentum features [size, E], L2-normalised, the extra
 * negatives of the contrastive loss (ALBEF's queues). It starts with random unit vectors, as
 * ALBEF's does. Features and write position are buffers of the owning module
 * ({@code <name>} and {@code <name>_ptr}), so a checkpoint holds them.
 */
public final class FeatureQueue {
  private final Tensor features;
  private final Tensor pointer;
  private final int size;

  FeatureQueue(Module owner, String name, int size, int width) {
    if (size < 1 || width < 1) {
      throw new IllegalArgumentException("queue size and width must be >= 1, got " + size
          + " and " + width);
    }
    this.size = size;
    Tensor initial = PretrainingLosses.normalize(
        torch.randn(new long[] {size, width}, new TensorOptions(ScalarType.Float)));
    // handles of their own: a registration returns a reference into the module's dictionary,
    // which later registrations may move
    this.features = new Tensor(owner.register_buffer(name, initial));
    this.pointer = new Tensor(owner.register_buffer(name + "_ptr",
        torch.zeros(new long[] {1}, new TensorOptions(ScalarType.Long))));
  }

  public int size() {
    return size;
  }

  /** The queued features [size, E] (a live view: copy before the next enqueue if kept). */
  public Tensor features() {
    return features;
  }

  /** The row the next feature is written to. */
  public long position() {
    return pointer.item_long();
  }

  /** The batch's features [B, E] first, then the queue's: [B + size, E]. */
  public Tensor withQueued(Tensor batch) {
    return torch.cat(new TensorVector(batch, features), 0);
  }

  /** Writes features [B, E] (B <= size) at the position, wrapping around; moves it by B. */
  public void enqueue(Tensor batch) {
    long rows = batch.size(0);
    if (rows > size) {
      throw new IllegalArgumentException("a batch of " + rows + " does not fit a queue of "
          + size);
    }
    try (NoGradGuard noGrad = new NoGradGuard()) {
      long start = position();
      Tensor index = torch.arange(new Scalar(rows), new TensorOptions(ScalarType.Long))
          .add(new Scalar(start)).remainder(new Scalar((long) size));
      features.index_copy_(0, index, batch.detach().to(features.scalar_type()));
      pointer.fill_(new Scalar((start + rows) % size));
    }
  }
}

package dev.vidtag.infer.budget;

import dev.vidtag.data.FrameFeatureSource;
import dev.vidtag.data.FrameFeatures;
import dev.vidtag.data.FrameSampler;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Another source's frame features with at most {@code maxFrames} frames per video, chosen by the
 * evaluation rule (uniform). A model whose own max_frames is larger then reads exactly these;
 * this is how a plan lowers the frames without a change to the models' input pipelines. Does
 * not own the source: closing it leaves the source open.
 */
final class FrameLimitedFeatures implements FrameFeatureSource {
  private final FrameFeatureSource source;
  private final FrameSampler sampler;

  FrameLimitedFeatures(FrameFeatureSource source, int maxFrames) {
    this.source = source;
    this.sampler = new FrameSampler(maxFrames);
  }

  @Override
  public int dim() {
    return source.dim();
  }

  @Override
  public FrameFeatures read(String videoId) {
    FrameFeatures all = source.read(videoId);
    if (all.frames() <= sampler.maxFrames()) {
      return all;
    }
    int rowBytes = all.dim() * all.type().bytes;
    int[] chosen = sampler.uniform(all.frames());
    ByteBuffer kept = ByteBuffer.allocate(chosen.length * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
    for (int frame : chosen) {
      kept.put(all.data().slice(frame * rowBytes, rowBytes));
    }
    kept.flip();
    return new FrameFeatures(kept, all.type(), chosen.length, all.dim());
  }

  @Override
  public void close() {
    // the source belongs to the caller
  }
}

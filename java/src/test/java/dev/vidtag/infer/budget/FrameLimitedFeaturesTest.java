package dev.vidtag.infer.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vidtag.data.FrameFeatureSource;
import dev.vidtag.data.FrameFeatures;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class FrameLimitedFeaturesTest {
  /** Videos whose frame f holds the values f*10 + d, float32, width 3; "v<n>" has n frames. */
  static final class Numbered implements FrameFeatureSource {
    @Override
    public int dim() {
      return 3;
    }

    @Override
    public FrameFeatures read(String videoId) {
      int frames = Integer.parseInt(videoId.substring(1));
      ByteBuffer b = ByteBuffer.allocate(frames * 3 * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (int f = 0; f < frames; f++) {
        for (int d = 0; d < 3; d++) {
          b.putFloat(f * 10 + d);
        }
      }
      b.flip();
      return new FrameFeatures(b, FrameFeatures.ElementType.FLOAT32, frames, 3);
    }

    @Override
    public void close() {}
  }

  @Test
  void longVideosKeepTheUniformChoiceAndShortOnesAreUntouched() {
    FrameLimitedFeatures limited = new FrameLimitedFeatures(new Numbered(), 4);
    FrameFeatures ten = limited.read("v10");
    assertEquals(4, ten.frames());
    assertEquals(3, ten.dim());
    // step 10 / 4 = 2: frames 0, 2, 4, 6
    int[] expected = {0, 2, 4, 6};
    for (int i = 0; i < 4; i++) {
      for (int d = 0; d < 3; d++) {
        assertEquals(expected[i] * 10 + d, ten.data().getFloat((i * 3 + d) * 4));
      }
    }
    assertEquals(3, limited.read("v3").frames());
    assertEquals(0, limited.read("v0").frames());
    FrameLimitedFeatures generous = new FrameLimitedFeatures(new Numbered(), 16);
    assertEquals(10, generous.read("v10").frames());
    assertEquals(3, generous.dim());
  }
}

package dev.vidtag.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.FramePipeline;
import dev.vidtag.io.DataException;
import dev.vidtag.model.ClipConfig;
import dev.vidtag.model.ClipVisionTransformer;
import dev.vidtag.model.FramePreprocessing;
import dev.vidtag.model.FramePreprocessing.Normalization;
import dev.vidtag.model.FramePreprocessing.Resize;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class FrameFeatureExtractorTest {
  static final Path JPG = Path.of("src/test/fixtures/clip/frame_0.jpg");
  static ClipVisionTransformer tower;

  @BeforeAll
  static void build() {
    TorchRuntime.initialize();
    torch.manual_seed(11);
    tower = new ClipVisionTransformer(new ClipConfig(32, 1, 2, 32, 224, 16));
    tower.eval();
  }

  /** CLIP's constants applied to the pixels directly, against the extractor's re-normalisation. */
  @Test
  void clipNormalisationIsAppliedExactly() throws IOException {
    byte[] jpeg = Files.readAllBytes(JPG);
    FrameFeatureExtractor extractor = new FrameFeatureExtractor(tower,
        new FramePreprocessing(Resize.SHORTER_256_CROP_224, Normalization.CLIP), 4, 2, false);
    float[] ours = extractor.encodeVideo(List.of(jpeg, jpeg, jpeg), JPG, new int[3]);
    assertEquals(3 * 16, ours.length);

    float[] pixels = new FramePipeline().decode(jpeg, JPG, null);
    double[] inMean = Normalization.IMAGENET.mean();
    double[] inStd = Normalization.IMAGENET.std();
    double[] outMean = Normalization.CLIP.mean();
    double[] outStd = Normalization.CLIP.std();
    int plane = 224 * 224;
    for (int i = 0; i < pixels.length; i++) {
      int c = i / plane;
      double raw = pixels[i] * inStd[c] + inMean[c]; // back to [0, 1]
      pixels[i] = (float) ((raw - outMean[c]) / outStd[c]);
    }
    float[] expected = new float[16];
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      tower.forward(Tensor.create(pixels).view(1, 3, 224, 224)).contiguous().data_ptr_float()
          .get(expected);
    }
    for (int frame = 0; frame < 3; frame++) {
      float[] row = Arrays.copyOfRange(ours, frame * 16, frame * 16 + 16);
      for (int i = 0; i < 16; i++) {
        assertEquals(expected[i], row[i], 1e-4 * Math.max(1, Math.abs(expected[i])),
            "frame " + frame + " value " + i);
      }
    }
  }

  @Test
  void aBadFrameStopsTheRunOrIsSkippedAndCounted() throws IOException {
    byte[] jpeg = Files.readAllBytes(JPG);
    byte[] truncated = Arrays.copyOf(jpeg, jpeg.length / 2);
    FramePreprocessing reference = FramePreprocessing.reference();
    DataException e = assertThrows(DataException.class,
        () -> new FrameFeatureExtractor(tower, reference, 4, 2, false)
            .encodeVideo(List.of(jpeg, truncated), JPG, new int[3]));
    assertTrue(e.getMessage().contains("frame_0.jpg") && e.getMessage().contains("frame 1"),
        e.getMessage());
    int[] counts = new int[3];
    float[] kept = new FrameFeatureExtractor(tower, reference, 4, 2, true)
        .encodeVideo(List.of(jpeg, truncated, jpeg), JPG, counts);
    assertEquals(2 * 16, kept.length);
    assertEquals(1, counts[2]);
  }
}

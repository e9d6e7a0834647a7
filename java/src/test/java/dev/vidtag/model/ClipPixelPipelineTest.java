package dev.vidtag.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.FramePipeline;
import dev.vidtag.model.weights.SafetensorsFile;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * JPG to features against the reference's preprocessing in Python (PIL bilinear resize, centre
 * crop, ImageNet normalisation) and the same tower in PyTorch: the decoders and resizers differ
 * (libjpeg-turbo and OpenCV here, PIL there), so the features are compared by cosine similarity.
 */
class ClipPixelPipelineTest {
  static final Path DIR = ClipParityTest.DIR;
  static final int FRAMES = 3;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  @Test
  void featuresFromJpgsMatchTheReferencePreprocessing() throws IOException {
    ClipCheckpoint checkpoint = ClipCheckpoint.read(DIR.resolve("tower224.safetensors"));
    ClipVisionTransformer tower = checkpoint.load(2);
    assertEquals(new ClipConfig(32, 1, 2, 16, 224, 16), tower.config());
    Tensor expected;
    try (SafetensorsFile f = SafetensorsFile.open(DIR.resolve("jpg_features.safetensors"))) {
      expected = f.loadAll().get("features");
    }
    FramePipeline pipeline = new FramePipeline();
    double sum = 0;
    double worst = 1;
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      for (int i = 0; i < FRAMES; i++) {
        Path jpg = DIR.resolve("frame_" + i + ".jpg");
        float[] pixels = pipeline.decode(Files.readAllBytes(jpg), jpg, null);
        Tensor ours = tower.forward(Tensor.create(pixels).view(1, 3, 224, 224)).view(-1);
        double cosine = torch.cosine_similarity(ours, expected.select(0, i), 0, 1e-8)
            .item_double();
        sum += cosine;
        worst = Math.min(worst, cosine);
      }
    }
    double mean = sum / FRAMES;
    assertTrue(mean >= 0.999, "mean cosine " + mean + ", worst " + worst);
  }
}

package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.cli.CommandLineRunner.Output;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.FrameArchive;
import dev.vidtag.data.FrameFeatures;
import dev.vidtag.data.FramePipeline;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.model.ClipConfig;
import dev.vidtag.model.ClipVisionTransformer;
import dev.vidtag.model.FrameEncoderDirectory;
import dev.vidtag.model.FramePreprocessing;
import dev.vidtag.runtime.TorchRuntime;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExtractFeaturesCommandTest {
  /** A random tower small enough for a test, at the pixel pipeline's 224-pixel input. */
  static final ClipConfig TINY_224 = new ClipConfig(32, 1, 2, 32, 224, 16);
  static final int MAX_FRAMES = 3;

  @TempDir Path dir;

  @Test
  void everyVideoGetsItsFirstFramesEncoded() throws java.io.IOException {
    TorchRuntime.initialize();
    Path data = dir.resolve("data");
    Output synth = CommandLineRunner.run("synth", "--out", data.toString(), "--labeled", "6",
        "--test", "0", "--feature-dim", "16", "--frames", "jpg", "--seed", "3");
    assertEquals(0, synth.exitCode(), synth.err());
    torch.manual_seed(5);
    ClipVisionTransformer tower = new ClipVisionTransformer(TINY_224);
    tower.eval();
    Path encoder = dir.resolve("encoder");
    FrameEncoderDirectory.save(encoder, tower, FramePreprocessing.reference(), "test");

    // a video whose frame zip is absent still gets an entry, with no rows
    Dataset dataset = Dataset.at(data);
    List<VideoAnnotation> videos = dataset.annotations("labeled", false);
    String withoutFrames = videos.get(0).id();
    Files.deleteIfExists(dataset.frameArchive("labeled", withoutFrames));

    Path out = dir.resolve("feats.zip");
    Output run = CommandLineRunner.run("extract-features", "--data", data.toString(), "--split",
        "labeled", "--frame-encoder", encoder.toString(), "--out", out.toString(),
        "--max-frames", Integer.toString(MAX_FRAMES), "--batch-size", "2");
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().contains("extracted 6 videos"), run.out());
    assertTrue(run.err().contains("ETA"), run.err());

    FramePipeline pipeline = new FramePipeline();
    try (ZipFeatureStore store = ZipFeatureStore.open(out, ZipFeatureStore.MissingPolicy.ERROR)) {
      assertEquals(6, store.ids().size());
      assertEquals(0, store.read(withoutFrames).frames());
      for (VideoAnnotation video : videos) {
        Path archive = dataset.frameArchive("labeled", video.id());
        List<byte[]> jpegs = Files.isRegularFile(archive) ? FrameArchive.readJpegs(archive)
            : List.of();
        int expectedFrames = Math.min(MAX_FRAMES, jpegs.size());
        FrameFeatures features = store.read(video.id());
        assertEquals(expectedFrames, features.frames(), video.id());
        assertEquals(FrameFeatures.ElementType.FLOAT16, features.type());
        if (expectedFrames == 0) {
          continue;
        }
        // the first frame through the same pipeline and tower, compared at float16 precision
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
          float[] pixels = pipeline.decode(jpegs.get(0), archive, "frame 0");
          Tensor direct = tower.forward(Tensor.create(pixels).view(1, 3, 224, 224));
          float[] expected = new float[TINY_224.outputDim()];
          direct.contiguous().data_ptr_float().get(expected);
          short[] half = new short[TINY_224.outputDim()];
          features.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(half);
          for (int i = 0; i < half.length; i++) {
            float got = dev.vidtag.data.Float16.toFloat(half[i]);
            assertEquals(expected[i], got, 2e-3 * Math.max(1, Math.abs(expected[i])),
                video.id() + " value " + i);
          }
        }
      }
    }
  }

  @Test
  void aTowerThePixelPipelineCannotFeedIsRefusedClearly() {
    Path data = dir.resolve("data");
    assertEquals(0, CommandLineRunner.run("synth", "--out", data.toString(), "--labeled", "2",
        "--test", "0", "--feature-dim", "16", "--frames", "jpg").exitCode());
    Path encoder = dir.resolve("encoder");
    FrameEncoderDirectory.save(encoder, new ClipVisionTransformer(new ClipConfig(32, 1, 2, 8,
        32, 16)), FramePreprocessing.reference(), "test");
    Output run = CommandLineRunner.run("extract-features", "--data", data.toString(), "--split",
        "labeled", "--frame-encoder", encoder.toString(), "--out", dir.resolve("f.zip").toString());
    assertNotEquals(0, run.exitCode());
    assertTrue(run.err().contains("224") && run.err().contains("32"), run.err());
    assertTrue(!Files.exists(dir.resolve("f.zip")));
  }
}

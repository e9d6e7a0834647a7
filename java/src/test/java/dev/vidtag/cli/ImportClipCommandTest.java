package dev.vidtag.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.cli.CommandLineRunner.Output;
import dev.vidtag.model.ClipConfig;
import dev.vidtag.model.ClipVisionTransformer;
import dev.vidtag.model.Fixtures;
import dev.vidtag.model.FrameEncoderDirectory;
import dev.vidtag.model.FramePreprocessing;
import dev.vidtag.model.weights.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImportClipCommandTest {
  static final Path CLIP = Path.of("src/test/fixtures/clip");

  @TempDir Path dir;

  @Test
  void writesAnEncoderDirectoryThatReproducesHuggingFace() throws IOException {
    Path out = dir.resolve("encoder");
    Output output = CommandLineRunner.run("import-clip", "--weights",
        CLIP.resolve("openai_traced_fp16.pt").toString(), "--out", out.toString(), "--heads", "2",
        "--normalize", "clip", "--resize", "square-224");
    assertEquals(0, output.exitCode(), output.err());
    assertTrue(output.out().contains("openai-torchscript") && output.out().contains("2 layers"),
        output.out());
    try (var files = Files.list(dir)) {
      assertEquals(1, files.count(), "no partial directory is left behind");
    }
    FrameEncoderDirectory.Config config = FrameEncoderDirectory.config(out);
    assertEquals(new ClipConfig(32, 2, 2, 8, 32, 16), config.clip());
    assertEquals(new FramePreprocessing(FramePreprocessing.Resize.SQUARE_224,
        FramePreprocessing.Normalization.CLIP), config.preprocessing());
    String json = Files.readString(out.resolve("config.json"));
    assertTrue(json.contains("\"mean\"") && json.contains("0.48145466"), json);

    ClipVisionTransformer tower = FrameEncoderDirectory.load(out);
    Map<String, Tensor> io;
    try (SafetensorsFile f = SafetensorsFile.open(CLIP.resolve("clip_io.safetensors"))) {
      io = f.loadAll();
    }
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      double error = Fixtures.relativeError(tower.forward(io.get("pixels")),
          io.get("image_embeds"));
      assertTrue(error < 1e-5, "relative error " + error);
    }
  }

  @Test
  void defaultsAreTheReferencesPreprocessing() {
    Path out = dir.resolve("encoder");
    Output output = CommandLineRunner.run("import-clip", "--weights",
        CLIP.resolve("chinese_clip.pt").toString(), "--out", out.toString(), "--heads", "2");
    assertEquals(0, output.exitCode(), output.err());
    assertTrue(output.out().contains("2 tensors outside the tower ignored"), output.out());
    assertEquals(FramePreprocessing.reference(), FrameEncoderDirectory.config(out).preprocessing());
  }

  @Test
  void failuresNameTheProblemAndWriteNothing() {
    Path out = dir.resolve("encoder");
    Output noHeads = CommandLineRunner.run("import-clip", "--weights",
        CLIP.resolve("hf_vision.safetensors").toString(), "--out", out.toString());
    assertNotEquals(0, noHeads.exitCode());
    assertTrue(noHeads.err().contains("--heads") && noHeads.err().contains("hf_vision"),
        noHeads.err());
    Output badRule = CommandLineRunner.run("import-clip", "--weights",
        CLIP.resolve("hf_vision.safetensors").toString(), "--out", out.toString(), "--heads",
        "2", "--normalize", "imagenet21k");
    assertNotEquals(0, badRule.exitCode());
    assertTrue(badRule.err().contains("imagenet|clip"), badRule.err());
    assertFalse(Files.exists(out));
  }
}

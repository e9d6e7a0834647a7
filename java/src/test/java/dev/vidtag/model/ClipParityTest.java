package dev.vidtag.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.model.weights.SafetensorsFile;
import dev.vidtag.model.weights.SafetensorsWriter;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.model.weights.WeightFormatException;
import dev.vidtag.runtime.TorchRuntime;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CLIP vision tower against Hugging Face's CLIPVisionModelWithProjection (fixtures written by
 * src/test/fixtures/clip/make_fixtures.py): the same weights read from each of the three
 * formats give the same image embeddings within 1e-5 relative in fp32.
 */
class ClipParityTest {
  static final Path DIR = Path.of("src/test/fixtures/clip");
  static final double FP32_TOLERANCE = 1e-5;
  /** make_fixtures.py: width 32 would mean 0 heads by OpenAI's rule, so the count is given. */
  static final int TINY_HEADS = 2;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  static Map<String, Tensor> io() {
    try (SafetensorsFile f = SafetensorsFile.open(DIR.resolve("clip_io.safetensors"))) {
      return f.loadAll();
    }
  }

  static double errorAgainstHuggingFace(ClipVisionTransformer tower) {
    Map<String, Tensor> io = io();
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor ours = tower.forward(io.get("pixels"));
      assertArrayEquals(StateDicts.shape(io.get("image_embeds")), StateDicts.shape(ours));
      return Fixtures.relativeError(ours, io.get("image_embeds"));
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "openai_scripted.pt, OPENAI_TORCHSCRIPT, 0",
      "openai_traced_fp16.pt, OPENAI_TORCHSCRIPT, 0",
      "hf_vision.safetensors, HUGGING_FACE, 0",
      "chinese_clip.pt, TORCH_SAVE, 2"})
  void everyFormatMatchesHuggingFace(String file, ClipCheckpoint.Format format, int ignored) {
    ClipCheckpoint checkpoint = ClipCheckpoint.read(DIR.resolve(file));
    assertEquals(format, checkpoint.format());
    assertEquals(ignored, checkpoint.ignoredTensors());
    ClipVisionTransformer tower = checkpoint.load(TINY_HEADS);
    assertEquals(new ClipConfig(32, 2, 2, 8, 32, 16), tower.config());
    double error = errorAgainstHuggingFace(tower);
    assertTrue(error < FP32_TOLERANCE, file + ": relative error " + error);
  }

  @Test
  void parameterNamesAreOpenAisVisualNames() {
    ClipVisionTransformer tower = new ClipVisionTransformer(new ClipConfig(32, 2, 2, 8, 32, 16));
    Set<String> ours = new TreeSet<>(StateDicts.of(tower).keySet());
    Set<String> theirs = new TreeSet<>(
        ClipCheckpoint.read(DIR.resolve("openai_scripted.pt")).tensors().keySet());
    assertEquals(theirs, ours);
    assertTrue(ours.contains("transformer.resblocks.1.attn.in_proj_weight"));
  }

  @Test
  void huggingFaceWithoutThePrefixLoadsToo(@TempDir Path tmp) {
    Map<String, Tensor> stripped = new LinkedHashMap<>();
    try (SafetensorsFile f = SafetensorsFile.open(DIR.resolve("hf_vision.safetensors"))) {
      f.loadAll().forEach((k, v) -> stripped.put(k.replace("vision_model.", ""), v));
    }
    Path file = tmp.resolve("model.safetensors");
    SafetensorsWriter.write(file, stripped, Map.of("format", "pt"));
    ClipCheckpoint checkpoint = ClipCheckpoint.read(file);
    assertEquals(ClipCheckpoint.Format.HUGGING_FACE, checkpoint.format());
    assertTrue(errorAgainstHuggingFace(checkpoint.load(TINY_HEADS)) < FP32_TOLERANCE);
  }

  @Test
  void headsComeFromAHuggingFaceConfigBesideTheWeights(@TempDir Path tmp) throws Exception {
    Path file = tmp.resolve("model.safetensors");
    java.nio.file.Files.copy(DIR.resolve("hf_vision.safetensors"), file);
    java.nio.file.Files.writeString(tmp.resolve("config.json"),
        "{\"model_type\": \"clip\", \"vision_config\": {\"num_attention_heads\": 2}}");
    ClipCheckpoint checkpoint = ClipCheckpoint.read(file);
    assertEquals(2, checkpoint.inferConfig(null).heads());
    assertTrue(errorAgainstHuggingFace(checkpoint.load(null)) < FP32_TOLERANCE);
  }

  @Test
  void openAiNamesInSafetensorsRoundTrip(@TempDir Path tmp) {
    ClipVisionTransformer tower = ClipCheckpoint.read(DIR.resolve("chinese_clip.pt"))
        .load(TINY_HEADS);
    Path file = tmp.resolve("model.safetensors");
    SafetensorsWriter.write(file, StateDicts.of(tower), Map.of("format", "pt"));
    ClipCheckpoint again = ClipCheckpoint.read(file);
    assertEquals(ClipCheckpoint.Format.SAFETENSORS, again.format());
    assertTrue(errorAgainstHuggingFace(again.load(TINY_HEADS)) < FP32_TOLERANCE);
  }

  @Test
  void headsDefaultToOpenAisRuleAndSayHowToOverrideIt() {
    ClipCheckpoint checkpoint = ClipCheckpoint.read(DIR.resolve("openai_scripted.pt"));
    WeightFormatException e = assertThrows(WeightFormatException.class,
        () -> checkpoint.inferConfig(null));
    assertTrue(e.getMessage().contains("--heads") && e.getMessage().contains("openai_scripted.pt"),
        e.getMessage());
  }

  /** A state dict of the tiny tower with one tensor changed by {@code edit}. */
  static Path editedCopy(Path tmp, java.util.function.Consumer<Map<String, Tensor>> edit) {
    Map<String, Tensor> tensors = new LinkedHashMap<>(
        ClipCheckpoint.read(DIR.resolve("chinese_clip.pt")).tensors());
    edit.accept(tensors);
    Path file = tmp.resolve("edited.safetensors");
    SafetensorsWriter.write(file, tensors, Map.of());
    return file;
  }

  @Test
  void aShapeMismatchNamesTheTensor(@TempDir Path tmp) {
    Path file = editedCopy(tmp, t -> t.put("ln_post.weight", torch.ones(31)));
    WeightFormatException e = assertThrows(WeightFormatException.class,
        () -> ClipCheckpoint.read(file).load(TINY_HEADS));
    assertTrue(e.getMessage().contains("ln_post.weight") && e.getMessage().contains("[31]"),
        e.getMessage());
  }

  @Test
  void missingAndUnknownTensorsAreNamed(@TempDir Path tmp) {
    Path file = editedCopy(tmp, t -> {
      t.remove("ln_pre.bias");
      t.put("transformer.resblocks.0.attn.mystery", torch.ones(2));
    });
    WeightFormatException e = assertThrows(WeightFormatException.class,
        () -> ClipCheckpoint.read(file).load(TINY_HEADS));
    assertTrue(e.getMessage().contains("missing: ln_pre.bias")
        && e.getMessage().contains("unexpected: transformer.resblocks.0.attn.mystery"),
        e.getMessage());
  }

  @Test
  void aFileThatIsNoClipTowerSaysWhichTensorItLacks() {
    WeightFormatException e = assertThrows(WeightFormatException.class,
        () -> ClipCheckpoint.read(Fixtures.file("single.safetensors")).inferConfig(2));
    assertTrue(e.getMessage().contains("conv1.weight"), e.getMessage());
  }

  /** ViT-B/16 at its real size with random weights: shapes right, output finite. */
  @Test
  void vitB16ShapesWithRandomWeights() {
    ClipVisionTransformer tower = new ClipVisionTransformer(ClipConfig.vitB16());
    tower.eval();
    assertEquals(197, ClipConfig.vitB16().tokens());
    Map<String, Tensor> params = StateDicts.of(tower);
    assertArrayEquals(new long[] {197, 768}, StateDicts.shape(params.get("positional_embedding")));
    assertArrayEquals(new long[] {768, 3, 16, 16}, StateDicts.shape(params.get("conv1.weight")));
    assertArrayEquals(new long[] {2304, 768},
        StateDicts.shape(params.get("transformer.resblocks.11.attn.in_proj_weight")));
    assertArrayEquals(new long[] {768, 512}, StateDicts.shape(params.get("proj")));
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor out = tower.forward(torch.randn(1, 3, 224, 224));
      assertArrayEquals(new long[] {1, 512}, StateDicts.shape(out));
      assertTrue(torch.isfinite(out).all().item_bool());
    }
  }
}

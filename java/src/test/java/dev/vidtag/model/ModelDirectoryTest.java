package dev.vidtag.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.cli.VidTag;
import dev.vidtag.io.DataException;
import dev.vidtag.model.weights.SafetensorsFile;
import dev.vidtag.model.weights.SafetensorsWriter;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.model.weights.WeightFormatException;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Model directories: save and load, errors naming file and field or tensor; vidtag import. */
class ModelDirectoryTest {
  @TempDir Path temp;

  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  @Test
  void savedDirectoryLoadsToTheSameModel() {
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(Architecture.DOUBLE,
        Pooling.MEAN_MASKED);
    Path dir = temp.resolve("model");
    ModelDirectory.save(dir, model, Fixtures.file("hf-bert"));
    assertTrue(Files.exists(dir.resolve("vocab.txt")));
    VideoClassifierModel loaded = ModelDirectory.load(dir);
    assertEquals(model.config(), loaded.config());
    Map<String, Tensor> before = StateDicts.of(model);
    Map<String, Tensor> after = StateDicts.of(loaded);
    assertEquals(before.keySet(), after.keySet());
    for (String name : before.keySet()) {
      assertTrue(before.get(name).equal(after.get(name)), name);
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"SINGLE", "DOUBLE"})
  void importedReferenceCheckpointReproducesPyTorchLogits(Architecture arch) {
    Path out = temp.resolve("imported-" + arch.configName());
    int code = VidTag.execute("import", "--state-dict",
        Fixtures.file(arch.configName() + ".bin").toString(), "--arch", arch.configName(),
        "--text-model", Fixtures.file("hf-bert-bin").toString(), "--out", out.toString(),
        "--max-frames", "5", "--max-text", "9", "--decoder-heads", "4", "--threads", "2");
    assertEquals(0, code);
    VideoClassifierModel model = ModelDirectory.load(out);
    assertEquals(Pooling.MEAN_ALL, model.config().pooling(), "imports default to mean_all");
    assertEquals(Fixtures.tinyConfig(arch, Pooling.MEAN_ALL), model.config());
    Map<String, Tensor> io = Fixtures.tensors(arch.configName() + "_io.safetensors");
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor logits = model.forward(Fixtures.inputs(io)).logits();
      double error = Fixtures.relativeError(logits, io.get("logits_mean_all"));
      assertTrue(error < ModelParityTest.FP32_TOLERANCE, "logits relative error " + error);
    }
  }

  @Test
  void importRefusesAHostileCheckpoint() throws IOException {
    Path hostile = temp.resolve("hostile.bin");
    try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(hostile))) {
      zip.putNextEntry(new java.util.zip.ZipEntry("archive/data.pkl"));
      zip.write(new byte[] {(byte) 0x80, 2, 'c', 'o', 's', '\n', 's', 'y', 's', 't', 'e', 'm',
          '\n', ')', 'R', '.'});
    }
    int code = VidTag.execute("import", "--state-dict", hostile.toString(), "--arch", "single",
        "--text-model", Fixtures.file("hf-bert-bin").toString(), "--out",
        temp.resolve("never").toString());
    assertEquals(1, code);
    assertTrue(!Files.exists(temp.resolve("never")));
  }

  @Test
  void importRejectsBadArgumentsAsUsageErrors() {
    String bin = Fixtures.file("single.bin").toString();
    String text = Fixtures.file("hf-bert-bin").toString();
    String out = temp.resolve("unused").toString();
    assertEquals(2, VidTag.execute("import", "--state-dict", bin, "--arch", "triple",
        "--text-model", text, "--out", out));
    assertEquals(2, VidTag.execute("import", "--state-dict", bin, "--arch", "single",
        "--text-model", text, "--out", out, "--pooling", "max"));
    assertEquals(2, VidTag.execute("import", "--state-dict", bin + ".absent", "--arch",
        "single", "--text-model", text, "--out", out));
    // a single-stream checkpoint is not a double-stream one
    assertEquals(1, VidTag.execute("import", "--state-dict", bin, "--arch", "double",
        "--text-model", text, "--out", out));
    // the tiny encoder is 32 wide: 5 decoder heads cannot split it, refused before anything is
    // written (a model directory that only failed at predict)
    assertEquals(2, VidTag.execute("import", "--state-dict", Fixtures.file("double.bin")
        .toString(), "--arch", "double", "--text-model", text, "--out", out, "--max-frames", "5",
        "--max-text", "9", "--decoder-heads", "5"));
    assertTrue(!Files.exists(Path.of(out)));
  }

  @Test
  void shapeMismatchNamesTheTensor() {
    Path dir = temp.resolve("mismatch");
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(Architecture.SINGLE,
        Pooling.MEAN_ALL);
    ModelDirectory.save(dir, model, null);
    ModelConfig other = new ModelConfig(Architecture.SINGLE, 11, 24, 5, 9, Pooling.MEAN_ALL, null,
        Fixtures.tinyBert());
    writeConfig(dir, other);
    WeightFormatException e = assertThrows(WeightFormatException.class,
        () -> ModelDirectory.load(dir));
    assertTrue(e.getMessage().contains("'classifier.weight'") && e.getMessage().contains(
        "shape [7, 32] does not match the model's [11, 32]"), e.getMessage());
  }

  @Test
  void missingAndUnexpectedTensorsAreNamed() {
    Path dir = temp.resolve("partial");
    VideoClassifierModel model = ModelParityTest.loadFixtureModel(Architecture.SINGLE,
        Pooling.MEAN_ALL);
    ModelDirectory.save(dir, model, null);
    Map<String, Tensor> tensors;
    try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(ModelDirectory.WEIGHTS))) {
      tensors = f.loadAll();
    }
    tensors.remove("video_fc.bias");
    tensors.put("extra.weight", tensors.get("classifier.bias"));
    SafetensorsWriter.write(dir.resolve(ModelDirectory.WEIGHTS), tensors, Map.of());
    WeightFormatException e = assertThrows(WeightFormatException.class,
        () -> ModelDirectory.load(dir));
    assertTrue(e.getMessage().contains("1 missing: video_fc.bias")
        && e.getMessage().contains("1 unexpected: extra.weight"), e.getMessage());
  }

  @Test
  void badConfigValuesNameFileAndField() throws IOException {
    Path dir = temp.resolve("bad");
    Files.createDirectories(dir);
    String good = Fixtures.tinyConfig(Architecture.DOUBLE, Pooling.MEAN_MASKED).toJsonString();
    assertConfigError(dir, good.replace("\"mean_masked\"", "\"max\""), "field 'pooling'");
    assertConfigError(dir, good.replace("\"arch\" : \"double\"", "\"arch\" : \"triple\""),
        "field 'arch'");
    assertConfigError(dir, good.replace("\"num_classes\" : 7", "\"num_classes\" : -7"),
        "field 'num_classes': must be positive");
    assertConfigError(dir, good.replace("\"hidden_size\" : 32", "\"hidden_size\" : \"32\""),
        "field 'text_encoder.hidden_size'");
    // unknown fields are ignored
    Files.writeString(dir.resolve("config.json"), good.replace("{", "{\"future\" : 1,"));
    assertEquals(Fixtures.tinyConfig(Architecture.DOUBLE, Pooling.MEAN_MASKED),
        ModelDirectory.config(dir));
  }

  private static void assertConfigError(Path dir, String json, String expected)
      throws IOException {
    Files.writeString(dir.resolve("config.json"), json);
    DataException e = assertThrows(DataException.class, () -> ModelDirectory.config(dir));
    assertTrue(e.getMessage().contains(expected)
        && e.getMessage().contains(dir.resolve("config.json").toString()), e.getMessage());
  }

  private static void writeConfig(Path dir, ModelConfig config) {
    try {
      Files.writeString(dir.resolve("config.json"), config.toJsonString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}

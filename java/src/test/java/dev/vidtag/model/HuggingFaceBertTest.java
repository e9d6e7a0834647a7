package dev.vidtag.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.model.weights.LoadReport;
import dev.vidtag.runtime.TorchRuntime;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hugging Face BERT directories initialise the encoder; its hidden states and pooled output then
 * match Hugging Face's BertModel within 1e-4 relative (fp32).
 */
class HuggingFaceBertTest {
  @BeforeAll
  static void startTorch() {
    TorchRuntime.initialize();
  }

  @Test
  void pretrainingDirectoryWithPrefixAndHeadsLoadsAndReportsTheMissingPooler() {
    BertConfig config = HuggingFaceBert.config(Fixtures.file("hf-bert"));
    assertEquals(Fixtures.tinyBert(), config);
    BertModel bert = new BertModel(config, true);
    LoadReport report = HuggingFaceBert.loadInto(bert, Fixtures.file("hf-bert"));
    assertEquals(List.of("pooler.dense.weight", "pooler.dense.bias"), report.missing());
    assertEquals(List.of(), report.unexpected(), "cls.* MLM head keys are ignored");
    assertHiddenStatesMatch(bert, false);
  }

  @Test
  void pytorchModelBinDirectoryLoadsCompletely() {
    BertModel bert = new BertModel(HuggingFaceBert.config(Fixtures.file("hf-bert-bin")), true);
    LoadReport report = HuggingFaceBert.loadInto(bert, Fixtures.file("hf-bert-bin"));
    assertTrue(report.complete(), report.describe());
    assertHiddenStatesMatch(bert, true);
  }

  @Test
  void anEncoderWithoutPoolerReportsThePoolerUnused() {
    BertModel bert = new BertModel(Fixtures.tinyBert(), false);
    LoadReport report = HuggingFaceBert.loadInto(bert, Fixtures.file("hf-bert-bin"));
    assertEquals(List.of(), report.missing());
    assertEquals(List.of("pooler.dense.weight", "pooler.dense.bias"), report.unexpected());
  }

  @Test
  void checkpointKeysMapToEncoderNames() {
    assertEquals("encoder.layer.0.output.dense.weight",
        HuggingFaceBert.encoderName("bert.encoder.layer.0.output.dense.weight"));
    assertEquals(null, HuggingFaceBert.encoderName("cls.predictions.bias"));
    assertEquals(null, HuggingFaceBert.encoderName("bert.embeddings.position_ids"));
    assertEquals("embeddings.LayerNorm.weight",
        HuggingFaceBert.encoderName("bert.embeddings.LayerNorm.gamma"));
  }

  private static void assertHiddenStatesMatch(BertModel bert, boolean checkPooler) {
    bert.eval();
    Map<String, Tensor> io = Fixtures.tensors("bert_io.safetensors");
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor hidden = bert.forward(io.get("text_ids"), io.get("text_mask"));
      double error = Fixtures.relativeError(hidden, io.get("hidden"));
      assertTrue(error < ModelParityTest.FP32_TOLERANCE, "hidden relative error " + error);
      if (checkPooler) {
        double pooled = Fixtures.relativeError(bert.pool(hidden), io.get("pooled"));
        assertTrue(pooled < ModelParityTest.FP32_TOLERANCE, "pooled relative error " + pooled);
      }
    }
  }
}

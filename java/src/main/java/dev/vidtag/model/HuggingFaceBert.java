package dev.vidtag.model;

import dev.vidtag.io.DataException;
import dev.vidtag.model.weights.LoadReport;
import dev.vidtag.model.weights.SafetensorsWriter;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.model.weights.WeightFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A Hugging Face BERT directory: {@code config.json}, {@code vocab.txt} and/or
 * {@code tokenizer.json}, and {@code model.safetensors} or {@code pytorch_model.bin}. Its weights
 * initialise a text encoder whether they were saved from BertModel (no prefix) or from a
 * pretraining model (a {@code bert.} prefix, plus MLM/NSP head keys under {@code cls.}, ignored).
 */
public final class HuggingFaceBert {
  static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "vocab.txt",
      "tokenizer_config.json", "special_tokens_map.json");

  private HuggingFaceBert() {}

  public static BertConfig config(Path dir) {
    Path config = dir.resolve("config.json");
    if (!Files.isRegularFile(config)) {
      throw DataException.at(dir, null, null, "not a Hugging Face model directory: no config.json");
    }
    return BertConfig.read(config);
  }

  public static Path weightsFile(Path dir) {
    for (String name : List.of("model.safetensors", "pytorch_model.bin")) {
      Path file = dir.resolve(name);
      if (Files.isRegularFile(file)) {
        return file;
      }
    }
    throw DataException.at(dir, null, null,
        "no model.safetensors or pytorch_model.bin (sharded checkpoints are not supported)");
  }

  /** The tokenizer files present, in the order the data pipeline prefers them. */
  public static List<Path> tokenizerFiles(Path dir) {
    List<Path> out = new ArrayList<>();
    for (String name : TOKENIZER_FILES) {
      if (Files.isRegularFile(dir.resolve(name))) {
        out.add(dir.resolve(name));
      }
    }
    return out;
  }

  /**
   * Loads the directory's weights into an encoder of the directory's config; the report names
   * the encoder's tensors that the file lacked (a pretraining checkpoint has no pooler) and the
   * file's tensors that were left unused.
   */
  public static LoadReport loadInto(BertModel bert, Path dir) {
    return WeightFiles.loadInto(bert, weightsFile(dir), HuggingFaceBert::encoderName);
  }

  /**
   * Writes {@code model.safetensors} for the BERT that the directory's {@code config.json}
   * describes, initialised as Hugging Face initialises a new BertModel: weights from
   * N(0, 0.02), biases 0, LayerNorm weights 1. Deterministic for a seed.
   */
  public static void writeRandomWeights(Path dir, long seed) {
    BertConfig config = config(dir);
    torch.manual_seed(seed);
    BertModel bert = new BertModel(config, true);
    Map<String, Tensor> tensors = StateDicts.parameters(bert);
    try (NoGradGuard noGrad = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> entry : tensors.entrySet()) {
        String name = entry.getKey();
        Tensor p = entry.getValue();
        if (name.endsWith("LayerNorm.weight")) {
          p.fill_(new Scalar(1.0));
        } else if (name.endsWith("bias")) {
          p.zero_();
        } else {
          p.normal_(0.0, 0.02, new GeneratorOptional());
        }
      }
      SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
    }
  }

  /** The encoder-relative name of a checkpoint key; null for keys that are never weights here. */
  static String encoderName(String key) {
    if (key.startsWith("cls.")) {
      return null; // pretraining heads
    }
    String name = key.startsWith("bert.") ? key.substring("bert.".length()) : key;
    if (name.equals("embeddings.position_ids") || name.equals("embeddings.token_type_ids")) {
      return null; // constant buffers that older versions saved
    }
    // TensorFlow-converted checkpoints name LayerNorm parameters gamma and beta
    if (name.endsWith("LayerNorm.gamma")) {
      return name.substring(0, name.length() - "gamma".length()) + "weight";
    }
    if (name.endsWith("LayerNorm.beta")) {
      return name.substring(0, name.length() - "beta".length()) + "bias";
    }
    return name;
  }
}

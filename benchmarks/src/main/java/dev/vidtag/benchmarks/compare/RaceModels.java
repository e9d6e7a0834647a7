package dev.vidtag.benchmarks.compare;

import dev.vidtag.data.BertTokenizer;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.data.TextRule;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.bytedeco.pytorch.global.torch;

/**
 * The race's inputs that VidTag makes: a BERT-base-sized model directory with random weights
 * ({@code model --arch single|double --out DIR [--layers 12] [--seed S]}, chinese-roberta-wwm-ext shapes, 14
 * frames + 258 tokens, 200 classes, masked mean pooling), and the text lengths of a split
 * ({@code lengths --data DIR --split test_a --out FILE}: the reference text rule's id count per
 * video, one per line, tokenized with the dataset's own text model).
 */
public final class RaceModels {
  private RaceModels() {}

  public static void main(String[] args) throws IOException {
    Arguments a = new Arguments(args, 1);
    switch (args.length == 0 ? "" : args[0]) {
      case "model" -> writeModel(Architecture.fromConfigName(a.string("--arch", "single")),
          a.integer("--layers", 12), a.path("--out"), a.integer("--seed", 1));
      case "lengths" -> writeLengths(a.path("--data"), a.string("--split", "test_a"),
          a.path("--out"));
      default -> throw new IllegalArgumentException(
          "usage: RaceModels model --arch single|double --out DIR [--layers 12] [--seed S]"
              + " | lengths --data DIR [--split test_a] --out FILE");
    }
  }

  /** Fewer layers than 12 only to check the race's scripts quickly. */
  static void writeModel(Architecture arch, int layers, Path out, int seed) {
    TorchRuntime.initialize();
    torch.manual_seed(seed);
    BertConfig base = BertConfig.chineseRobertaWwmExt();
    BertConfig text = new BertConfig(base.vocabSize(), base.hiddenSize(), layers,
        base.numAttentionHeads(), base.intermediateSize(), base.maxPositionEmbeddings(),
        base.typeVocabSize(), base.layerNormEps(), base.hiddenDropoutProb(),
        base.attentionProbsDropoutProb(), base.hiddenAct());
    ModelConfig config = ModelConfig.reference(arch, text, Pooling.MEAN_MASKED);
    VideoClassifierModel model = VideoClassifierModel.create(config);
    ModelDirectory.save(out, model, null);
    System.err.println("wrote " + out + " (" + arch.configName() + ", random weights)");
  }

  static void writeLengths(Path data, String split, Path out) throws IOException {
    List<VideoAnnotation> videos = Dataset.at(data).annotations(split, false);
    TextRule rule = TextRule.reference(258);
    try (BertTokenizer tokenizer = BertTokenizer.fromModelDirectory(
        data.resolve(SyntheticDataset.TEXT_MODEL))) {
      String lines = videos.stream().map(v -> Integer.toString(rule.encode(v, tokenizer).length))
          .collect(Collectors.joining("\n", "", "\n"));
      Files.writeString(out, lines);
    }
    System.err.println("wrote " + videos.size() + " text lengths of " + split + " to " + out);
  }
}

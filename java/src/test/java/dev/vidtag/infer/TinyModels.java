package dev.vidtag.infer;

import dev.vidtag.data.AnnotationReader;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.DecoderConfig;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Tiny datasets and model directories (hidden 32, 2 layers) for inference tests. */
public final class TinyModels {
  static final int FRAME_DIM = 16;
  static final int SPECIAL_TOKENS = 5;

  private TinyModels() {}

  /** A synthetic dataset with 16-wide features and a text model without weights (vocab only). */
  public static Path synth(Path out, int labeled, int test, long seed) {
    new SyntheticDataset(new SyntheticDataset.Options(labeled, 0, test, FRAME_DIM,
        SyntheticDataset.FrameKind.NPY, seed)).write(out);
    return out;
  }

  /** A freshly initialised model over the dataset's vocabulary, saved as a model directory. */
  public static Path modelDirectory(Path dir, Path data, Architecture arch, Pooling pooling,
      int maxFrames, int maxText, long seed) {
    Path textModel = data.resolve("text-model");
    int vocabulary = HuggingFaceBert.config(textModel).vocabSize();
    BertConfig bert = new BertConfig(vocabulary, 32, 2, 2, 64, 64, 2, 1e-12, 0.1, 0.1, "gelu");
    ModelConfig config = new ModelConfig(arch, 200, FRAME_DIM, maxFrames, maxText, pooling,
        arch == Architecture.DOUBLE ? new DecoderConfig(1, 2, 64, 0.1, 1e-5) : null, bert);
    torch.manual_seed(seed);
    VideoClassifierModel model = VideoClassifierModel.create(config);
    ModelDirectory.save(dir, model, textModel);
    return dir;
  }

  /**
   * The same model with its vocabulary in another order (special tokens kept, the rest
   * reversed) and its word-embedding rows permuted to match: it computes the same logits as the
   * original only when it reads text with its own vocabulary.
   */
  public static Path withReversedVocabulary(Path source, Path dir) {
    try {
      List<String> vocabulary = Files.readAllLines(source.resolve("vocab.txt"),
          StandardCharsets.UTF_8);
      int size = vocabulary.size();
      List<String> reversed = new ArrayList<>(vocabulary.subList(0, SPECIAL_TOKENS));
      long[] oldIdOfNewId = new long[size];
      for (int j = 0; j < size; j++) {
        oldIdOfNewId[j] = j < SPECIAL_TOKENS ? j : SPECIAL_TOKENS + (size - 1 - j);
        if (j >= SPECIAL_TOKENS) {
          reversed.add(vocabulary.get((int) oldIdOfNewId[j]));
        }
      }
      Path tokenizer = Files.createDirectories(dir.resolveSibling(dir.getFileName() + "-vocab"));
      Files.write(tokenizer.resolve("vocab.txt"), reversed, StandardCharsets.UTF_8);
      VideoClassifierModel model = ModelDirectory.load(source);
      try (NoGradGuard noGrad = new NoGradGuard()) {
        Tensor words = model.bert().embeddings().wordEmbeddingWeight();
        Tensor permuted = words.index_select(0, torch.tensor(oldIdOfNewId));
        words.copy_(permuted);
      }
      ModelDirectory.save(dir, model, tokenizer);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The videos of a split with their stored features. */
  public static List<Video> videos(Path data, String split) {
    List<VideoAnnotation> annotations =
        AnnotationReader.readAll(data.resolve("annotations").resolve(split + ".json"), false);
    try (ZipFeatureStore features = ZipFeatureStore.open(
        data.resolve("zip_feats").resolve(split + ".zip"), ZipFeatureStore.MissingPolicy.EMPTY)) {
      return annotations.stream().map(a -> Video.of(a, features.read(a.id()))).toList();
    }
  }

  /** max |a - b| / max |b| over all values. */
  public static double relativeError(float[] actual, float[] expected) {
    double diff = 0;
    double scale = 0;
    for (int i = 0; i < expected.length; i++) {
      diff = Math.max(diff, Math.abs((double) actual[i] - expected[i]));
      scale = Math.max(scale, Math.abs((double) expected[i]));
    }
    return diff / Math.max(scale, 1e-30);
  }
}

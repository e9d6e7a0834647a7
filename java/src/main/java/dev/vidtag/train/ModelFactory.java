package dev.vidtag.train;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.DecoderConfig;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.LoadReport;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a run's model starts, for fine-tuning and pretraining alike: its config, an
 * initialisation fixed by the seed, and the text encoder's weights from a Hugging Face directory.
 */
public final class ModelFactory {
  private static final Logger log = LoggerFactory.getLogger(ModelFactory.class);
  /**
   * LibTorch's module constructors draw their initial weights from its process-wide generator:
   * seeding it and building must not interleave with another run's doing the same.
   */
  private static final Object SEEDED_CONSTRUCTION = new Object();

  private ModelFactory() {}

  /** The config of a classifier over the official categories with the reference's decoder. */
  public static ModelConfig config(Architecture arch, int frameDim, int maxFrames, int maxText,
      Pooling pooling, BertConfig text) {
    return new ModelConfig(arch, CategoryMap.official().size(), frameDim, maxFrames, maxText,
        pooling, arch == Architecture.DOUBLE ? DecoderConfig.referenceFor(text) : null, text);
  }

  /**
   * Builds what {@code construction} builds with LibTorch's generator seeded by {@code seed}
   * first, so that its initial weights depend on the seed alone.
   */
  public static <T> T seeded(long seed, Supplier<T> construction) {
    synchronized (SEEDED_CONSTRUCTION) {
      torch.manual_seed(seed);
      return construction.get();
    }
  }

  /** A freshly initialised model, its weights fixed by {@code seed}. */
  public static VideoClassifierModel create(ModelConfig config, long seed) {
    return seeded(seed, () -> VideoClassifierModel.create(config));
  }

  /** Loads a Hugging Face BERT's weights into the model's text encoder and logs what matched. */
  public static LoadReport loadTextEncoder(VideoClassifierModel model, Path textModel) {
    LoadReport report = HuggingFaceBert.loadInto(model.bert(), textModel);
    log.info("text encoder from {}: missing {}, unused {}", textModel, report.missing(),
        report.unexpected());
    return report;
  }
}

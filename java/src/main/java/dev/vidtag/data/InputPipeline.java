package dev.vidtag.data;

import dev.vidtag.io.DataException;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.Pooling;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * How a model reads videos, built in one place from its config: the tokenizer of a directory
 * (the model's, or the text model it starts from), the reference text rule at its
 * {@code max_text}, at most {@code max_frames} frames chosen as the {@link Mode} says, and the
 * collator that pads its batches. Training, validation, pretraining and inference all read
 * through one.
 */
public final class InputPipeline implements AutoCloseable {

  /** What the videos are read for. */
  public enum Mode {
    /** Frames drawn at random (seeded by sample and epoch); batches padded to the fixed lengths. */
    TRAINING,
    /** The uniform choice of frames and the fixed lengths: what a run's validation scores. */
    EVALUATION,
    /**
     * The uniform choice of frames; batches padded to their longest video where the model's
     * pooling ignores padding ({@code mean_masked}), to the fixed lengths where it depends on
     * them ({@code mean_all}).
     */
    INFERENCE
  }

  private final ModelConfig config;
  private final Path directory;
  private final BertTokenizer tokenizer;
  private final TextRule rule;
  private final FrameSampler sampler;
  private final CategoryMap categories = CategoryMap.official();

  private InputPipeline(ModelConfig config, Path directory, BertTokenizer tokenizer) {
    this.config = config;
    this.directory = directory;
    this.tokenizer = tokenizer;
    this.rule = TextRule.reference(config.maxText());
    this.sampler = new FrameSampler(config.maxFrames());
  }

  /**
   * The pipeline of a model with this config, tokenizing with the tokenizer files in
   * {@code tokenizerDirectory} (the model's own directory for a trained model, which errors
   * name).
   *
   * @throws DataException when the tokenizer has more ids than the model embeds
   */
  public static InputPipeline open(ModelConfig config, Path tokenizerDirectory) {
    BertTokenizer tokenizer = BertTokenizer.fromModelDirectory(tokenizerDirectory);
    int embedded = config.textEncoder().vocabSize();
    if (tokenizer.vocabularySize() > embedded) {
      tokenizer.close();
      throw DataException.at(tokenizerDirectory, null, "text_encoder.vocab_size", "the tokenizer "
          + "has " + tokenizer.vocabularySize() + " tokens but the model embeds only " + embedded);
    }
    return new InputPipeline(config, tokenizerDirectory, tokenizer);
  }

  public ModelConfig config() {
    return config;
  }

  public BertTokenizer tokenizer() {
    return tokenizer;
  }

  /** The samples of these videos with frames from {@code features}, in their order. */
  public VideoSampleSource source(List<VideoAnnotation> videos, FrameFeatureSource features,
      Mode mode) {
    requireFrameDim(features.dim(), "the frame features");
    VideoSampleSource.FrameSelector frames = mode == Mode.TRAINING
        ? (stored, seed) -> sampler.random(stored, new Random(seed))
        : (stored, seed) -> sampler.uniform(stored);
    return new VideoSampleSource(videos, features, rule, tokenizer, categories, frames);
  }

  /** One video's sample as evaluation and inference read it (uniform frames), unlabeled. */
  public Sample sample(VideoAnnotation video, FrameFeatures frames) {
    requireFrameDim(frames.dim(), "the frame features of video " + video.id());
    return new Sample(video.id(), rule.encode(video, tokenizer), frames,
        sampler.uniform(frames.frames()), -1);
  }

  /** How batches of this mode are padded. */
  public Collator.Padding padding(Mode mode) {
    return mode == Mode.INFERENCE && config.pooling() == Pooling.MEAN_MASKED
        ? Collator.Padding.DYNAMIC : Collator.Padding.FIXED;
  }

  /** The collator of this mode's batches. */
  public Collator collator(Mode mode) {
    return new Collator(padding(mode), config.maxText(), config.maxFrames(), tokenizer.padId());
  }

  private void requireFrameDim(int dim, String what) {
    if (dim != config.frameDim()) {
      throw new IllegalArgumentException(what + " are " + dim + " wide, but the model "
          + directory + " takes frame features of width " + config.frameDim());
    }
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}

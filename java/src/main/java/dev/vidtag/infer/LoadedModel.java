package dev.vidtag.infer;

import dev.vidtag.data.Batch;
import dev.vidtag.data.BertTokenizer;
import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Collator;
import dev.vidtag.io.DataException;
import dev.vidtag.data.FrameFeatureSource;
import dev.vidtag.data.FrameFeatures;
import dev.vidtag.data.FrameSampler;
import dev.vidtag.data.Sample;
import dev.vidtag.data.TextRule;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.VideoSampleSource;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One model directory ready to infer: the model in eval mode on its device and precision, and the
 * input pipeline it was trained with (its tokenizer, the reference text rule at its
 * {@code max_text}, the uniform choice of at most {@code max_frames} frames). Batches are padded
 * to the longest video when the pooling ignores padding ({@code mean_masked}) and to the fixed
 * lengths otherwise ({@code mean_all} depends on the pad count).
 */
final class LoadedModel implements AutoCloseable {
  private final EnsembleMember member;
  private final ModelConfig config;
  private final VideoClassifierModel model;
  private final BertTokenizer tokenizer;
  private final TextRule rule;
  private final FrameSampler sampler;
  private final Collator collator;
  private final Device device;

  private LoadedModel(EnsembleMember member, ModelConfig config, VideoClassifierModel model,
      BertTokenizer tokenizer, Device device) {
    this.member = member;
    this.config = config;
    this.model = model;
    this.tokenizer = tokenizer;
    this.device = device;
    this.rule = TextRule.reference(config.maxText());
    this.sampler = new FrameSampler(config.maxFrames());
    this.collator = new Collator(
        config.pooling() == Pooling.MEAN_MASKED ? Collator.Padding.DYNAMIC
            : Collator.Padding.FIXED, config.maxText(), config.maxFrames(), tokenizer.padId());
  }

  /** Loads a member on a device (null: the CPU) in a precision. */
  static LoadedModel load(EnsembleMember member, Device device, Precision precision) {
    Path dir = member.modelDirectory();
    ModelConfig config = ModelDirectory.config(dir);
    BertTokenizer tokenizer = BertTokenizer.fromModelDirectory(dir);
    try {
      if (tokenizer.vocabularySize() > config.textEncoder().vocabSize()) {
        throw DataException.at(dir, null, "text_encoder.vocab_size", "the tokenizer has "
            + tokenizer.vocabularySize() + " tokens but the model embeds only "
            + config.textEncoder().vocabSize());
      }
      VideoClassifierModel model = ModelDirectory.load(dir);
      if (device != null) {
        model.to(device, false);
      }
      model.eval();
      if (precision == Precision.INT8 && device != null) {
        throw new IllegalArgumentException("int8 runs on the CPU only; use fp32 or bf16 on "
            + device.str().getString());
      }
      precision.applyTo(model);
      return new LoadedModel(member, config, model, tokenizer, device);
    } catch (RuntimeException e) {
      tokenizer.close();
      throw e;
    }
  }

  EnsembleMember member() {
    return member;
  }

  ModelConfig config() {
    return config;
  }

  Collator.Padding padding() {
    return collator.padding();
  }

  /** The sample of a video: ids by this model's rule, frames by the evaluation choice. */
  Sample sample(Video video) {
    FrameFeatures frames = video.frames();
    requireFrameDim(frames.dim(), "the frame features of video " + video.id());
    return new Sample(video.id(), rule.encode(video.annotation(), tokenizer), frames,
        sampler.uniform(frames.frames()), -1);
  }

  /** The samples of a split, in annotation order. */
  VideoSampleSource source(List<VideoAnnotation> videos, FrameFeatureSource features) {
    requireFrameDim(features.dim(), "the frame features");
    return new VideoSampleSource(videos, features, rule, tokenizer, CategoryMap.official(),
        (stored, seed) -> sampler.uniform(stored));
  }

  Collator collator() {
    return collator;
  }

  Batch collate(List<Sample> samples, int[] indices) {
    return collator.collate(samples, indices);
  }

  /**
   * The float32 logits {@code [B, C]} of a batch, on the CPU. The caller holds a pointer scope
   * and a no-grad guard.
   */
  Tensor logits(Batch batch) {
    ModelInputs inputs = new ModelInputs(onDevice(batch.textIds()), onDevice(batch.textMask()),
        onDevice(batch.frames()), onDevice(batch.frameMask()));
    Tensor logits = model.forward(inputs).logits();
    return device == null ? logits : logits.to(new Device("cpu"), ScalarType.Float);
  }

  private Tensor onDevice(Tensor tensor) {
    return device == null ? tensor : tensor.to(device, tensor.scalar_type());
  }

  private void requireFrameDim(int dim, String what) {
    if (dim != config.frameDim()) {
      throw new IllegalArgumentException(what + " are " + dim + " wide, but the model "
          + member.modelDirectory() + " takes frame features of width " + config.frameDim());
    }
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}

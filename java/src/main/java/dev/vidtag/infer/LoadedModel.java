package dev.vidtag.infer;

import dev.vidtag.data.Batch;
import dev.vidtag.data.Collator;
import dev.vidtag.data.FrameFeatureSource;
import dev.vidtag.data.InputPipeline;
import dev.vidtag.data.InputPipeline.Mode;
import dev.vidtag.data.Sample;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.VideoSampleSource;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.VideoClassifierModel;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One model directory ready to infer: the model in eval mode on its device and precision, and
 * its {@link InputPipeline} in the inference mode (its tokenizer, the reference text rule, the
 * uniform choice of frames; batches padded to the longest video when the pooling ignores
 * padding, to the fixed lengths otherwise).
 */
final class LoadedModel implements AutoCloseable {
  private final EnsembleMember member;
  private final ModelConfig config;
  private final VideoClassifierModel model;
  private final InputPipeline input;
  private final Collator collator;
  private final Device device;

  private LoadedModel(EnsembleMember member, VideoClassifierModel model, InputPipeline input,
      Device device) {
    this.member = member;
    this.config = input.config();
    this.model = model;
    this.input = input;
    this.device = device;
    this.collator = input.collator(Mode.INFERENCE);
  }

  /** Loads a member on a device (null: the CPU) in a precision. */
  static LoadedModel load(EnsembleMember member, Device device, Precision precision) {
    Path dir = member.modelDirectory();
    InputPipeline input = InputPipeline.open(ModelDirectory.config(dir), dir);
    try {
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
      return new LoadedModel(member, model, input, device);
    } catch (RuntimeException e) {
      input.close();
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
    return input.sample(video.annotation(), video.frames());
  }

  /** The samples of a split, in annotation order. */
  VideoSampleSource source(List<VideoAnnotation> videos, FrameFeatureSource features) {
    return input.source(videos, features, Mode.INFERENCE);
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

  /** Frees the model's weights and its tokenizer now. */
  @Override
  public void close() {
    model.release();
    input.close();
  }
}

package dev.vidtag.model;

import dev.vidtag.model.weights.StateDicts;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A video classifier of either architecture. Its registered parameter paths are the reference
 * solution's checkpoint names.
 */
public abstract class VideoClassifierModel extends Module {
  protected final ModelConfig config;
  /** Shared by every block, so that one reseed before a step fixes all the step's masks. */
  protected final Dropout dropout = new Dropout();
  protected final BertModel bert;
  protected LinearImpl classifier;
  /** The int8 layers once {@link #quantizeInt8} made them; null while the model runs fp32. */
  private Int8Quantizer int8;
  private boolean released;

  protected VideoClassifierModel(ModelConfig config, boolean withPooler) {
    this.config = config;
    bert = register_module("bert", new BertModel(config.textEncoder(), withPooler, dropout));
  }

  /** Builds the model that the config describes, with freshly initialised weights. */
  public static VideoClassifierModel create(ModelConfig config) {
    return switch (config.arch()) {
      case SINGLE -> new SingleStreamModel(config);
      case DOUBLE -> new DoubleStreamModel(config);
    };
  }

  public ModelConfig config() {
    return config;
  }

  public BertModel bert() {
    return bert;
  }

  /** Where the model's dropout draws from; reseed it before each training step. */
  public Dropout dropout() {
    return dropout;
  }

  /**
   * Switches the transformer layers (BERT's attention and feed-forward linears, and the
   * double-stream decoder's) to int8 weights with fp32 activations ({@link Int8Linear}, FBGEMM),
   * for CPU inference: about half the GEMM time on CPUs with VNNI, at a small change in the
   * logits. The frame projection, the classifier, the embeddings and the LayerNorms stay fp32.
   * The fp32 weights are kept (the state dict and saving are unchanged); the model must be fp32,
   * on the CPU and in eval mode, and stays in eval mode: training an int8 model is refused.
   * Calling it again re-quantizes from the fp32 weights. The weights span the range this CPU's
   * int8 kernel computes exactly ({@link Int8WeightRange#forThisProcess()}).
   */
  public final void quantizeInt8() {
    quantizeInt8(Int8WeightRange.forThisProcess());
  }

  /** As {@link #quantizeInt8()}, with weights quantized to the given range. */
  public final void quantizeInt8(Int8WeightRange range) {
    if (parameterType() != ScalarType.Float) {
      throw new IllegalStateException("int8 weights are quantized from fp32 weights; this model is "
          + parameterType());
    }
    if (is_training()) {
      throw new IllegalStateException("int8 weights are for inference: call eval() first");
    }
    requireNotReleased();
    Int8Quantizer quantizer = new Int8Quantizer(range);
    quantizeLayersInt8(quantizer);
    if (int8 != null) {
      int8.release();
    }
    int8 = quantizer;
  }

  /** Whether {@link #quantizeInt8()} switched the transformer layers to int8 weights. */
  public boolean isInt8() {
    return int8 != null;
  }

  abstract void quantizeLayersInt8(Int8Quantizer quantizer);

  /**
   * Which code computes attention in every layer: VidTag's kernels ({@link
   * AttentionBackend#DEFAULT}) or LibTorch's {@code scaled_dot_product_attention}. The logits
   * agree to about 1e-6 relative in fp32; training with attention dropout draws other masks on
   * each backend (each repeatable from its seed).
   */
  public final void useAttention(AttentionBackend backend) {
    useAttentionInLayers(backend);
  }

  abstract void useAttentionInLayers(AttentionBackend backend);

  /**
   * Frees the model's native memory now rather than when the garbage collector finds the last
   * handle of each tensor: every parameter and buffer is emptied in place (whoever else holds
   * them sees them empty) and the int8 layers are freed. The model cannot run afterwards.
   */
  public void release() {
    try (NoGradGuard noGrad = new NoGradGuard()) {
      for (Tensor tensor : StateDicts.of(this).values()) {
        tensor.set_();
      }
    }
    if (int8 != null) {
      int8.release();
      int8 = null;
    }
    released = true;
  }

  private void requireNotReleased() {
    if (released) {
      throw new IllegalStateException("this model's weights were released");
    }
  }

  /** Logits, pooled vector and pooled sequence for one batch; honours train/eval mode. */
  public final ModelOutputs forward(ModelInputs inputs) {
    requireNotReleased();
    checkInputs(inputs);
    if (int8 != null && (is_training() || parameterType() != ScalarType.Float)) {
      throw new IllegalStateException("this model runs int8 weights, for fp32 inference only: "
          + "it was switched to training mode or another dtype after quantizeInt8()");
    }
    ScalarType dtype = parameterType();
    Tensor frames = inputs.frames().to(dtype);
    ModelOutputs outputs = forwardChecked(inputs, frames, dtype);
    return new ModelOutputs(outputs.logits().to(ScalarType.Float), outputs.hidden(),
        outputs.pooled());
  }

  protected abstract ModelOutputs forwardChecked(ModelInputs inputs, Tensor frames,
      ScalarType dtype);

  /** The dtype of the weights (float32, or bfloat16 after {@code to(BFloat16, false)}). */
  public ScalarType parameterType() {
    return bert.embeddings().wordEmbeddingWeight().scalar_type().intern();
  }

  /** Mean of hidden [B, L, H] over every position, or over those where keep [B, L] is set. */
  protected Tensor pool(Tensor hidden, Tensor keep) {
    return config.pooling().pool(hidden, keep);
  }

  private void checkInputs(ModelInputs in) {
    Tensor ids = in.textIds();
    if (ids.dim() != 2 || ids.scalar_type().intern() != ScalarType.Long) {
      throw new IllegalArgumentException("textIds must be int64 [B, T], got "
          + describe(ids));
    }
    long batch = ids.size(0);
    long textLength = ids.size(1);
    if (!sameShape(in.textMask(), batch, textLength)) {
      throw new IllegalArgumentException("textMask must be [" + batch + ", " + textLength
          + "], got " + describe(in.textMask()));
    }
    Tensor frames = in.frames();
    if (frames.dim() != 3 || frames.size(0) != batch || frames.size(2) != config.frameDim()
        || !torch.is_floating_point(frames)) {
      throw new IllegalArgumentException("frames must be floating point [" + batch + ", F, "
          + config.frameDim() + "], got " + describe(frames));
    }
    if (!sameShape(in.frameMask(), batch, frames.size(1))) {
      throw new IllegalArgumentException("frameMask must be [" + batch + ", " + frames.size(1)
          + "], got " + describe(in.frameMask()));
    }
    int positions = config.textEncoder().maxPositionEmbeddings();
    if (textLength > positions || frames.size(1) > positions) {
      throw new IllegalArgumentException("text length " + textLength + " or frame count "
          + frames.size(1) + " exceeds max_position_embeddings " + positions);
    }
    if (batch == 0 || textLength == 0 || frames.size(1) == 0) {
      throw new IllegalArgumentException("empty batch, text or frame dimension");
    }
  }

  private static boolean sameShape(Tensor t, long rows, long columns) {
    return t.dim() == 2 && t.size(0) == rows && t.size(1) == columns;
  }

  private static String describe(Tensor t) {
    StringBuilder shape = new StringBuilder("[");
    for (int i = 0; i < t.dim(); i++) {
      shape.append(i == 0 ? "" : ", ").append(t.size(i));
    }
    return shape.append("] ").append(t.scalar_type().intern()).toString();
  }
}

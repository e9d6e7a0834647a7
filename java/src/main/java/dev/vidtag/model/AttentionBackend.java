package dev.vidtag.model;

import java.util.Locale;

/** Which code computes the models' attention. */
public enum AttentionBackend {
  /**
   * VidTag's own kernels ({@link dev.vidtag.kernels.AttentionKernels}): heads-merged inputs read
   * in place, padded key tiles skipped, in training too. The default. Where they cannot run (a
   * CUDA tensor and a library built without CUDA, or heads wider than 128 on CUDA) the models
   * use {@link #SDPA}.
   */
  VIDTAG,
  /** LibTorch's {@code scaled_dot_product_attention}. */
  SDPA;

  public static final AttentionBackend DEFAULT = VIDTAG;

  /** The system property that sets the backend of models created from then on. */
  public static final String PROPERTY = "vidtag.attention";

  /**
   * What a new model starts with: the {@value #PROPERTY} system property when set (the CLI's
   * {@code --attention} sets it), else {@link #DEFAULT}. A model's {@code useAttention} changes
   * it for that model alone.
   */
  public static AttentionBackend forNewModels() {
    String configured = System.getProperty(PROPERTY);
    return configured == null || configured.isBlank() ? DEFAULT : parse(configured);
  }

  /** "vidtag" or "sdpa", in any case, with surrounding blanks ignored. */
  public static AttentionBackend parse(String name) {
    try {
      return valueOf(name.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown attention backend '" + name
          + "': expected vidtag or sdpa", e);
    }
  }

  public String cliName() {
    return name().toLowerCase(Locale.ROOT);
  }
}

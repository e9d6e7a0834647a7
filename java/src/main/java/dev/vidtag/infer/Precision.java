package dev.vidtag.infer;

import dev.vidtag.model.VideoClassifierModel;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The number format a loaded model computes in. Each constant knows how to convert a model that
 * was loaded in fp32 and put in eval mode; logits always come back as float32.
 */
public enum Precision {
  /** The weights as stored. */
  FP32("fp32") {
    @Override
    void applyTo(VideoClassifierModel model) {
      // loaded in fp32 already
    }
  },
  /** Weights and activations in bfloat16 (inputs follow the weights inside the model). */
  BF16("bf16") {
    @Override
    void applyTo(VideoClassifierModel model) {
      model.to(ScalarType.BFloat16, false);
    }
  },
  /**
   * Int8 weights with fp32 activations in the BERT and decoder layers (FBGEMM, CPU only); the
   * frame projection, embeddings and classifier stay fp32.
   */
  INT8("int8") {
    @Override
    void applyTo(VideoClassifierModel model) {
      model.quantizeInt8();
    }
  };

  private final String optionName;

  Precision(String optionName) {
    this.optionName = optionName;
  }

  /** Converts a freshly loaded fp32 model, in place, on its device. */
  abstract void applyTo(VideoClassifierModel model);

  /** The name on the command line: {@code fp32}, {@code bf16}, {@code int8}. */
  public String optionName() {
    return optionName;
  }

  public static Precision parse(String text) {
    String name = text.trim().toLowerCase(Locale.ROOT);
    for (Precision p : values()) {
      if (p.optionName.equals(name)) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown precision '" + text + "': expected one of "
        + Arrays.stream(values()).map(Precision::optionName).collect(Collectors.joining(", ")));
  }
}

package dev.vidtag.model;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How a JPG frame becomes the encoder's input: a resize rule and a normalisation. The names
 * describe a 224-pixel tower; a tower with another input size scales the sizes with it (shorter
 * side {@code imageSize * 256 / 224}, rounded), and the sizes used are written to the config.
 */
public record FramePreprocessing(Resize resize, Normalization normalization) {

  /** The reference's preprocessing: shorter side to 256 (bilinear), centre crop 224, ImageNet. */
  public static FramePreprocessing reference() {
    return new FramePreprocessing(Resize.SHORTER_256_CROP_224, Normalization.IMAGENET);
  }

  public enum Resize {
    /** Shorter side to 256 with bilinear filtering, then the centre 224 x 224 (the reference). */
    SHORTER_256_CROP_224("shorter-256-crop-224"),
    /** Both sides to 224, aspect ratio not kept (Chinese-CLIP's transform). */
    SQUARE_224("square-224");

    private final String configName;

    Resize(String configName) {
      this.configName = configName;
    }

    public String configName() {
      return configName;
    }

    /** The side the shorter side is resized to, before any crop, for a tower of this input. */
    public int resizeTo(int imageSize) {
      return this == SQUARE_224 ? imageSize : (int) Math.round(imageSize * 256.0 / 224.0);
    }

    public static Resize fromConfigName(String name) {
      for (Resize r : values()) {
        if (r.configName.equals(name)) {
          return r;
        }
      }
      return null;
    }

    public static String choices() {
      return Arrays.stream(values()).map(Resize::configName).collect(Collectors.joining("|"));
    }
  }

  public enum Normalization {
    /**
     * ImageNet's constants: what the reference solution used, although CLIP was trained with its
     * own.
     */
    IMAGENET("imagenet", new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225}),
    /** The constants OpenAI CLIP was trained with. */
    CLIP("clip", new double[] {0.48145466, 0.4578275, 0.40821073},
        new double[] {0.26862954, 0.26130258, 0.27577711});

    private final String configName;
    private final double[] mean;
    private final double[] std;

    Normalization(String configName, double[] mean, double[] std) {
      this.configName = configName;
      this.mean = mean;
      this.std = std;
    }

    public String configName() {
      return configName;
    }

    /** Per channel (RGB), for pixels scaled to [0, 1]. */
    public double[] mean() {
      return mean.clone();
    }

    public double[] std() {
      return std.clone();
    }

    public static Normalization fromConfigName(String name) {
      for (Normalization n : values()) {
        if (n.configName.equals(name)) {
          return n;
        }
      }
      return null;
    }

    public static String choices() {
      return Arrays.stream(values()).map(Normalization::configName)
          .collect(Collectors.joining("|"));
    }
  }

  static FramePreprocessing from(JsonFields json) {
    String resizeName = json.string("resize", Resize.SHORTER_256_CROP_224.configName());
    Resize resize = Resize.fromConfigName(resizeName);
    if (resize == null) {
      throw json.error("resize", "expected " + Resize.choices() + ", got \"" + resizeName + "\"");
    }
    String normName = json.string("normalize", Normalization.IMAGENET.configName());
    Normalization normalization = Normalization.fromConfigName(normName);
    if (normalization == null) {
      throw json.error("normalize", "expected " + Normalization.choices() + ", got \""
          + normName + "\"");
    }
    return new FramePreprocessing(resize, normalization);
  }

  /**
   * The rule by name (what is read back) and, for readers in other languages, the sizes and
   * constants it stands for.
   */
  ObjectNode toJson(int imageSize) {
    ObjectNode node = JsonFields.MAPPER.createObjectNode();
    node.put("resize", resize.configName());
    node.put("resize_to", resize.resizeTo(imageSize));
    node.put("crop", imageSize);
    node.put("interpolation", "bilinear");
    node.put("normalize", normalization.configName());
    ArrayNode mean = node.putArray("mean");
    ArrayNode std = node.putArray("std");
    for (int c = 0; c < 3; c++) {
      mean.add(normalization.mean[c]);
      std.add(normalization.std[c]);
    }
    return node;
  }
}

package dev.vidtag.model;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The shape of a CLIP vision tower (OpenAI's VisionTransformer): {@code width} channels,
 * {@code layers} residual blocks of {@code heads} attention heads, square patches of
 * {@code patchSize} pixels over a {@code imageSize} square input, and {@code outputDim} values per
 * image after the projection. ViT-B/16 is 768, 12, 12, 16, 224, 512.
 */
public record ClipConfig(int width, int layers, int heads, int patchSize, int imageSize,
    int outputDim) {

  /** OpenAI's head width: CLIP's build_model sets heads = width / 64. */
  public static final int HEAD_WIDTH = 64;

  public ClipConfig {
    if (width <= 0 || layers <= 0 || heads <= 0 || patchSize <= 0 || imageSize <= 0
        || outputDim <= 0) {
      throw new IllegalArgumentException("CLIP sizes must be positive: width " + width
          + ", layers " + layers + ", heads " + heads + ", patch " + patchSize + ", image "
          + imageSize + ", output " + outputDim);
    }
    if (width % heads != 0) {
      throw new IllegalArgumentException("width " + width + " is not a multiple of heads "
          + heads);
    }
    if (imageSize % patchSize != 0) {
      throw new IllegalArgumentException("image size " + imageSize
          + " is not a multiple of the patch size " + patchSize);
    }
  }

  public static ClipConfig vitB16() {
    return new ClipConfig(768, 12, 12, 16, 224, 512);
  }

  /** Patches per side. */
  public int grid() {
    return imageSize / patchSize;
  }

  /** The class token and one token per patch: 197 for ViT-B/16. */
  public int tokens() {
    return grid() * grid() + 1;
  }

  static ClipConfig from(JsonFields json) {
    int width = json.positiveInt("width");
    int heads = json.positiveInt("heads");
    int patchSize = json.positiveInt("patch_size");
    int imageSize = json.positiveInt("image_size");
    if (width % heads != 0) {
      throw json.error("heads", "width " + width + " is not a multiple of " + heads);
    }
    if (imageSize % patchSize != 0) {
      throw json.error("patch_size", "image_size " + imageSize + " is not a multiple of "
          + patchSize);
    }
    return new ClipConfig(width, json.positiveInt("layers"), heads, patchSize, imageSize,
        json.positiveInt("output_dim"));
  }

  ObjectNode toJson() {
    ObjectNode node = JsonFields.MAPPER.createObjectNode();
    node.put("width", width);
    node.put("layers", layers);
    node.put("heads", heads);
    node.put("patch_size", patchSize);
    node.put("image_size", imageSize);
    node.put("output_dim", outputDim);
    return node;
  }
}

package dev.vidtag.model;

import dev.vidtag.model.weights.WeightFiles;
import dev.vidtag.model.weights.WeightFormatException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;

/**
 * A state dict saved by the reference solution's PyTorch code: keys under a leading
 * {@code module.} when saved from DataParallel; the double stream's unused prototype layer
 * {@code multi_head_decoderlayer.*}; the single stream's unused BERT pooler.
 */
public final class ReferenceCheckpoint {
  private ReferenceCheckpoint() {}

  /** The model key of a checkpoint key, or null for keys the model ignores. */
  public static Function<String, String> renaming(Architecture arch) {
    return key -> {
      String name = key.startsWith("module.") ? key.substring("module.".length()) : key;
      if (name.startsWith("multi_head_decoderlayer.")
          || name.equals("bert.embeddings.position_ids")
          || name.equals("bert.embeddings.token_type_ids")
          || (arch == Architecture.SINGLE && name.startsWith("bert.pooler."))) {
        return null;
      }
      return name;
    };
  }

  /**
   * The reference config for a checkpoint, with the sizes that its tensors determine (classes,
   * frame width, decoder layers and FFN) taken from them; pooling {@code mean_all}, as the
   * reference computed it.
   */
  public static ModelConfig inferConfig(Path checkpoint, Architecture arch, BertConfig text,
      Integer frameDim, int maxFrames, int maxText, Pooling pooling, int decoderHeads) {
    Map<String, long[]> shapes = WeightFiles.shapes(checkpoint, renaming(arch));
    long[] classifier = require(shapes, checkpoint, "classifier.weight");
    String frameLayer = arch == Architecture.SINGLE ? "video_fc.weight" : "visual_encoder.weight";
    long[] frames = require(shapes, checkpoint, frameLayer);
    DecoderConfig decoder = null;
    if (arch == Architecture.DOUBLE) {
      int layers = 0;
      while (shapes.containsKey("multi_head_decoder.layers." + layers + ".linear1.weight")) {
        layers++;
      }
      long[] linear1 = require(shapes, checkpoint, "multi_head_decoder.layers.0.linear1.weight");
      DecoderConfig reference = DecoderConfig.reference();
      decoder = new DecoderConfig(layers, decoderHeads, (int) linear1[0], reference.dropout(),
          reference.layerNormEps());
    }
    return new ModelConfig(arch, (int) classifier[0],
        frameDim != null ? frameDim : (int) frames[1], maxFrames, maxText, pooling, decoder, text);
  }

  private static long[] require(Map<String, long[]> shapes, Path file, String name) {
    long[] shape = shapes.get(name);
    if (shape == null || shape.length != 2) {
      throw WeightFormatException.of(file, name,
          "missing or not a matrix: is this a checkpoint of that architecture?");
    }
    return shape;
  }
}

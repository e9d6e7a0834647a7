package dev.vidtag.serve;

import dev.vidtag.infer.BatchingClassifier;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.model.ModelDirectory;
import java.util.Objects;

/**
 * What the server classifies with once the models are loaded: the batching queue and what a
 * request may ask of it.
 *
 * @param batcher where requests go; owned by the caller, who closes it after the server
 * @param frameDim the width of a frame feature vector the models read
 * @param maxTopK the most categories a prediction can list
 */
public record ServingModel(BatchingClassifier batcher, int frameDim, int maxTopK) {

  public ServingModel {
    Objects.requireNonNull(batcher, "batcher");
    if (frameDim < 1) {
      throw new IllegalArgumentException("frame width must be positive, got " + frameDim);
    }
    if (maxTopK < 1) {
      throw new IllegalArgumentException("top k must be at least 1, got " + maxTopK);
    }
  }

  /**
   * The batcher over an open classifier: frames as wide as its models read them (every model of
   * an ensemble reads the same frames, so they must agree), top k as the classifier lists.
   */
  public static ServingModel of(VideoClassifier classifier, BatchingClassifier batcher) {
    int frameDim = -1;
    EnsembleMember first = null;
    for (EnsembleMember member : classifier.members()) {
      int dim = ModelDirectory.config(member.modelDirectory()).frameDim();
      if (first == null) {
        first = member;
        frameDim = dim;
      } else if (dim != frameDim) {
        throw new IllegalArgumentException("the models of an ensemble must read frames of one "
            + "width to be served: " + first.modelDirectory() + " reads " + frameDim + ", "
            + member.modelDirectory() + " reads " + dim);
      }
    }
    return new ServingModel(batcher, frameDim,
        Math.min(classifier.options().topK(), classifier.classes()));
  }
}

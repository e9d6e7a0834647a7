package dev.vidtag.infer;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Scalar;

/** Models and predictions for the batching and serving tests. */
public final class ServingFixtures {
  private ServingFixtures() {}

  /**
   * A tiny single-stream model whose classifier weights are scaled up, so that its probabilities
   * are spread out and its ranking does not hinge on the last bits (a fresh model's logits are
   * all near 0). Fixed padding ({@code mean_all}): a video's row does not depend on its batch.
   */
  public static Path confidentModel(Path dir, Path data) {
    Path model = TinyModels.modelDirectory(dir.resolveSibling(dir.getFileName() + "-fresh"), data,
        Architecture.SINGLE, Pooling.MEAN_ALL, 8, 32, 11);
    VideoClassifierModel loaded = ModelDirectory.load(model);
    try (NoGradGuard noGrad = new NoGradGuard()) {
      StringTensorDict parameters = loaded.named_parameters();
      for (long i = 0; i < parameters.size(); i++) {
        if (parameters.get(i).key().getString().startsWith("classifier.")) {
          parameters.get(i).value().mul_(new Scalar(300.0));
        }
      }
    }
    ModelDirectory.save(dir, loaded, model);
    loaded.release();
    return dir;
  }

  /** The frame width of the tiny models. */
  public static int frameDim() {
    return TinyModels.FRAME_DIM;
  }

  /** A stand-in prediction: category {@code lv2} with probability 1. */
  public static Prediction prediction(String videoId, int lv2) {
    CategoryMap categories = CategoryMap.official();
    String id = categories.categoryId(lv2);
    return new Prediction(videoId, List.of(new Prediction.ScoredCategory(id, lv2,
        id.substring(0, 2), categories.lv1Index(lv2), 1.0)), 1.0, new float[categories.size()]);
  }

  /** A video with a title of {@code textLength} characters and {@code frames} zero frames. */
  public static Video video(String id, int textLength, int frames) {
    return Video.of(id, String.join("", Collections.nCopies(textLength, "a")), "", List.of(),
        new float[frames * TinyModels.FRAME_DIM], frames, TinyModels.FRAME_DIM);
  }
}

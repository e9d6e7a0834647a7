package dev.vidtag.benchmarks.compare;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Collator;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.InputPipeline;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.VideoSampleSource;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.eval.ResultFile;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.runtime.TorchRuntime;
import dev.vidtag.train.Validation;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The official score of a trained model on a labelled split, with fp32 weights and then with
 * int8 weights ({@link VideoClassifierModel#quantizeInt8()}), and how many predictions changed.
 *
 * <pre>Int8Score --model DIR --data DIR [--split test_a] --truth FILE.csv [--threads 2]</pre>
 */
public final class Int8Score {
  private Int8Score() {}

  public static void main(String[] args) {
    Arguments a = new Arguments(args, 0);
    Path modelDir = a.path("--model");
    Path data = a.path("--data");
    String split = a.string("--split", "test_a");
    TorchRuntime.initialize();
    TorchRuntime.setThreads(a.integer("--threads", 2));
    CategoryMap categories = CategoryMap.official();
    Map<String, Integer> truth = new HashMap<>();
    for (ResultFile.Entry e : ResultFile.read(a.path("--truth"), categories)) {
      truth.put(e.videoId(), categories.lv2Index(e.categoryId()).getAsInt());
    }
    VideoClassifierModel model = ModelDirectory.load(modelDir);
    ModelConfig config = model.config();
    Dataset dataset = Dataset.at(data);
    List<VideoAnnotation> videos = dataset.annotations(split, false);
    try (InputPipeline input = InputPipeline.open(config, modelDir);
         ZipFeatureStore features = dataset.openFeatures(split)) {
      VideoSampleSource source = input.source(videos, features, InputPipeline.Mode.EVALUATION);
      Collator collator = input.collator(InputPipeline.Mode.EVALUATION);
      int[] truthLv2 = new int[videos.size()];
      for (int i = 0; i < videos.size(); i++) {
        truthLv2[i] = truth.get(videos.get(i).id());
      }
      int[] fp32 = Validation.topClasses(model, source, collator, 32, 1);
      model.quantizeInt8();
      int[] int8 = Validation.topClasses(model, source, collator, 32, 1);
      OfficialScore fp32Score = OfficialScore.of(truthLv2, fp32, categories);
      OfficialScore int8Score = OfficialScore.of(truthLv2, int8, categories);
      int changed = 0;
      for (int i = 0; i < fp32.length; i++) {
        changed += fp32[i] != int8[i] ? 1 : 0;
      }
      System.out.printf(Locale.ROOT, "%s, %d videos of %s: mean F1 fp32 %.4f, int8 %.4f"
              + " (change %+.4f); %d predictions changed%n", modelDir, videos.size(), split,
          fp32Score.mean(), int8Score.mean(), int8Score.mean() - fp32Score.mean(), changed);
    }
  }
}

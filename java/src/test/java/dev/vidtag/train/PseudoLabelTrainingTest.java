package dev.vidtag.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.PseudoLabeledVideos;
import dev.vidtag.data.SoftLabelFile;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.data.ValidationSplit;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.io.DataException;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fine-tuning beside pseudo-labeled videos of another split, on a generated dataset. */
class PseudoLabelTrainingTest {
  private static final int LABELED = 300;
  private static final int UNLABELED = 200;
  private static final int CLASSES = 200;

  @TempDir static Path dir;
  static Path data;

  @BeforeAll
  static void generate() {
    TorchRuntime.initialize();
    data = dir.resolve("data");
    new SyntheticDataset(new SyntheticDataset.Options(LABELED, UNLABELED, 0, 32,
        SyntheticDataset.FrameKind.NPY, 9))
        .write(data, (directory, config, seed) -> HuggingFaceBert.writeRandomWeights(directory, seed));
  }

  /**
   * Labels by hand: unlabeled video v gets class v % 200 with probability 0.95 when v is odd and
   * 0.5 when it is even, the rest spread evenly over the other classes.
   */
  private static Path pseudoLabels(String name, String split) throws IOException {
    Path out = dir.resolve(name);
    Files.createDirectories(out);
    Files.writeString(out.resolve(PseudoLabeledVideos.SUMMARY), "{\"data\": \""
        + data.toAbsolutePath() + "\", \"split\": \"" + split + "\"}");
    float[] rows = new float[UNLABELED * CLASSES];
    for (int v = 0; v < UNLABELED; v++) {
      float top = v % 2 == 1 ? 0.95f : 0.5f;
      for (int c = 0; c < CLASSES; c++) {
        rows[v * CLASSES + c] = c == v % CLASSES ? top : (1 - top) / (CLASSES - 1);
      }
    }
    try (SoftLabelFile.Appender appender = SoftLabelFile.Appender.open(
        out.resolve(PseudoLabeledVideos.SOFT_LABELS), 3, CLASSES)) {
      appender.append(rows, UNLABELED);
    }
    return out;
  }

  private static TrainOptions.Builder options(Path out) {
    return TrainOptions.builder(data, Architecture.SINGLE, data.resolve("text-model"), out)
        .epochs(1).batchSize(32).maxFrames(4).maxText(16)
        .adversary(TrainOptions.AdversaryKind.NONE).evaluateEvery(1_000).evaluateFrom(1_000);
  }

  @Test
  void theConfidentPseudoLabeledVideosTrainBesideTheLabeledTrainingPart() throws IOException {
    Path labels = pseudoLabels("pseudo", "unlabeled");
    PseudoLabeledVideos read = PseudoLabeledVideos.read(labels, Dataset.at(data), 0.9);
    assertEquals(UNLABELED / 2, read.videos().size(), "the odd videos, labeled at 0.95");
    List<VideoAnnotation> unlabeled = Dataset.at(data).annotations("unlabeled", false);
    CategoryMap categories = CategoryMap.official();
    assertEquals(unlabeled.get(1).id(), read.videos().get(0).id());
    assertEquals(categories.categoryId(1), read.videos().get(0).categoryId().orElseThrow());
    assertEquals(categories.categoryId(199 % CLASSES), read.videos().get(99).categoryId()
        .orElseThrow());

    Trainer.Result alone = new Trainer(options(dir.resolve("alone")).build()).run();
    Trainer.Result beside = new Trainer(options(dir.resolve("beside")).pseudo(labels, 0.9)
        .build()).run();
    int training = ValidationSplit.trainingCount(LABELED, TrainOptions.DEFAULT_VALIDATION_RATIO);
    assertEquals(training / 32, alone.steps());
    assertEquals((training + UNLABELED / 2) / 32, beside.steps(),
        "the 100 confident pseudo-labeled videos join the 270 labeled training ones");
    assertEquals(alone.majorityBaseline(), beside.majorityBaseline(),
        "validation is the labeled split's, with or without pseudo-labels");
    TrainOptions written = Trainer.readOptions(dir.resolve("beside"));
    assertEquals(labels.toAbsolutePath(), written.data().pseudo().toAbsolutePath());
    assertEquals(0.9, written.data().pseudoMinConfidence());
  }

  @Test
  void labelsOfTheLabeledSplitAreRefused() throws IOException {
    Path labels = pseudoLabels("pseudo-of-labeled", "labeled");
    DataException e = assertThrows(DataException.class,
        () -> PseudoLabeledVideos.read(labels, Dataset.at(data), 0));
    assertTrue(e.getMessage().contains("pseudo.json") && e.getMessage().contains("validation"),
        e.getMessage());
  }
}

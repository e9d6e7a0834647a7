package dev.vidtag.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.CategoryMap;
import dev.vidtag.eval.OfficialScore;
import dev.vidtag.io.DataException;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnsembleFitTest {
  private static final CategoryMap CATEGORIES = CategoryMap.official();
  private static final int CLASSES = CATEGORIES.size();
  private static final List<String> IDS = List.of("v0", "v1", "v2", "v3", "v4");
  private static final int[] TRUTH = {0, 7, 14, 21, 28};

  @BeforeAll
  static void start() {
    TorchRuntime.initialize();
  }

  /**
   * Two members' logits, each video's true class and one wrong class (truth + 3) set, zero
   * elsewhere. With weights a and b = 1 - a, summed: videos 0 and 1 are right when 2a > b
   * (a > 1/3), videos 2 and 3 when 3b > a (a < 3/4), video 4 when a > 1.6 b (a > 0.615...).
   * Equal weights miss video 4; on a 0.05 grid the first weights that get all five are a = 0.65.
   */
  private static List<SplitLogits> members() {
    float[] a = new float[IDS.size() * CLASSES];
    float[] b = new float[IDS.size() * CLASSES];
    float[][] truthAndWrong = {{2, 0, 0, 1}, {2, 0, 0, 1}, {0, 1, 3, 0}, {0, 1, 3, 0},
        {1, 0, 0, 1.6f}};
    for (int v = 0; v < IDS.size(); v++) {
      int truth = v * CLASSES + TRUTH[v];
      int wrong = truth + 3;
      a[truth] = truthAndWrong[v][0];
      a[wrong] = truthAndWrong[v][1];
      b[truth] = truthAndWrong[v][2];
      b[wrong] = truthAndWrong[v][3];
    }
    return List.of(new SplitLogits(IDS, CLASSES, a), new SplitLogits(IDS, CLASSES, b));
  }

  @Test
  void findsTheWeightsThatGetEveryVideoRight() {
    EnsembleFit.Result fit = EnsembleFit.fit(members(), TRUTH, Fuse.LOGITS, 0.05, CATEGORIES);
    assertArrayEquals(new double[] {0.65, 0.35}, fit.weights(), 1e-12);
    assertEquals(1.0, fit.score().mean(), 1e-12, "all five right");
    int[] equalPredictions = {0, 7, 14, 21, 31};
    assertEquals(OfficialScore.of(TRUTH, equalPredictions, CATEGORIES), fit.equalWeights(),
        "equal weights miss video 4");
    assertEquals(1 + 21, fit.candidates(), "equal weights, then 21 points of the 0.05 grid");
  }

  @Test
  void tiesKeepEqualWeights() {
    SplitLogits same = members().get(0);
    EnsembleFit.Result fit = EnsembleFit.fit(List.of(same, same, same), TRUTH, Fuse.PROBS, 0.1,
        CATEGORIES);
    assertArrayEquals(new double[] {1.0 / 3, 1.0 / 3, 1.0 / 3}, fit.weights(), 1e-12);
    assertEquals(1 + 66, fit.candidates(), "C(12, 2) points of the 0.1 grid for three members");
  }

  @Test
  void refusesAStepThatDoesNotDivideOneOrAGridTooLarge() {
    IllegalArgumentException step = assertThrows(IllegalArgumentException.class,
        () -> EnsembleFit.fit(members(), TRUTH, Fuse.LOGITS, 0.3, CATEGORIES));
    assertTrue(step.getMessage().contains("must divide 1"), step.getMessage());
    List<SplitLogits> many = Collections.nCopies(10, members().get(0));
    IllegalArgumentException grid = assertThrows(IllegalArgumentException.class,
        () -> EnsembleFit.fit(many, TRUTH, Fuse.LOGITS, 0.01, CATEGORIES));
    assertTrue(grid.getMessage().contains("coarser step"), grid.getMessage());
  }

  @Test
  void theEnsembleFileRoundTripsAndNamesWhatIsWrong(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("ensemble.json");
    EnsembleFile written = new EnsembleFile(Fuse.PROBS, List.of(
        new EnsembleMember(dir.resolve("a"), 0.25), new EnsembleMember(dir.resolve("b"), 0.75)));
    written.write(file, Map.of("step", 0.05));
    EnsembleFile read = EnsembleFile.read(file);
    assertEquals(Fuse.PROBS, read.fuse());
    assertEquals(written.members(), read.members());

    Files.writeString(file, "{\"fuse\": \"logits\", \"members\": [{\"model\": \"a\", "
        + "\"weight\": 1}, {\"model\": \"b\", \"weight\": -2}]}");
    DataException e = assertThrows(DataException.class, () -> EnsembleFile.read(file));
    assertTrue(e.getMessage().contains("ensemble.json") && e.getMessage().contains("member 1")
        && e.getMessage().contains("weight"), e.getMessage());
  }
}

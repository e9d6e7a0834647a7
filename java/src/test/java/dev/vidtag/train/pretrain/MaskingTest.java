package dev.vidtag.train.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.runtime.TorchRuntime;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Masking rates, exclusions and the 80/10/10 split; the ITM pairs and their labels. */
class MaskingTest {
  static final int VOCAB = 1000;
  static final int PAD = 0;
  static final int CLS = 2;
  static final int SEP = 3;
  static final int MASK = 4;
  static final int ROWS = 64;
  static final int LENGTH = 200;

  @BeforeAll
  static void start() {
    TorchRuntime.initialize();
  }

  /** Rows of [CLS] w... [SEP] [PAD]...: row r has 100 + r real tokens, ids drawn from 10..999. */
  static long[][] texts(boolean[] continuation) {
    SplittableRandom random = new SplittableRandom(5);
    long[][] ids = new long[ROWS][LENGTH];
    for (int r = 0; r < ROWS; r++) {
      int real = 100 + r;
      ids[r][0] = CLS;
      for (int t = 1; t < real - 1; t++) {
        ids[r][t] = 10 + random.nextInt(VOCAB - 10);
      }
      ids[r][real - 1] = SEP;
    }
    return ids;
  }

  static Tensor toTensor(long[][] ids) {
    long[] flat = new long[ROWS * LENGTH];
    for (int r = 0; r < ROWS; r++) {
      System.arraycopy(ids[r], 0, flat, r * LENGTH, LENGTH);
    }
    Tensor t = torch.empty(new long[] {ROWS, LENGTH}, new TensorOptions(ScalarType.Long),
        new MemoryFormatOptional());
    t.data_ptr_long().put(flat, 0, flat.length);
    return t;
  }

  static long[] values(Tensor t) {
    long[] out = new long[(int) t.numel()];
    t.to(ScalarType.Long).contiguous().data_ptr_long().get(out);
    return out;
  }

  static Tensor keep(long[][] ids) {
    return toTensor(ids).ne(new org.bytedeco.pytorch.Scalar((long) PAD));
  }

  /** Ids 500..999 continue a word (##pieces). */
  static boolean[] continuation() {
    boolean[] c = new boolean[VOCAB];
    for (int i = 500; i < VOCAB; i++) {
      c[i] = true;
    }
    return c;
  }

  static MlmMasking masking(boolean wholeWord, int ngram) {
    return new MlmMasking(VOCAB, MASK, new int[] {CLS, SEP, PAD}, wholeWord ? continuation() : null,
        ngram, 0.15);
  }

  @Test
  void chooses15PercentOfRealTokensNeverSpecialOnesAndSplits80_10_10() {
    long[][] ids = texts(null);
    Tensor input = toTensor(ids);
    MlmMasking.Masked masked = masking(false, 1).mask(input, keep(ids),
        torch.createCPUGenerator(11));
    long[] inputs = values(masked.inputIds());
    long[] labels = values(masked.labels());
    long[] chosen = values(masked.chosen());
    long eligible = 0;
    long picked = 0;
    long toMask = 0;
    long kept = 0;
    for (int r = 0; r < ROWS; r++) {
      for (int t = 0; t < LENGTH; t++) {
        int i = r * LENGTH + t;
        long id = ids[r][t];
        boolean special = id == CLS || id == SEP || id == PAD;
        if (special) {
          assertEquals(0, chosen[i], "special or padding chosen at " + r + "," + t);
          assertEquals(id, inputs[i]);
          continue;
        }
        eligible++;
        if (chosen[i] == 1) {
          picked++;
          assertEquals(id, labels[i], "label is the original id");
          toMask += inputs[i] == MASK ? 1 : 0;
          kept += inputs[i] == id ? 1 : 0;
        } else {
          assertEquals(MlmMasking.IGNORE, labels[i]);
          assertEquals(id, inputs[i], "unchosen tokens are untouched");
        }
      }
    }
    // binomial(n ~ 8,000, 0.15): sd about 0.004; 0.8 and 0.1 of ~1,200: sd about 0.012 and 0.009
    assertEquals(0.15, (double) picked / eligible, 0.015);
    assertEquals(0.8, (double) toMask / picked, 0.04);
    assertEquals(0.1, (double) kept / picked, 0.03);
  }

  @Test
  void sameSeedSameMasksAndAnotherSeedOthers() {
    long[][] ids = texts(null);
    MlmMasking m = masking(false, 1);
    long[] a = values(m.mask(toTensor(ids), keep(ids), torch.createCPUGenerator(1)).inputIds());
    long[] b = values(m.mask(toTensor(ids), keep(ids), torch.createCPUGenerator(1)).inputIds());
    long[] c = values(m.mask(toTensor(ids), keep(ids), torch.createCPUGenerator(2)).inputIds());
    assertTrue(java.util.Arrays.equals(a, b));
    assertTrue(!java.util.Arrays.equals(a, c));
  }

  @Test
  void wholeWordMaskingTakesEveryPieceOfAWordOrNone() {
    long[][] ids = texts(continuation());
    MlmMasking.Masked masked = masking(true, 1).mask(toTensor(ids), keep(ids),
        torch.createCPUGenerator(3));
    long[] chosen = values(masked.chosen());
    long words = 0;
    long pickedWords = 0;
    long multiPieceWords = 0;
    for (int r = 0; r < ROWS; r++) {
      int t = 1;
      while (ids[r][t] != SEP) {
        int end = t + 1;
        while (ids[r][end] != SEP && ids[r][end] >= 500) {
          end++; // ##pieces continue the word
        }
        long first = chosen[r * LENGTH + t];
        for (int p = t; p < end; p++) {
          assertEquals(first, chosen[r * LENGTH + p], "word split at row " + r + " token " + p);
        }
        words++;
        pickedWords += first;
        multiPieceWords += end - t > 1 ? 1 : 0;
        t = end;
      }
    }
    assertTrue(multiPieceWords > 1000, "the test text has words of several pieces");
    assertEquals(0.15, (double) pickedWords / words, 0.02);
  }

  @Test
  void ngramMaskingChoosesSpansAtAboutTheSameRate() {
    long[][] ids = texts(null);
    long[] chosen = values(masking(false, 3).mask(toTensor(ids), keep(ids),
        torch.createCPUGenerator(4)).chosen());
    long eligible = 0;
    long picked = 0;
    long longRuns = 0;
    for (int r = 0; r < ROWS; r++) {
      int run = 0;
      for (int t = 0; t < LENGTH; t++) {
        long id = ids[r][t];
        boolean special = id == CLS || id == SEP || id == PAD;
        long c = chosen[r * LENGTH + t];
        if (special) {
          assertEquals(0, c);
        } else {
          eligible++;
          picked += c;
        }
        run = c == 1 ? run + 1 : 0;
        longRuns += run == 3 ? 1 : 0;
      }
    }
    // overlapping spans lose a little: the rate is a bit under 15%
    double rate = (double) picked / eligible;
    assertTrue(rate > 0.12 && rate < 0.16, "rate " + rate);
    assertTrue(longRuns > 50, "spans of 3: " + longRuns);
  }

  @Test
  void refusesAVocabularyWithoutMask() {
    assertThrows(IllegalArgumentException.class,
        () -> new MlmMasking(VOCAB, -1, new int[] {CLS}, null, 1, 0.15));
  }

  @Test
  void frameMaskingChoosesOnlyRealFramesAtItsRate() {
    int rows = 256;
    int slots = 32;
    long[] counts = new long[rows];
    Tensor lengths = torch.arange(new org.bytedeco.pytorch.Scalar((long) rows))
        .remainder(new org.bytedeco.pytorch.Scalar(33L));
    Tensor frameMask = torch.arange(new org.bytedeco.pytorch.Scalar((long) slots)).unsqueeze(0)
        .lt(lengths.unsqueeze(1));
    long[] mask = values(frameMask);
    long[] chosen = values(new MfmMasking(0.135).choose(frameMask, torch.createCPUGenerator(9)));
    long real = 0;
    long picked = 0;
    for (int i = 0; i < mask.length; i++) {
      if (mask[i] == 0) {
        assertEquals(0, chosen[i], "padded frame chosen at " + i);
      }
      real += mask[i];
      picked += chosen[i];
    }
    assertEquals(0.135, (double) picked / real, 0.012);
  }

  @Test
  void itmPairsKeepTheFirstHalfAndGiveTheRestOtherVideosFrames() {
    for (int batch : new int[] {2, 3, 7, 8, 32}) {
      for (long seed = 0; seed < 20; seed++) {
        ItmPairing.Pairs pairs = ItmPairing.pair(batch, new SplittableRandom(seed));
        int keep = batch - batch / 2;
        Set<Long> sources = new HashSet<>();
        for (int i = 0; i < batch; i++) {
          long source = pairs.frameSource()[i];
          sources.add(source);
          if (i < keep) {
            assertEquals(i, source);
            assertEquals(1f, pairs.matched()[i]);
          } else {
            assertNotEquals(i, source, "row " + i + " of " + batch + " kept its own frames");
            assertEquals(0f, pairs.matched()[i]);
          }
        }
        assertEquals(batch - batch / 2 + batch / 2, batch);
        assertEquals(batch, sources.size() + countDuplicates(pairs.frameSource()));
      }
    }
    assertThrows(IllegalArgumentException.class,
        () -> ItmPairing.pair(1, new SplittableRandom(0)));
  }

  private static int countDuplicates(long[] values) {
    Set<Long> seen = new HashSet<>();
    int duplicates = 0;
    for (long v : values) {
      duplicates += seen.add(v) ? 0 : 1;
    }
    return duplicates;
  }
}

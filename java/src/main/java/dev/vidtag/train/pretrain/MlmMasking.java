package dev.vidtag.train.pretrain;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * BERT's masked-language-model corruption, on whole batches with LibTorch ops: a share of the
 * real, non-special tokens is chosen; of those 80% become {@code [MASK]}, 10% a random id and
 * 10% stay as they were; the labels hold the original id where chosen and {@link #IGNORE}
 * elsewhere.
 *
 * <p>Units: single tokens, or with whole-word masking whole words (a piece {@code ##x} joins the
 * word before it). Spans: with {@code maxNgram > 1} a chosen unit starts a span of n units, n in
 * [1, maxNgram] with P(n) proportional to 1/n, and each unit starts a span with probability
 * {@code probability / E[n]}, so that about {@code probability} of the tokens are chosen
 * (overlapping spans make it a little less).
 */
public final class MlmMasking {
  /** The label of a position that is not predicted (PyTorch's ignore_index). */
  public static final long IGNORE = -100;

  /** What one corruption produced, each [B, T]. */
  public record Masked(Tensor inputIds, Tensor labels, Tensor chosen) {}

  private final int vocabularySize;
  private final int maskId;
  private final Tensor special;
  private final Tensor continuation;
  private final int maxNgram;
  private final double probability;
  private final Tensor spanLengthWeights;
  private final double meanSpan;

  /**
   * @param specialIds ids never chosen ([CLS], [SEP], [PAD], ...)
   * @param continuationPieces per id, whether it continues a word; null for token units
   */
  public MlmMasking(int vocabularySize, int maskId, int[] specialIds, boolean[] continuationPieces,
      int maxNgram, double probability) {
    if (maskId < 0 || maskId >= vocabularySize) {
      throw new IllegalArgumentException("the vocabulary of " + vocabularySize
          + " has no [MASK] token (mask id " + maskId + ")");
    }
    if (maxNgram < 1) {
      throw new IllegalArgumentException("maximum n-gram must be at least 1, got " + maxNgram);
    }
    if (!(probability > 0 && probability < 1)) {
      throw new IllegalArgumentException("masking probability must be in (0, 1), got "
          + probability);
    }
    this.vocabularySize = vocabularySize;
    this.maskId = maskId;
    this.maxNgram = maxNgram;
    this.probability = probability;
    boolean[] specials = new boolean[vocabularySize];
    for (int id : specialIds) {
      if (id >= 0 && id < vocabularySize) {
        specials[id] = true;
      }
    }
    this.special = boolTable(specials);
    this.continuation = continuationPieces == null ? null
        : boolTable(java.util.Arrays.copyOf(continuationPieces, vocabularySize));
    float[] weights = new float[maxNgram];
    double total = 0;
    double weighted = 0;
    for (int n = 1; n <= maxNgram; n++) {
      weights[n - 1] = 1f / n;
      total += 1.0 / n;
      weighted += 1.0;
    }
    this.meanSpan = weighted / total;
    this.spanLengthWeights = floatTensor(weights);
  }

  public double probability() {
    return probability;
  }

  public boolean wholeWords() {
    return continuation != null;
  }

  public int maxNgram() {
    return maxNgram;
  }

  /** Corrupts ids [B, T] (int64) whose real tokens are where keep [B, T] is true. */
  public Masked mask(Tensor ids, Tensor keep, Generator generator) {
    long batch = ids.size(0);
    long length = ids.size(1);
    long[] shape = {batch, length};
    Tensor flatIds = ids.reshape(-1);
    Tensor eligible = keep.to(ScalarType.Bool)
        .logical_and(special.index_select(0, flatIds).view(shape).logical_not());
    Tensor starts = unitStarts(eligible, flatIds, shape);
    Tensor unit = starts.to(ScalarType.Long).cumsum(1).sub(new Scalar(1L));
    GeneratorOptional random = new GeneratorOptional(generator);
    Tensor spanStarts = starts.logical_and(
        torch.rand(shape, random, new TensorOptions(ScalarType.Float))
            .lt(new Scalar(probability / meanSpan)));
    Tensor spanLengths = maxNgram == 1 ? torch.ones(shape, new TensorOptions(ScalarType.Long))
        : torch.multinomial(spanLengthWeights, batch * length, true, random).add(new Scalar(1L))
            .view(shape);
    // the furthest unit any span started so far reaches: a unit is inside a span when it is below
    Tensor reach = torch.where(spanStarts, unit.add(spanLengths),
        torch.full(shape, new Scalar(-1L), new TensorOptions(ScalarType.Long)));
    Tensor chosen = eligible.logical_and(torch.cummax(reach, 1).get0().gt(unit));

    Tensor action = torch.rand(shape, random, new TensorOptions(ScalarType.Float));
    Tensor toMask = chosen.logical_and(action.lt(new Scalar(0.8)));
    Tensor toRandom = chosen.logical_and(action.ge(new Scalar(0.8)))
        .logical_and(action.lt(new Scalar(0.9)));
    Tensor randomIds = torch.empty(shape, new TensorOptions(ScalarType.Long),
        new MemoryFormatOptional()).random_(vocabularySize, random);
    Tensor inputs = ids.masked_fill(toMask, new Scalar((long) maskId));
    inputs = torch.where(toRandom, randomIds, inputs);
    Tensor labels = ids.masked_fill(chosen.logical_not(), new Scalar(IGNORE));
    return new Masked(inputs, labels, chosen);
  }

  /** Where a unit starts: every eligible token, or (whole words) those that begin a word. */
  private Tensor unitStarts(Tensor eligible, Tensor flatIds, long[] shape) {
    if (continuation == null) {
      return eligible;
    }
    Tensor continues = continuation.index_select(0, flatIds).view(shape);
    // a continuation piece right after a special token or padding begins a unit of its own
    Tensor previousEligible = torch.constant_pad_nd(eligible.narrow(1, 0, shape[1] - 1)
        .to(ScalarType.Long), new long[] {1, 0}, new Scalar(0L)).to(ScalarType.Bool);
    return eligible.logical_and(continues.logical_not().logical_or(previousEligible.logical_not()));
  }

  private static Tensor boolTable(boolean[] values) {
    byte[] bytes = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      bytes[i] = (byte) (values[i] ? 1 : 0);
    }
    Tensor table = torch.empty(new long[] {values.length}, new TensorOptions(ScalarType.Byte),
        new MemoryFormatOptional());
    new BytePointer(table.data_ptr()).put(bytes, 0, bytes.length);
    return table.to(ScalarType.Bool);
  }

  private static Tensor floatTensor(float[] values) {
    Tensor tensor = torch.empty(new long[] {values.length}, new TensorOptions(ScalarType.Float),
        new MemoryFormatOptional());
    tensor.data_ptr_float().put(values, 0, values.length);
    return tensor;
  }
}

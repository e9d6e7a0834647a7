package dev.vidtag.train.pretrain;

import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.SingleStreamModel;
import dev.vidtag.model.VideoClassifierModel;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Single-stream pretraining (reference section 5), every step all three objectives over one
 * encoder pass:
 *
 * <ol>
 *   <li>ITM pairing: the second half of the batch gets other videos' frames; the frame masks
 *       (and so the frame targets) move with the frames, which the reference forgot.
 *   <li>MFM: real frames are chosen and zeroed after {@code video_fc}; the gradient still flows
 *       into {@code video_fc} through every frame (the reference cut it by a round trip through
 *       the CPU). The head's output at a chosen frame is scored against every real projected
 *       frame of the batch (padding excluded), cross-entropy on its own.
 *   <li>MLM on the text positions, through the head tied to the word embeddings.
 *   <li>ITM: a Linear(H, 1) on the text's [CLS] output, binary cross-entropy.
 * </ol>
 * Heads: {@code cls.predictions.*} (Hugging Face's names), {@code mfm_head.*},
 * {@code itm_head.*}.
 */
public final class SingleStreamPretraining implements PretrainingTask {
  private final SingleStreamModel model;
  private final Module heads;
  private final MlmHead mlmHead;
  private final MfmHead mfmHead;
  private final LinearImpl itmHead;
  private final MlmMasking textMasking;
  private final MfmMasking frameMasking;
  private final LossWeights weights;

  public SingleStreamPretraining(SingleStreamModel model, MlmMasking textMasking,
      MfmMasking frameMasking, LossWeights weights) {
    this.model = model;
    this.textMasking = textMasking;
    this.frameMasking = frameMasking;
    this.weights = weights;
    int hidden = model.config().textEncoder().hiddenSize();
    heads = new Module();
    mlmHead = heads.register_module("cls", new MlmHead(model.config().textEncoder()));
    mfmHead = heads.register_module("mfm_head",
        new MfmHead(hidden, model.config().textEncoder().layerNormEps()));
    itmHead = heads.register_module("itm_head", new LinearImpl(hidden, 1));
  }

  @Override
  public VideoClassifierModel model() {
    return model;
  }

  @Override
  public Module heads() {
    return heads;
  }

  @Override
  public MlmHead mlmHead() {
    return mlmHead;
  }

  /** What one step chose and computed, for tests that look inside. */
  record Step(ItmPairing.Pairs pairs, Tensor frameMask, Tensor chosenFrames,
      MlmMasking.Masked text, long candidateFrames, PretrainingLoss loss) {}

  @Override
  public PretrainingLoss loss(ModelInputs batch, StepContext step) {
    return step(batch, step.seed()).loss();
  }

  Step step(ModelInputs batch, long seed) {
    Generator generator = torch.createCPUGenerator(seed);
    int batchSize = (int) batch.batchSize();
    long frameSlots = batch.frames().size(1);
    long textSlots = batch.textIds().size(1);

    ItmPairing.Pairs pairs = ItmPairing.pair(batchSize, new SplittableRandom(seed));
    Tensor source = pairs.frameSourceTensor();
    Tensor projected = model.projectFrames(batch.frames()).index_select(0, source);
    Tensor frameMask = batch.frameMask().to(ScalarType.Bool).index_select(0, source);
    Tensor chosenFrames = frameMasking.choose(frameMask, generator);
    MlmMasking.Masked text = textMasking.mask(batch.textIds(), batch.textMask(), generator);

    Tensor maskedFrames = projected.masked_fill(chosenFrames.unsqueeze(2), new Scalar(0.0));
    Tensor hidden = model.encode(maskedFrames, frameMask, text.inputIds(), batch.textMask());
    long width = hidden.size(2);
    Tensor frameHidden = hidden.narrow(1, 0, frameSlots).reshape(-1, width);
    Tensor textHidden = hidden.narrow(1, frameSlots, textSlots);

    Tensor tokenRows = rows(text.chosen());
    Tensor tokenLogits = mlmHead.forward(textHidden.reshape(-1, width).index_select(0, tokenRows),
        model.bert().embeddings().wordEmbeddingWeight());
    Tensor mlm = PretrainingLosses.crossEntropy(tokenLogits,
        text.labels().reshape(-1).index_select(0, tokenRows));

    Tensor frameRows = rows(chosenFrames);
    Tensor flatMask = frameMask.reshape(-1);
    Tensor candidates = projected.reshape(-1, width).index_select(0, rows(frameMask));
    Tensor rankAmongReal = flatMask.to(ScalarType.Long).cumsum(0).sub(new Scalar(1L));
    Tensor mfm = PretrainingLosses.frameNce(
        mfmHead.forward(frameHidden.index_select(0, frameRows)), candidates,
        rankAmongReal.index_select(0, frameRows));

    Tensor itmLogits = itmHead.forward(textHidden.select(1, 0)).squeeze(1);
    Tensor itm = PretrainingLosses.matching(itmLogits, pairs.matchedTensor());

    Tensor total = mlm.mul(new Scalar(weights.mlm())).add(mfm.mul(new Scalar(weights.mfm())))
        .add(itm.mul(new Scalar(weights.itm())));
    Map<String, Tensor> terms = new LinkedHashMap<>();
    terms.put("mlm", mlm);
    terms.put("mfm", mfm);
    terms.put("itm", itm);
    return new Step(pairs, frameMask, chosenFrames, text, candidates.size(0),
        new PretrainingLoss(total, terms));
  }

  /** The flat row indices where a [B, L] bool mask is true. */
  static Tensor rows(Tensor mask) {
    return torch.nonzero(mask.reshape(-1)).reshape(-1);
  }
}

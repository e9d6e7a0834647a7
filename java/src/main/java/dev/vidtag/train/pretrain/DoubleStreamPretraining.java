package dev.vidtag.train.pretrain;

import dev.vidtag.model.BertConfig;
import dev.vidtag.model.BertModel;
import dev.vidtag.model.DoubleStreamModel;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.StateDicts;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Double-stream pretraining as ALBEF does it (reference section 5), loss = MLM + ITC + ITM:
 *
 * <ul>
 *   <li>ITC: masked means of the text's hidden states and of the encoded frames, projected
 *       ({@code text_proj}, {@code vision_proj}) and L2-normalised, scored against the batch's
 *       and the queues' momentum features over a learnt temperature ({@code temp}, clamped to
 *       [0.001, 0.5]); targets mix the momentum similarities (alpha, ramped up linearly over the
 *       first epoch) with the true pairs.
 *   <li>ITM: every video with its own text, with a hard negative text and every text with a hard
 *       negative video (drawn from the in-batch similarities), each negative with its own
 *       masks, through the decoder; a 2-way head ({@code itm_head}) on the frames' masked mean.
 *   <li>MLM on the text alone, its targets mixed with the momentum encoder's predictions.
 * </ul>
 * The momentum encoders ({@code momentum.*}: BERT, visual encoder, projections, MLM head)
 * follow the model through the fused EMA kernel after every step. Heads file: {@code cls.*},
 * {@code text_proj.*}, {@code vision_proj.*}, {@code itm_head.*}, {@code temp},
 * {@code momentum.*} and the queues.
 */
public final class DoubleStreamPretraining implements PretrainingTask {
  private final DoubleStreamModel model;
  private final Module heads;
  private final MlmHead mlmHead;
  private final LinearImpl textProj;
  private final LinearImpl visionProj;
  private final LinearImpl itmHead;
  private final Tensor temperature;
  private final Module momentum;
  private final BertModel momentumBert;
  private final LinearImpl momentumVisual;
  private final LinearImpl momentumTextProj;
  private final LinearImpl momentumVisionProj;
  private final MlmHead momentumMlmHead;
  private final FeatureQueue imageQueue;
  private final FeatureQueue textQueue;
  private final MomentumEncoders momentumEncoders;
  private final MlmMasking textMasking;
  private final PretrainOptions.Contrastive settings;

  public DoubleStreamPretraining(DoubleStreamModel model, MlmMasking textMasking,
      PretrainOptions.Contrastive settings) {
    this.model = model;
    this.textMasking = textMasking;
    this.settings = settings;
    BertConfig text = model.config().textEncoder();
    int hidden = text.hiddenSize();
    int frameDim = model.config().frameDim();
    heads = new Module();
    mlmHead = heads.register_module("cls", new MlmHead(text));
    textProj = heads.register_module("text_proj", new LinearImpl(hidden, hidden));
    visionProj = heads.register_module("vision_proj", new LinearImpl(hidden, hidden));
    itmHead = heads.register_module("itm_head", new LinearImpl(hidden, 2));
    // a handle of its own: the registration returns a reference into the module's dictionary,
    // which later registrations may move
    temperature = new Tensor(heads.register_parameter("temp",
        torch.full(new long[] {}, new Scalar(settings.temperature()),
            new TensorOptions(ScalarType.Float))));
    momentum = heads.register_module("momentum", new Module());
    momentumBert = momentum.register_module("bert", new BertModel(text, false, model.dropout()));
    momentumVisual = momentum.register_module("visual_encoder", new LinearImpl(frameDim, hidden));
    momentumTextProj = momentum.register_module("text_proj", new LinearImpl(hidden, hidden));
    momentumVisionProj = momentum.register_module("vision_proj", new LinearImpl(hidden, hidden));
    momentumMlmHead = momentum.register_module("cls", new MlmHead(text));
    imageQueue = new FeatureQueue(heads, "image_queue", settings.queueSize(), hidden);
    textQueue = new FeatureQueue(heads, "text_queue", settings.queueSize(), hidden);
    momentumEncoders = new MomentumEncoders(momentumSources(), momentum, settings.momentum());
  }

  /** The live parameters the momentum encoders follow, under the momentum module's names. */
  private Map<String, Tensor> momentumSources() {
    Map<String, Tensor> live = new LinkedHashMap<>();
    StateDicts.parameters(model).forEach((name, tensor) -> {
      if ((name.startsWith("bert.") && !name.startsWith("bert.pooler."))
          || name.startsWith("visual_encoder.")) {
        live.put(name, tensor);
      }
    });
    StateDicts.parameters(heads).forEach((name, tensor) -> {
      if (name.startsWith("text_proj.") || name.startsWith("vision_proj.")
          || name.startsWith("cls.")) {
        live.put(name, tensor);
      }
    });
    return live;
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

  /** The momentum encoders start again from the live weights. */
  @Override
  public void weightsLoaded() {
    momentumEncoders.reset();
  }

  FeatureQueue imageQueue() {
    return imageQueue;
  }

  FeatureQueue textQueue() {
    return textQueue;
  }

  /** The weight of the momentum targets at a step: alpha, ramped linearly over epoch one. */
  double alpha(StepContext step) {
    return settings.alpha() * Math.min(1.0, step.epochs());
  }

  /** What a step chose, for tests that look inside. */
  record Step(Tensor negativeTexts, Tensor negativeVideos, Tensor itmLabels,
      PretrainingLoss loss) {}

  @Override
  public PretrainingLoss loss(ModelInputs batch, StepContext step) {
    return step(batch, step).loss();
  }

  Step step(ModelInputs batch, StepContext context) {
    long batchSize = batch.batchSize();
    if (batchSize > settings.queueSize()) {
      throw new IllegalArgumentException("batch of " + batchSize + " larger than the queue of "
          + settings.queueSize());
    }
    Generator generator = torch.createCPUGenerator(context.seed());
    double alpha = alpha(context);
    try (NoGradGuard noGrad = new NoGradGuard()) {
      temperature.clamp_(new org.bytedeco.pytorch.ScalarOptional(new Scalar(0.001)),
          new org.bytedeco.pytorch.ScalarOptional(new Scalar(0.5)));
    }
    Tensor ids = batch.textIds();
    Tensor textMask = batch.textMask().to(ScalarType.Bool);
    Tensor frameMask = batch.frameMask().to(ScalarType.Bool);
    BertModel bert = model.bert();

    // contrastive
    Tensor textHidden = bert.forward(ids, textMask);
    Tensor frameHidden = model.encodeFrames(batch.frames());
    Tensor textFeature = PretrainingLosses.normalize(
        textProj.forward(Pooling.maskedMean(textHidden, textMask)));
    Tensor imageFeature = PretrainingLosses.normalize(
        visionProj.forward(Pooling.maskedMean(frameHidden, frameMask)));
    Tensor textMomentum;
    Tensor imageMomentum;
    Tensor imageAll;
    Tensor textAll;
    try (NoGradGuard noGrad = new NoGradGuard()) {
      textMomentum = PretrainingLosses.normalize(momentumTextProj.forward(
          Pooling.maskedMean(momentumBert.forward(ids, textMask), textMask)));
      imageMomentum = PretrainingLosses.normalize(momentumVisionProj.forward(
          Pooling.maskedMean(momentumVisual.forward(batch.frames().to(ScalarType.Float)),
              frameMask)));
      imageAll = imageQueue.withQueued(imageMomentum);
      textAll = textQueue.withQueued(textMomentum);
    }
    Tensor itc = PretrainingLosses.contrastive(imageFeature, textFeature, imageAll, textAll,
        imageMomentum, textMomentum, temperature, alpha);

    // matching, with hard negatives from the in-batch similarities
    Tensor similarity = imageFeature.matmul(textFeature.t()).div(temperature);
    Tensor negativeTexts = HardNegatives.sample(similarity, generator);
    Tensor negativeVideos = HardNegatives.sample(similarity.t(), generator);
    Tensor decoded = model.decode(
        cat(frameHidden, frameHidden, frameHidden.index_select(0, negativeVideos)),
        cat(frameMask, frameMask, frameMask.index_select(0, negativeVideos)),
        cat(textHidden, textHidden.index_select(0, negativeTexts), textHidden),
        cat(textMask, textMask.index_select(0, negativeTexts), textMask));
    Tensor decodedMask = cat(frameMask, frameMask, frameMask.index_select(0, negativeVideos));
    Tensor itmLogits = itmHead.forward(Pooling.maskedMean(decoded, decodedMask));
    Tensor itmLabels = torch.cat(new TensorVector(
        torch.ones(new long[] {batchSize}, new TensorOptions(ScalarType.Long)),
        torch.zeros(new long[] {2 * batchSize}, new TensorOptions(ScalarType.Long))), 0);
    Tensor itm = PretrainingLosses.crossEntropy(itmLogits, itmLabels);

    // masked tokens, distilled from the momentum encoder
    MlmMasking.Masked masked = textMasking.mask(ids, textMask, generator);
    Tensor rows = SingleStreamPretraining.rows(masked.chosen());
    long width = textHidden.size(2);
    Tensor maskedHidden = bert.forward(masked.inputIds(), textMask).reshape(-1, width)
        .index_select(0, rows);
    Tensor logits = mlmHead.forward(maskedHidden, bert.embeddings().wordEmbeddingWeight());
    Tensor targets = masked.labels().reshape(-1).index_select(0, rows);
    Tensor mlm = PretrainingLosses.crossEntropy(logits, targets);
    if (alpha > 0 && rows.size(0) > 0) {
      Tensor soft;
      try (NoGradGuard noGrad = new NoGradGuard()) {
        Tensor momentumHidden = momentumBert.forward(masked.inputIds(), textMask)
            .reshape(-1, width).index_select(0, rows);
        soft = torch.softmax(momentumMlmHead.forward(momentumHidden,
            momentumBert.embeddings().wordEmbeddingWeight()), 1);
      }
      mlm = mlm.mul(new Scalar(1 - alpha)).add(
          PretrainingLosses.softCrossEntropy(logits, soft).mul(new Scalar(alpha)));
    }

    imageQueue.enqueue(imageMomentum);
    textQueue.enqueue(textMomentum);

    Tensor total = mlm.add(itc).add(itm);
    Map<String, Tensor> terms = new LinkedHashMap<>();
    terms.put("mlm", mlm);
    terms.put("itc", itc);
    terms.put("itm", itm);
    terms.put("temp", temperature.detach());
    terms.put("alpha", torch.full(new long[] {}, new Scalar(alpha),
        new TensorOptions(ScalarType.Float)));
    return new Step(negativeTexts, negativeVideos, itmLabels, new PretrainingLoss(total, terms));
  }

  @Override
  public void afterOptimizerStep() {
    momentumEncoders.update();
  }

  @Override
  public void close() {
    momentumEncoders.close();
  }

  private static Tensor cat(Tensor a, Tensor b, Tensor c) {
    return torch.cat(new TensorVector(a, b, c), 0);
  }
}

package dev.vidtag.train;

import dev.vidtag.data.Batch;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.train.TrainOptions.Adversarial;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * One fine-tuning step, the twin of pretraining's: the clean loss and its gradients, the
 * adversary's extra passes on perturbed word embeddings, then the shared {@link OptimizerStep}
 * and the EMA of the weights. Build it outside any pointer scope; run each step inside one.
 */
final class FineTuningStep implements AutoCloseable {
  static final String WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight";

  private final VideoClassifierModel model;
  private final List<String> names;
  private final List<Tensor> weights;
  private final OptimizerStep optimizer;
  private final ExponentialMovingAverage ema;
  private final Adversary adversary;
  private final int adversaryFromEpoch;
  private final List<String> skippedPerturbations = new ArrayList<>();

  FineTuningStep(VideoClassifierModel model, TrainOptions options, LinearWarmupDecay schedule) {
    this.model = model;
    Map<String, Tensor> all = StateDicts.parameters(model);
    this.names = List.copyOf(all.keySet());
    this.weights = List.copyOf(all.values());
    TrainedParameters trained =
        TrainedParameters.of(model, TrainedParameters.UNUSED_BY_CLASSIFIERS);
    this.optimizer = new OptimizerStep(trained, model.dropout(),
        new OptimizerStep.Settings(options.optimization().learningRates(), schedule,
            options.optimization().clipGradNorm(), options.seed()));
    this.ema = new ExponentialMovingAverage(names, weights, options.optimization().emaDecay());
    this.adversary = adversary(options.adversarial(), trained);
    this.adversaryFromEpoch = options.adversarial().fromEpoch();
    model.train(true);
  }

  private static Adversary adversary(Adversarial settings, TrainedParameters trained) {
    Tensor words = trained.get(WORD_EMBEDDINGS);
    return switch (settings.kind()) {
      case NONE -> Adversary.NONE;
      case FGM -> new Fgm(List.of(WORD_EMBEDDINGS), List.of(words), settings.fgmEpsilon());
      case PGD -> new Pgd(trained.names(), trained.tensors(), List.of(WORD_EMBEDDINGS),
          List.of(words), settings.pgdSteps(), settings.pgdEpsilon(), settings.pgdAlpha());
    };
  }

  /** Step number {@code step} (from 1) on a batch of {@code epoch}; returns the clean loss. */
  double run(Batch batch, long step, int epoch) {
    optimizer.begin(step);
    ModelInputs inputs = new ModelInputs(batch.textIds(), batch.textMask(), batch.frames(),
        batch.frameMask());
    Tensor loss = loss(inputs, batch.labels());
    loss.backward();
    double lossValue = loss.item_double();
    if (epoch >= adversaryFromEpoch) {
      for (int pass = 0; pass < adversary.passes(); pass++) {
        skippedPerturbations.addAll(adversary.perturb(pass));
        loss(inputs, batch.labels()).backward();
      }
      adversary.restore();
    }
    if (optimizer.finish(step, lossValue)) {
      ema.update();
    }
    return lossValue;
  }

  private Tensor loss(ModelInputs inputs, Tensor labels) {
    return torch.nll_loss(torch.log_softmax(model.forward(inputs).logits(), 1), labels);
  }

  VideoClassifierModel model() {
    return model;
  }

  OptimizerStep optimizer() {
    return optimizer;
  }

  ExponentialMovingAverage ema() {
    return ema;
  }

  /** Saves what a resumed run needs (weights, EMA, AdamW) with the run's counters. */
  void saveState(Path run, TrainingState.Counters counters) {
    TrainingState.save(run, counters, names, weights, ema.shadowTensors(), optimizer.optimizer());
  }

  /** Loads a saved state into this step; returns its counters. */
  TrainingState.Counters restoreState(Path run) {
    TrainingState.Counters counters = TrainingState.load(run, names, weights,
        ema.shadowTensors(), optimizer.optimizer());
    optimizer.restoreSkips(counters.skippedSteps(), counters.consecutiveSkips());
    return counters;
  }

  /** Tensors an attack left unperturbed, once per skipped perturbation. */
  List<String> skippedPerturbations() {
    return List.copyOf(skippedPerturbations);
  }

  @Override
  public void close() {
    optimizer.close();
    ema.close();
    if (adversary instanceof AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception e) {
        throw new IllegalStateException("cannot release the adversary's tensors", e);
      }
    }
  }
}

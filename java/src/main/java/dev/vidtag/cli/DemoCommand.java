package dev.vidtag.cli;

import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.train.ExponentialMovingAverage;
import dev.vidtag.train.Pgd;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.EmbeddingImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The end-to-end demonstration of what VidTag can do today, on data it generates itself: a small
 * text-plus-frames classifier trained with AdamW, an EMA of its weights and PGD on its word
 * embeddings, both through the fused native kernels, then scored with live and EMA weights.
 * It grows into the full pipeline (synthetic dataset, BERT models, ensemble) as those land.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Trains and evaluates a small classifier on generated data, end to end.")
final class DemoCommand implements Callable<Integer> {
  private static final int VOCABULARY = 2000;
  private static final int TOKENS_PER_VIDEO = 12;
  private static final int FRAME_DIM = 32;
  private static final int HIDDEN = 64;
  private static final int CLASSES = 20;

  @Spec CommandSpec spec;

  @Mixin RuntimeMixin runtime;

  @Option(names = "--videos", defaultValue = "6000", description = "Generated videos (default: ${DEFAULT-VALUE}).")
  int videos;

  @Option(names = "--epochs", defaultValue = "4", description = "Training epochs (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--seed", defaultValue = "2022", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  /** Bag-of-words text encoder plus a frame projection; names as the checkpoint would have them. */
  static final class SmallClassifier extends Module {
    final EmbeddingImpl wordEmbeddings;
    final LinearImpl frameFc;
    final LinearImpl classifier;

    SmallClassifier() {
      wordEmbeddings = register_module("word_embeddings", new EmbeddingImpl(VOCABULARY, HIDDEN));
      frameFc = register_module("video_fc", new LinearImpl(FRAME_DIM, HIDDEN));
      classifier = register_module("classifier", new LinearImpl(HIDDEN, CLASSES));
    }

    Tensor forward(Tensor tokens, Tensor frames) {
      Tensor text = wordEmbeddings.forward(tokens).mean(1);
      return classifier.forward(torch.relu(text.add(frameFc.forward(frames))));
    }
  }

  /** Videos as token ids [N, T], frame features [N, F] and labels [N]. */
  record Dataset(Tensor tokens, Tensor frames, Tensor labels) {
    long size() {
      return labels.size(0);
    }

    Dataset slice(long from, long to) {
      return new Dataset(tokens.narrow(0, from, to - from), frames.narrow(0, from, to - from),
          labels.narrow(0, from, to - from));
    }
  }

  @Override
  public Integer call() {
    runtime.start();
    PrintWriter out = spec.commandLine().getOut();
    torch.manual_seed(seed);

    long start = System.nanoTime();
    Dataset all = generate(videos, new Random(seed));
    long split = all.size() * 4 / 5;
    Dataset train = all.slice(0, split);
    Dataset test = all.slice(split, all.size());
    double generateSeconds = seconds(start);

    start = System.nanoTime();
    SmallClassifier model = new SmallClassifier();
    Map<String, Tensor> named = StateDicts.parameters(model);
    List<String> names = new ArrayList<>(named.keySet());
    List<Tensor> parameters = new ArrayList<>(named.values());
    ExponentialMovingAverage ema = new ExponentialMovingAverage(names, parameters, 0.99);
    Pgd pgd = new Pgd(names, parameters, List.of("word_embeddings.weight"),
        List.of(model.wordEmbeddings.weight()), 3, 1.0, 0.3);
    AdamWOptions options = new AdamWOptions(2e-3);
    options.weight_decay().put(0.01);
    AdamW optimizer = new AdamW(model.parameters(), options);
    int batch = 64;
    int skippedPerturbations = 0;
    for (int epoch = 0; epoch < epochs; epoch++) {
      model.train(true);
      Tensor order = torch.randperm(train.size());
      for (long from = 0; from + batch <= train.size(); from += batch) {
        try (PointerScope scope = new PointerScope()) {
          Tensor index = order.narrow(0, from, batch);
          Tensor tokens = torch.index_select(train.tokens(), 0, index);
          Tensor frames = torch.index_select(train.frames(), 0, index);
          Tensor labels = torch.index_select(train.labels(), 0, index);
          Runnable forwardBackward = () -> loss(model, tokens, frames, labels).backward();
          optimizer.zero_grad(false);
          forwardBackward.run();
          skippedPerturbations += pgd.attack(forwardBackward, () -> model.zero_grad(false)).size();
          optimizer.step();
          ema.update();
        }
      }
    }
    double trainSeconds = seconds(start);

    start = System.nanoTime();
    double liveAccuracy = accuracy(model, test);
    double[] emaAccuracy = new double[1];
    ema.withAveragedWeights(() -> emaAccuracy[0] = accuracy(model, test));
    pgd.close();
    ema.close();
    double evaluateSeconds = seconds(start);
    double majority = majorityShare(train, test);

    out.printf("%-40s %9s%n", "stage", "seconds");
    out.printf("%-40s %9.2f%n", "generate " + videos + " videos", generateSeconds);
    out.printf("%-40s %9.2f%n", "train " + epochs + " epochs (AdamW, EMA, PGD K=3)", trainSeconds);
    out.printf("%-40s %9.2f%n", "evaluate", evaluateSeconds);
    out.println();
    out.printf("%-40s %9s%n", "test split (" + test.size() + " videos)", "accuracy");
    out.printf("%-40s %9.4f%n", "majority class", majority);
    out.printf("%-40s %9.4f%n", "live weights", liveAccuracy);
    out.printf("%-40s %9.4f%n", "EMA weights (decay 0.99)", emaAccuracy[0]);
    if (skippedPerturbations > 0) {
      out.printf("PGD steps skipped for a zero or non-finite gradient: %d%n", skippedPerturbations);
    }
    out.flush();
    return 0;
  }

  private static Tensor loss(SmallClassifier model, Tensor tokens, Tensor frames, Tensor labels) {
    return torch.nll_loss(torch.log_softmax(model.forward(tokens, frames), 1), labels);
  }

  private static double accuracy(SmallClassifier model, Dataset data) {
    model.train(false);
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor predicted = model.forward(data.tokens(), data.frames()).argmax(new org.bytedeco.pytorch.LongOptional(1), false);
      return predicted.eq(data.labels()).sum().item_double() / data.size();
    }
  }

  private static double majorityShare(Dataset train, Dataset test) {
    try (PointerScope scope = new PointerScope()) {
      long majority = torch.bincount(train.labels()).argmax().item_long();
      return test.labels().eq(new org.bytedeco.pytorch.Scalar(majority)).sum().item_double() / test.size();
    }
  }

  /**
   * Long-tailed classes (Zipf); each video's words mix class words, words of its group of
   * classes and common noise, and its frame vector is a noisy class centroid.
   */
  static Dataset generate(int count, Random random) {
    double[] cumulative = new double[CLASSES];
    double total = 0;
    for (int c = 0; c < CLASSES; c++) {
      total += 1.0 / (c + 1);
      cumulative[c] = total;
    }
    float[][] centroids = new float[CLASSES][FRAME_DIM];
    for (float[] centroid : centroids) {
      for (int d = 0; d < FRAME_DIM; d++) {
        centroid[d] = (float) random.nextGaussian();
      }
    }
    long[] tokens = new long[count * TOKENS_PER_VIDEO];
    float[] frames = new float[count * FRAME_DIM];
    long[] labels = new long[count];
    int wordsPerClass = 40;
    for (int v = 0; v < count; v++) {
      double u = random.nextDouble() * total;
      int label = 0;
      while (cumulative[label] < u) {
        label++;
      }
      labels[v] = label;
      int group = label / 4;
      for (int t = 0; t < TOKENS_PER_VIDEO; t++) {
        double kind = random.nextDouble();
        int word;
        if (kind < 0.25) {
          word = label * wordsPerClass + random.nextInt(wordsPerClass);
        } else if (kind < 0.45) {
          word = 1000 + group * 50 + random.nextInt(50);
        } else {
          word = 1500 + random.nextInt(500);
        }
        tokens[v * TOKENS_PER_VIDEO + t] = word;
      }
      for (int d = 0; d < FRAME_DIM; d++) {
        frames[v * FRAME_DIM + d] = centroids[label][d] + 2.5f * (float) random.nextGaussian();
      }
    }
    return new Dataset(
        torch.tensor(tokens).reshape(count, TOKENS_PER_VIDEO).clone(),
        torch.tensor(frames).reshape(count, FRAME_DIM).clone(),
        torch.tensor(labels).clone());
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }
}

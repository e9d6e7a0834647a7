package dev.vidtag.benchmarks;

import dev.vidtag.data.Batch;
import dev.vidtag.data.BertTokenizer;
import dev.vidtag.data.Collator;
import dev.vidtag.data.Dataset;
import dev.vidtag.data.FrameSampler;
import dev.vidtag.data.Sample;
import dev.vidtag.data.SyntheticDataset;
import dev.vidtag.data.TextRule;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.ZipFeatureStore;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Video;
import dev.vidtag.infer.VideoClassifier;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.model.Architecture;
import dev.vidtag.model.BertConfig;
import dev.vidtag.model.HuggingFaceBert;
import dev.vidtag.model.ModelConfig;
import dev.vidtag.model.ModelDirectory;
import dev.vidtag.model.ModelInputs;
import dev.vidtag.model.Pooling;
import dev.vidtag.model.VideoClassifierModel;
import dev.vidtag.runtime.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the classifier API costs on top of the model: {@code classify} (tokenize with the model's
 * rule, choose frames, collate with dynamic padding, forward, softmax, top 5, lv1 sums) against
 * the bare forward of the same videos already collated. A small single-stream model (hidden 128,
 * 2 layers, 8 frames of 32 features + at most 64 tokens) keeps the model's share small, so the
 * overhead shows; generated videos. Threads: 1 (LibTorch intra-op and OpenBLAS).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class ClassifierBenchmark {
  static final int THREADS = 1;
  static final int FRAMES = 8;
  static final int TEXT = 64;

  @Param({"1", "16"})
  public int batch;

  private Path directory;
  private VideoClassifier classifier;
  private VideoClassifierModel model;
  private List<Video> videos;
  private Batch collated;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    TorchRuntime.initialize();
    TorchRuntime.setThreads(THREADS);
    directory = Files.createTempDirectory("vidtag-classifier-bench");
    Path data = directory.resolve("data");
    new SyntheticDataset(new SyntheticDataset.Options(0, 0, batch, 32,
        SyntheticDataset.FrameKind.NPY, 1)).write(data);
    Path textModel = data.resolve(SyntheticDataset.TEXT_MODEL);
    BertConfig bert = new BertConfig(HuggingFaceBert.config(textModel).vocabSize(), 128, 2, 2,
        512, 512, 2, 1e-12, 0.1, 0.1, "gelu");
    torch.manual_seed(1);
    Path modelDirectory = directory.resolve("model");
    ModelDirectory.save(modelDirectory, VideoClassifierModel.create(new ModelConfig(
        Architecture.SINGLE, 200, 32, FRAMES, TEXT, Pooling.MEAN_MASKED, null, bert)), textModel);
    classifier = VideoClassifier.open(List.of(EnsembleMember.of(modelDirectory)),
        VideoClassifier.Options.defaults());
    model = ModelDirectory.load(modelDirectory);

    Dataset dataset = Dataset.at(data);
    List<VideoAnnotation> annotations = dataset.annotations("test_a", false);
    FrameSampler sampler = new FrameSampler(FRAMES);
    List<Sample> samples = new ArrayList<>();
    videos = new ArrayList<>();
    try (ZipFeatureStore features = dataset.openFeatures("test_a");
         BertTokenizer tokenizer = BertTokenizer.fromModelDirectory(modelDirectory)) {
      for (VideoAnnotation a : annotations) {
        Video video = Video.of(a, features.read(a.id()));
        videos.add(video);
        samples.add(new Sample(a.id(), TextRule.reference(TEXT).encode(a, tokenizer),
            video.frames(), sampler.uniform(video.frames().frames()), -1));
      }
      collated = new Collator(Collator.Padding.DYNAMIC, TEXT, FRAMES, tokenizer.padId())
          .collate(samples, IntStream.range(0, batch).toArray());
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    classifier.close();
    collated.close();
    AtomicFiles.deleteRecursively(directory);
  }

  @Benchmark
  public int classify() {
    return classifier.classifyBatch(videos).size();
  }

  @Benchmark
  public float forwardOnly() {
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      return model.forward(new ModelInputs(collated.textIds(), collated.textMask(),
          collated.frames(), collated.frameMask())).logits().sum().item_float();
    }
  }
}

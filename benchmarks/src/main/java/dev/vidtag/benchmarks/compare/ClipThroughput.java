package dev.vidtag.benchmarks.compare;

import dev.vidtag.model.ClipVisionTransformer;
import dev.vidtag.model.FrameEncoderDirectory;
import dev.vidtag.model.weights.SafetensorsFile;
import dev.vidtag.runtime.TorchRuntime;
import java.nio.file.Path;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Frames per second of a frame encoder (a directory written by import-clip) on random pixels,
 * fp32, at batch 32 and batch 1: the best of {@code runs} timed forwards after one warm-up, as
 * benchmarks/compare/clip_eager.py times PyTorch eager.
 *
 * <pre>
 * ClipThroughput --encoder DIR [--threads 2] [--runs 2] [--expect IO.safetensors]
 * </pre>
 * With {@code --expect} (tensors {@code pixels} and {@code image_embeds}, e.g. from Hugging
 * Face on the same weights), it first prints the relative error of the encoder's output on those
 * pixels: max |ours - theirs| / max |theirs|; {@code --runs 0} stops there.
 */
public final class ClipThroughput {
  private ClipThroughput() {}

  public static void main(String[] args) {
    Arguments a = new Arguments(args, 0);
    Path dir = Path.of(a.string("--encoder", null));
    int threads = a.integer("--threads", 2);
    int runs = a.integer("--runs", 2);
    boolean checkOnly = runs == 0;
    TorchRuntime.initialize();
    TorchRuntime.setThreads(threads);
    TorchRuntime.setBlasThreads(threads);
    ClipVisionTransformer tower = FrameEncoderDirectory.load(dir);
    int size = tower.config().imageSize();
    System.out.printf(Locale.ROOT, "VidTag/%s, %d threads, %s%n", TorchRuntime.blas(), threads,
        tower.config());
    String expect = a.string("--expect", "");
    if (!expect.isEmpty()) {
      try (SafetensorsFile file = SafetensorsFile.open(Path.of(expect));
          InferenceMode inference = new InferenceMode()) {
        Tensor theirs = file.view("image_embeds").to(ScalarType.Double);
        Tensor ours = tower.forward(file.view("pixels")).to(ScalarType.Double);
        double error = ours.sub(theirs).abs().max().item_double()
            / theirs.abs().max().item_double();
        System.out.printf(Locale.ROOT, "relative error against %s: %.2e%n", expect, error);
      }
    }
    for (int batch : checkOnly ? new int[0] : new int[] {32, 1}) {
      double best = Double.POSITIVE_INFINITY;
      int timed = batch > 1 ? runs : 5 * runs;
      try (InferenceMode inference = new InferenceMode()) {
        Tensor pixels = torch.randn(batch, 3, size, size);
        for (int i = 0; i <= timed; i++) {
          try (PointerScope scope = new PointerScope()) {
            long start = System.nanoTime();
            tower.forward(pixels);
            double seconds = (System.nanoTime() - start) / 1e9;
            if (i > 0) {
              best = Math.min(best, seconds); // the first call is the warm-up
            }
          }
        }
      }
      System.out.printf(Locale.ROOT, "batch %d: best of runs %.3f s, %.2f frames/s%n", batch,
          best, batch / best);
    }
  }
}

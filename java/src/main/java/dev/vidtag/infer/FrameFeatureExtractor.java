package dev.vidtag.infer;

import dev.vidtag.data.Dataset;
import dev.vidtag.data.FrameArchive;
import dev.vidtag.data.FramePipeline;
import dev.vidtag.data.NpyWriter;
import dev.vidtag.data.VideoAnnotation;
import dev.vidtag.data.ZipMembers;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import dev.vidtag.model.ClipVisionTransformer;
import dev.vidtag.model.FramePreprocessing;
import dev.vidtag.model.FramePreprocessing.Normalization;
import dev.vidtag.model.FramePreprocessing.Resize;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipOutputStream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Encodes every video's JPG frames of a split with a CLIP frame encoder into a feature zip in the
 * official layout: one float16 {@code <id>.npy} [frames, outputDim] per video, stored
 * uncompressed; a video without frames gets a [0, outputDim] entry. The first
 * {@code maxFrames} frames in time order are used, as the reference did. The zip is written
 * under a temporary name and renamed when complete.
 */
public final class FrameFeatureExtractor {
  /** What a run did. */
  public record Summary(int videos, int framesEncoded, int videosWithoutFrames, int badFrames,
      double seconds) {}

  private final ClipVisionTransformer encoder;
  private final FramePipeline pipeline = new FramePipeline();
  private final int maxFrames;
  private final int batchSize;
  private final boolean skipBadFrames;
  /** ImageNet-normalised pixels to the encoder's normalisation (identity when it is ImageNet). */
  private final Tensor renormScale;
  private final Tensor renormShift;

  public FrameFeatureExtractor(ClipVisionTransformer encoder, FramePreprocessing preprocessing,
      int maxFrames, int batchSize, boolean skipBadFrames) {
    if (preprocessing.resize() != Resize.SHORTER_256_CROP_224
        || encoder.config().imageSize() != FramePipeline.CROP) {
      // the pixel pipeline implements the reference's rule only
      throw new IllegalArgumentException("frame extraction supports "
          + Resize.SHORTER_256_CROP_224.configName() + " into a " + FramePipeline.CROP
          + "-pixel tower; this encoder wants " + preprocessing.resize().configName() + " into "
          + encoder.config().imageSize());
    }
    if (maxFrames <= 0 || batchSize <= 0) {
      throw new IllegalArgumentException("max frames and batch size must be positive");
    }
    this.encoder = encoder;
    this.maxFrames = maxFrames;
    this.batchSize = batchSize;
    this.skipBadFrames = skipBadFrames;
    double[] scale = new double[3];
    double[] shift = new double[3];
    double[] fromMean = Normalization.IMAGENET.mean();
    double[] fromStd = Normalization.IMAGENET.std();
    double[] toMean = preprocessing.normalization().mean();
    double[] toStd = preprocessing.normalization().std();
    for (int c = 0; c < 3; c++) {
      // (x * s1 + m1 - m2) / s2: exact, since both normalisations are affine in the pixel
      scale[c] = fromStd[c] / toStd[c];
      shift[c] = (fromMean[c] - toMean[c]) / toStd[c];
    }
    boolean identity = preprocessing.normalization() == Normalization.IMAGENET;
    renormScale = identity ? null : channelTensor(scale);
    renormShift = identity ? null : channelTensor(shift);
  }

  /** Encodes the split's videos into {@code out}; progress lines go to {@code progress}. */
  public Summary extract(Dataset dataset, String split, Path out, PrintWriter progress) {
    List<VideoAnnotation> videos = dataset.annotations(split, false);
    int outputDim = encoder.config().outputDim();
    long start = System.nanoTime();
    int[] counts = new int[3]; // frames encoded, videos without frames, bad frames
    try {
      Files.createDirectories(out.toAbsolutePath().getParent());
    } catch (IOException e) {
      throw DataException.at(out, null, null, "cannot create its folder: " + e.getMessage(), e);
    }
    AtomicFiles.write(out, stream -> {
      try (ZipOutputStream zip = new ZipOutputStream(stream)) {
        int done = 0;
        int reportEvery = Math.max(1, videos.size() / 20);
        for (VideoAnnotation video : videos) {
          Path archive = dataset.frameArchive(split, video.id());
          List<byte[]> jpegs = Files.isRegularFile(archive) ? FrameArchive.readJpegs(archive)
              : List.of();
          if (jpegs.size() > maxFrames) {
            jpegs = jpegs.subList(0, maxFrames);
          }
          float[] features = encodeVideo(jpegs, archive, counts);
          int frames = features.length / outputDim;
          if (frames == 0) {
            counts[1]++;
          }
          counts[0] += frames;
          ZipMembers.writeStored(zip, video.id() + ".npy",
              NpyWriter.float16(features, frames, outputDim));
          done++;
          if (progress != null && (done % reportEvery == 0 || done == videos.size())) {
            double elapsed = (System.nanoTime() - start) / 1e9;
            double eta = elapsed / done * (videos.size() - done);
            progress.printf("%d/%d videos, %d frames, %.1f frames/s, ETA %.0f s%n", done,
                videos.size(), counts[0], counts[0] / Math.max(elapsed, 1e-9), eta);
            progress.flush();
          }
        }
      }
    });
    return new Summary(videos.size(), counts[0], counts[1], counts[2],
        (System.nanoTime() - start) / 1e9);
  }

  /** The features of one video's frames, row-major [frames, outputDim]. */
  float[] encodeVideo(List<byte[]> jpegs, Path archive, int[] counts) {
    List<Tensor> parts = new ArrayList<>();
    try (PointerScope scope = new PointerScope(); InferenceMode inference = new InferenceMode()) {
      for (int from = 0; from < jpegs.size(); from += batchSize) {
        List<byte[]> batch = jpegs.subList(from, Math.min(jpegs.size(), from + batchSize));
        Tensor pixels = decodeBatch(batch, from, archive, counts);
        if (pixels.size(0) > 0) {
          parts.add(encoder.forward(pixels));
        }
      }
      if (parts.isEmpty()) {
        return new float[0];
      }
      Tensor all = torch.cat(new TensorVector(parts.toArray(new Tensor[0])), 0)
          .to(torch.ScalarType.Float).contiguous();
      float[] out = new float[(int) all.numel()];
      all.data_ptr_float().get(out);
      return out;
    }
  }

  private Tensor decodeBatch(List<byte[]> batch, int firstIndex, Path archive, int[] counts) {
    Tensor pixels = torch.empty(batch.size(), 3, FramePipeline.CROP, FramePipeline.CROP);
    FloatPointer target = pixels.data_ptr_float().capacity(pixels.numel());
    int kept = 0;
    for (int i = 0; i < batch.size(); i++) {
      try {
        pipeline.decode(batch.get(i), target, (long) kept * FramePipeline.FRAME_FLOATS, archive,
            "frame " + (firstIndex + i));
        kept++;
      } catch (DataException e) {
        if (!skipBadFrames) {
          throw e;
        }
        counts[2]++;
      }
    }
    Tensor x = kept == batch.size() ? pixels : pixels.narrow(0, 0, kept);
    if (renormScale != null) {
      x = x.mul(renormScale).add(renormShift);
    }
    return x;
  }

  private static Tensor channelTensor(double[] values) {
    Tensor t = torch.empty(1, 3, 1, 1);
    for (int c = 0; c < 3; c++) {
      t.select(1, c).fill_(new Scalar(values[c]));
    }
    return t;
  }
}

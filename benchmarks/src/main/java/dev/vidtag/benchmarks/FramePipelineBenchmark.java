package dev.vidtag.benchmarks;

import dev.vidtag.data.FramePipeline;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.global.opencv_core;
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
 * One JPG frame to normalised 3 x 224 x 224 floats on ONE core (OpenCV's own thread pool is
 * set to 1 thread; a loader gets its parallelism from decoding frames on several threads):
 * VidTag's OpenCV pipeline against the same steps in plain Java (ImageIO decoding, Java2D
 * bilinear scaling, a Java loop for crop and normalisation). Throughput = frames/s per core.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class FramePipelineBenchmark {
  private static final Path FILE = Path.of("benchmark.zip");
  private static final float[] MEAN = {0.485f, 0.456f, 0.406f};
  private static final float[] STD = {0.229f, 0.224f, 0.225f};

  /** Frame size as WIDTHxHEIGHT: the synthetic frames and a 720p frame. */
  @Param({"320x240", "1280x720"})
  public String size;

  private byte[] jpeg;
  private FramePipeline pipeline;
  private FramePipeline reducedPipeline;
  private FloatPointer out;
  private float[] javaOut;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    opencv_core.setNumThreads(1);
    String[] parts = size.split("x");
    jpeg = photoLikeJpeg(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
    pipeline = new FramePipeline();
    reducedPipeline = new FramePipeline(FramePipeline.Resize.MATCH_TORCHVISION, true);
    out = new FloatPointer(FramePipeline.FRAME_FLOATS);
    javaOut = new float[FramePipeline.FRAME_FLOATS];
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    out.close();
  }

  @Benchmark
  public FloatPointer openCv() {
    pipeline.decode(jpeg, out, 0, FILE, "frame.jpg");
    return out;
  }

  /** Large frames decoded at half size by DCT scaling (no effect below 512 pixels). */
  @Benchmark
  public FloatPointer openCvReducedDecoding() {
    reducedPipeline.decode(jpeg, out, 0, FILE, "frame.jpg");
    return out;
  }

  @Benchmark
  public float[] imageIo() throws IOException {
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(jpeg));
    int width = image.getWidth();
    int height = image.getHeight();
    int newHeight = height <= width ? 256 : 256 * height / width;
    int newWidth = height <= width ? 256 * width / height : 256;
    BufferedImage resized = new BufferedImage(newWidth, newHeight, BufferedImage.TYPE_3BYTE_BGR);
    Graphics2D g = resized.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
    g.drawImage(image, 0, 0, newWidth, newHeight, null);
    g.dispose();
    byte[] bgr = ((DataBufferByte) resized.getRaster().getDataBuffer()).getData();
    int top = (int) Math.rint((newHeight - 224) / 2.0);
    int left = (int) Math.rint((newWidth - 224) / 2.0);
    for (int c = 0; c < 3; c++) {
      float scale = 1f / (255f * STD[c]);
      float shift = -MEAN[c] / STD[c];
      for (int y = 0; y < 224; y++) {
        int row = ((top + y) * newWidth + left) * 3 + (2 - c);
        for (int x = 0; x < 224; x++) {
          javaOut[(c * 224 + y) * 224 + x] = (bgr[row + 3 * x] & 0xFF) * scale + shift;
        }
      }
    }
    return javaOut;
  }

  /** Smooth shapes plus sensor-like noise, JPEG quality 0.75 (ImageIO's default). */
  static byte[] photoLikeJpeg(int width, int height) throws IOException {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
    byte[] pixels = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
    Random random = new Random(1);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        for (int c = 0; c < 3; c++) {
          double smooth = 128 + 90 * Math.sin(x / (40.0 + 9 * c)) * Math.cos(y / (55.0 + 5 * c));
          pixels[(y * width + x) * 3 + c] = (byte) Math.max(0, Math.min(255, smooth + random.nextGaussian() * 6));
        }
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "jpg", out);
    return out.toByteArray();
  }
}

package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.FramePipeline.Resize;
import dev.vidtag.io.DataException;
import dev.vidtag.runtime.TorchRuntime;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * Against PyTorch: src/test/resources/dev/vidtag/data/frames/make_fixtures.py computes
 * torchvision's Resize(256) + CenterCrop(224) + Normalize on procedural images that
 * {@link #pattern} regenerates bit for bit.
 */
class FramePipelineTest {
  private static final Path FILE = Path.of("video.zip");
  /** One 8-bit level after normalisation: 1 / 255 / 0.225 (the largest std gives the smallest). */
  private static final double LEVEL = 1 / 255.0 / 0.224;

  static int tri(long t, int period) {
    return (int) (Math.abs(Math.floorMod(t, 2L * period) - period) * 255 / period);
  }

  /** RGB bytes [H, W, 3]: make_fixtures.py's pattern. */
  static byte[] pattern(int width, int height) {
    byte[] rgb = new byte[width * height * 3];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        for (int c = 0; c < 3; c++) {
          int smooth = (tri(x + 31 * c, 97) + tri(y + 17 * c, 61) + tri(x + y, 149)) / 3;
          long texture = (((x * 131L + y * 137L + c * 139L) * 2654435761L) % (1L << 32)) >> 28;
          rgb[(y * width + x) * 3 + c] = (byte) Math.max(0, Math.min(255, smooth + texture - 8));
        }
      }
    }
    return rgb;
  }

  /** The test pattern encoded as a JPEG by ImageIO, a decoder independent of OpenCV. */
  private static ByteArrayOutputStream patternJpeg(int width, int height) throws IOException {
    byte[] rgb = pattern(width, height);
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
    byte[] raster = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
    for (int i = 0; i < rgb.length; i += 3) {
      raster[i] = rgb[i + 2];
      raster[i + 1] = rgb[i + 1];
      raster[i + 2] = rgb[i];
    }
    ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
    ImageIO.write(image, "jpg", jpeg);
    return jpeg;
  }

  private static Mat bgrMat(byte[] rgb, int width, int height) {
    byte[] bgr = rgb.clone();
    for (int i = 0; i < bgr.length; i += 3) {
      bgr[i] = rgb[i + 2];
      bgr[i + 2] = rgb[i];
    }
    Mat mat = new Mat(height, width, org.bytedeco.opencv.global.opencv_core.CV_8UC3);
    new BytePointer(mat.data()).capacity(bgr.length).put(bgr);
    return mat;
  }

  private static float[] expected(String name) throws IOException {
    FrameFeatures values = NpyReader.read(ByteBuffer.wrap(
        FramePipelineTest.class.getResourceAsStream("frames/" + name).readAllBytes()), FILE, name, true);
    ByteBuffer data = values.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[FramePipeline.FRAME_FLOATS];
    for (int i = 0; i < out.length; i++) {
      out[i] = Float16.toFloat(data.getShort());
    }
    return out;
  }

  private static float[] run(FramePipeline pipeline, int width, int height) {
    try (PointerScope scope = new PointerScope()) {
      FloatPointer out = new FloatPointer(FramePipeline.FRAME_FLOATS);
      pipeline.preprocess(bgrMat(pattern(width, height), width, height), out, 0);
      float[] values = new float[FramePipeline.FRAME_FLOATS];
      out.get(values);
      return values;
    }
  }

  /** {max, mean} absolute difference in 8-bit levels. */
  private static double[] levels(float[] actual, float[] expected) {
    double max = 0;
    double sum = 0;
    for (int i = 0; i < actual.length; i++) {
      double d = Math.abs(actual[i] - expected[i]) / LEVEL;
      max = Math.max(max, d);
      sum += d;
    }
    return new double[] {max, sum / actual.length};
  }

  @Test
  void regeneratesThePythonPattern() {
    byte[] rgb = pattern(320, 240);
    // printed by make_fixtures.py: pixels (0, 0), (200, 100), (319, 239)
    int[][] expected = {{247, 209, 158}, {217, 213, 174}, {161, 177, 179}};
    int[][] at = {{0, 0}, {200, 100}, {319, 239}};
    for (int k = 0; k < 3; k++) {
      for (int c = 0; c < 3; c++) {
        assertEquals(expected[k][c], rgb[(at[k][1] * 320 + at[k][0]) * 3 + c] & 0xFF);
      }
    }
  }

  @Test
  void enlargingMatchesTorchvisionWithinOneLevel() throws IOException {
    // 320 x 240 -> 341 x 256: bilinear without filtering in both. OpenCV's 11-bit fixed-point
    // weights round differently from float math by at most one 8-bit level (about 1 value in 8
    // here); the fixture's float16 storage adds up to 0.06 of a level
    double[] error = levels(run(new FramePipeline(), 320, 240), expected("expected_320x240.npy"));
    assertTrue(error[0] <= 1.1 && error[1] < 0.2, Arrays.toString(error));
  }

  @Test
  void shrinkingBilinearMatchesUnfilteredBilinearAndAreaComesCloserToTorchvision() throws IOException {
    float[] bilinear = run(new FramePipeline(Resize.BILINEAR), 1280, 720);
    float[] area = run(new FramePipeline(Resize.MATCH_TORCHVISION), 1280, 720);
    double[] plain = levels(bilinear, expected("expected_1280x720_plain.npy"));
    assertTrue(plain[0] <= 1.1 && plain[1] < 0.2, "bilinear vs antialias=False " + Arrays.toString(plain));
    float[] torchvision = expected("expected_1280x720_antialias.npy");
    double[] bilinearError = levels(bilinear, torchvision);
    double[] areaError = levels(area, torchvision);
    System.out.printf("1280x720 vs torchvision (antialias): bilinear max %.1f mean %.2f levels, "
        + "area max %.1f mean %.2f levels%n", bilinearError[0], bilinearError[1], areaError[0], areaError[1]);
    assertTrue(areaError[1] < bilinearError[1], "area should be closer");
    // measured: area max 2 levels, mean 0.29; bilinear max 8, mean 2.6
    assertTrue(areaError[1] < 0.5 && areaError[0] <= 2.1, Arrays.toString(areaError));
  }

  @Test
  void decodesJpegsLikeAnIndependentDecoder() throws IOException {
    ByteArrayOutputStream jpeg = patternJpeg(320, 240);
    BufferedImage javaDecoded = ImageIO.read(new java.io.ByteArrayInputStream(jpeg.toByteArray()));
    byte[] javaPixels = ((DataBufferByte) javaDecoded.getRaster().getDataBuffer()).getData();
    try (PointerScope scope = new PointerScope()) {
      Mat decoded = FramePipeline.decodeBgr(jpeg.toByteArray(), FILE, "0000.jpg");
      assertEquals(240, decoded.rows());
      assertEquals(320, decoded.cols());
      byte[] opencvPixels = new byte[javaPixels.length];
      new BytePointer(decoded.data()).get(opencvPixels);
      long sum = 0;
      int max = 0;
      for (int i = 0; i < opencvPixels.length; i++) {
        int d = Math.abs((opencvPixels[i] & 0xFF) - (javaPixels[i] & 0xFF));
        sum += d;
        max = Math.max(max, d);
      }
      // two IDCT and chroma upsampling implementations: a few levels apart at most
      assertTrue(max <= 6 && sum / (double) opencvPixels.length < 1.0, "max " + max + ", mean " + sum / (double) opencvPixels.length);
    }
    float[] values = new FramePipeline().decode(jpeg.toByteArray(), FILE, "0000.jpg");
    double[] error = levels(values, expected("expected_320x240.npy"));
    assertTrue(error[1] < 4, "after JPEG compression " + Arrays.toString(error));
  }

  @Test
  void writesFramesSideBySideIntoOneBuffer() throws IOException {
    byte[] first = FrameImages.jpeg(3, 0, new java.util.SplittableRandom(1));
    byte[] second = FrameImages.jpeg(150, 5, new java.util.SplittableRandom(2));
    FramePipeline pipeline = new FramePipeline();
    try (PointerScope scope = new PointerScope()) {
      FloatPointer batch = new FloatPointer(2L * FramePipeline.FRAME_FLOATS);
      pipeline.decode(first, batch, 0, FILE, "a");
      pipeline.decode(second, batch, FramePipeline.FRAME_FLOATS, FILE, "b");
      float[] both = new float[2 * FramePipeline.FRAME_FLOATS];
      batch.get(both);
      assertArrayEquals(pipeline.decode(first, FILE, "a"), Arrays.copyOf(both, FramePipeline.FRAME_FLOATS));
      assertArrayEquals(pipeline.decode(second, FILE, "b"),
          Arrays.copyOfRange(both, FramePipeline.FRAME_FLOATS, both.length));
      assertThrows(IllegalArgumentException.class,
          () -> pipeline.decode(first, batch, FramePipeline.FRAME_FLOATS + 1, FILE, "c"));
    }
  }

  @Test
  void decodesStraightIntoATensorsStorage() throws IOException {
    TorchRuntime.initialize();
    byte[] first = FrameImages.jpeg(7, 0, new java.util.SplittableRandom(4));
    byte[] second = FrameImages.jpeg(90, 3, new java.util.SplittableRandom(5));
    FramePipeline pipeline = new FramePipeline();
    try (PointerScope scope = new PointerScope()) {
      Tensor frames = torch.empty(2, 3, FramePipeline.CROP, FramePipeline.CROP);
      FloatPointer storage = frames.data_ptr_float();
      pipeline.decode(first, storage, 0, FILE, "0000.jpg");
      pipeline.decode(second, storage, FramePipeline.FRAME_FLOATS, FILE, "0001.jpg");
      float[] values = new float[2 * FramePipeline.FRAME_FLOATS];
      frames.data_ptr_float().get(values);
      assertArrayEquals(pipeline.decode(first, FILE, "0000.jpg"), Arrays.copyOf(values, FramePipeline.FRAME_FLOATS));
      assertArrayEquals(pipeline.decode(second, FILE, "0001.jpg"),
          Arrays.copyOfRange(values, FramePipeline.FRAME_FLOATS, values.length));
      // channel 0 of frame 1 is red: its mean is that of the tensor slice LibTorch sees
      double red = frames.select(0, 1).select(0, 0).mean().item_double();
      double expected = 0;
      for (int i = 0; i < FramePipeline.CROP * FramePipeline.CROP; i++) {
        expected += values[FramePipeline.FRAME_FLOATS + i];
      }
      assertEquals(expected / (FramePipeline.CROP * FramePipeline.CROP), red, 1e-4);
    }
  }

  @Test
  void reducedDecodingOfLargeFramesStaysCloseToFullDecoding() throws IOException {
    ByteArrayOutputStream jpeg = patternJpeg(1280, 720);
    assertEquals(720, FramePipeline.shortSide(jpeg.toByteArray()));
    float[] full = new FramePipeline().decode(jpeg.toByteArray(), FILE, "0000.jpg");
    float[] reduced = new FramePipeline(Resize.MATCH_TORCHVISION, true).decode(jpeg.toByteArray(), FILE, "0000.jpg");
    double[] error = levels(reduced, full);
    double[] fullVsTorch = levels(full, expected("expected_1280x720_antialias.npy"));
    double[] reducedVsTorch = levels(reduced, expected("expected_1280x720_antialias.npy"));
    System.out.printf("1280x720 JPEG: reduced vs full decoding max %.1f mean %.2f levels; vs torchvision on the"
        + " raw image: full mean %.2f, reduced mean %.2f%n", error[0], error[1], fullVsTorch[1], reducedVsTorch[1]);
    assertTrue(error[1] < 2, Arrays.toString(error));
  }

  @Test
  void corruptJpegsAreErrorsNamingTheFrame() throws IOException {
    byte[] jpeg = FrameImages.jpeg(3, 0, new java.util.SplittableRandom(1));
    FramePipeline pipeline = new FramePipeline();
    assertFrameError(() -> pipeline.decode(new byte[] {1, 2, 3, 4, 5}, FILE, "0001.jpg"), "0001.jpg", "not a JPEG");
    assertFrameError(() -> pipeline.decode(Arrays.copyOf(jpeg, jpeg.length / 2), FILE, "0002.jpg"), "0002.jpg", "truncated JPEG");
    byte[] garbage = jpeg.clone();
    Arrays.fill(garbage, 2, garbage.length - 2, (byte) 0x55);
    assertFrameError(() -> pipeline.decode(garbage, FILE, "0003.jpg"), "0003.jpg", "corrupt JPEG");
  }

  private static void assertFrameError(Runnable action, String frame, String problem) {
    DataException e = assertThrows(DataException.class, action::run);
    assertTrue(e.getMessage().startsWith("video.zip: item " + frame + ": " + problem), e.getMessage());
  }
}

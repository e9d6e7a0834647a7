package dev.vidtag.data;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_32FC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_core.split;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_REDUCED_COLOR_2;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_AREA;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_LINEAR;
import static org.bytedeco.opencv.global.opencv_imgproc.resize;

import dev.vidtag.io.DataException;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.MatVector;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.opencv.opencv_core.Size;

/**
 * A JPG frame to model input, as the reference prepared frames (torchvision's Resize(256),
 * CenterCrop(224), ToTensor, Normalize with ImageNet's mean and std): decode, resize the short
 * side to 256 keeping the aspect ratio (the long side truncated, like torchvision), crop the
 * centre 224 x 224 (offsets rounded half to even, like Python's round), and write
 * {@code (x / 255 - mean) / std} per RGB channel, channel-major (CHW float32).
 *
 * <p>All pixel work is OpenCV's (libjpeg-turbo decoding, SIMD resize and conversion); the last
 * step writes each channel straight into the caller's memory, so a batch of frames can be
 * decoded into one LibTorch tensor's storage without a copy. Instances are stateless and safe
 * from several threads; native memory is released when each call returns.
 *
 * <p>Resizing is bilinear. When a frame shrinks, torchvision (and PIL) filter first
 * (antialiasing) while OpenCV's bilinear does not; OpenCV's area interpolation comes closer
 * then, so {@link Resize#MATCH_TORCHVISION} uses it for shrinking and bilinear for enlarging
 * (FramePipelineTest measures both against PyTorch).
 */
public final class FramePipeline {
  public static final int RESIZE = 256;
  public static final int CROP = 224;
  /** Floats per frame: 3 x 224 x 224. */
  public static final int FRAME_FLOATS = 3 * CROP * CROP;
  private static final double[] MEAN = {0.485, 0.456, 0.406};
  private static final double[] STD = {0.229, 0.224, 0.225};

  /** How the short side is brought to 256. */
  public enum Resize {
    /** Bilinear both ways (OpenCV INTER_LINEAR: exact bilinear, no filtering when shrinking). */
    BILINEAR,
    /** Area averaging when shrinking, bilinear when enlarging: closest to torchvision. */
    MATCH_TORCHVISION
  }

  private final Resize resizeMode;
  private final boolean reducedDecoding;

  public FramePipeline() {
    this(Resize.MATCH_TORCHVISION, false);
  }

  public FramePipeline(Resize resizeMode) {
    this(resizeMode, false);
  }

  /**
   * With {@code reducedDecoding}, a JPEG whose short side is at least 512 is decoded at half
   * size by libjpeg's DCT scaling (much less work) before the resize to 256.
   */
  public FramePipeline(Resize resizeMode, boolean reducedDecoding) {
    this.resizeMode = resizeMode;
    this.reducedDecoding = reducedDecoding;
  }

  /**
   * Decodes {@code jpeg} into {@code out[offset, offset + FRAME_FLOATS)}; {@code file} and
   * {@code frame} name it in errors.
   *
   * @throws DataException when the bytes are not a complete, decodable JPEG
   */
  public void decode(byte[] jpeg, FloatPointer out, long offset, Path file, String frame) {
    requireCapacity(out, offset);
    try (PointerScope scope = new PointerScope()) {
      int flags = reducedDecoding && shortSide(jpeg) >= 2 * RESIZE ? IMREAD_REDUCED_COLOR_2 : IMREAD_COLOR;
      preprocess(decodeBgr(jpeg, file, frame, flags), out, offset);
    }
  }

  /** Decodes one frame into a new array (tests, tools; the batch path uses the pointer form). */
  public float[] decode(byte[] jpeg, Path file, String frame) {
    try (PointerScope scope = new PointerScope()) {
      FloatPointer out = new FloatPointer(FRAME_FLOATS);
      decode(jpeg, out, 0, file, frame);
      float[] values = new float[FRAME_FLOATS];
      out.get(values);
      return values;
    }
  }

  /**
   * The decoded BGR pixels, 8 bits per channel. Refuses input without a JPEG's start and end
   * markers: libjpeg decodes a truncated file with a grey bottom and only a warning.
   */
  static Mat decodeBgr(byte[] jpeg, Path file, String frame) {
    return decodeBgr(jpeg, file, frame, IMREAD_COLOR);
  }

  private static Mat decodeBgr(byte[] jpeg, Path file, String frame, int flags) {
    if (jpeg.length < 4 || (jpeg[0] & 0xFF) != 0xFF || (jpeg[1] & 0xFF) != 0xD8) {
      throw DataException.at(file, frame, null, "not a JPEG (no start-of-image marker)");
    }
    if (!endsWithEndOfImage(jpeg)) {
      throw DataException.at(file, frame, null, "truncated JPEG (no end-of-image marker)");
    }
    Mat encoded = new Mat(1, jpeg.length, CV_8UC1, new BytePointer(jpeg));
    Mat image;
    try {
      image = imdecode(encoded, flags);
    } catch (RuntimeException e) {
      throw DataException.at(file, frame, null, "corrupt JPEG: " + e.getMessage(), e);
    }
    if (image == null || image.empty() || image.type() != CV_8UC3) {
      throw DataException.at(file, frame, null, "corrupt JPEG (cannot be decoded)");
    }
    if (image.rows() < 2 || image.cols() < 2 || image.rows() > 16_384 || image.cols() > 16_384) {
      throw DataException.at(file, frame, null, "JPEG of " + image.cols() + " x " + image.rows()
          + " pixels is not a video frame");
    }
    return image;
  }

  /** Resize, crop and normalise 8-bit BGR pixels into {@code out} at {@code offset}. */
  void preprocess(Mat bgr, FloatPointer out, long offset) {
    requireCapacity(out, offset);
    int height = bgr.rows();
    int width = bgr.cols();
    int newHeight = height <= width ? RESIZE : (int) ((long) RESIZE * height / width);
    int newWidth = height <= width ? (int) ((long) RESIZE * width / height) : RESIZE;
    boolean shrinking = newHeight < height;
    int interpolation = resizeMode == Resize.MATCH_TORCHVISION && shrinking ? INTER_AREA : INTER_LINEAR;
    Mat resized = new Mat();
    resize(bgr, resized, new Size(newWidth, newHeight), 0, 0, interpolation);
    int top = (int) Math.rint((newHeight - CROP) / 2.0);
    int left = (int) Math.rint((newWidth - CROP) / 2.0);
    Mat crop = new Mat(resized, new Rect(left, top, CROP, CROP));
    MatVector bgrPlanes = new MatVector();
    split(crop, bgrPlanes);
    for (int rgb = 0; rgb < 3; rgb++) {
      // (x / 255 - mean) / std as one affine map, written straight into the output plane
      double alpha = 1.0 / (255.0 * STD[rgb]);
      double beta = -MEAN[rgb] / STD[rgb];
      // Mat's data argument is a void*: JavaCPP offsets it by the position in bytes
      long planeByte = (out.position() + offset + (long) rgb * CROP * CROP) * Float.BYTES;
      BytePointer plane = new BytePointer(out).position(planeByte);
      Mat target = new Mat(CROP, CROP, CV_32FC1, plane);
      bgrPlanes.get(2 - rgb).convertTo(target, CV_32F, alpha, beta);
      if (target.data().address() != out.address() + planeByte) {
        throw new IllegalStateException("OpenCV reallocated the output plane");
      }
    }
  }

  /** The short side from the JPEG's frame header, 0 when none is found (then decode fully). */
  static int shortSide(byte[] jpeg) {
    int i = 2;
    while (i + 9 < jpeg.length) {
      if ((jpeg[i] & 0xFF) != 0xFF) {
        return 0;
      }
      int marker = jpeg[i + 1] & 0xFF;
      if (marker == 0xFF) {
        i++; // fill byte
        continue;
      }
      boolean startOfFrame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8
          && marker != 0xCC;
      if (startOfFrame) {
        int height = ((jpeg[i + 5] & 0xFF) << 8) | (jpeg[i + 6] & 0xFF);
        int width = ((jpeg[i + 7] & 0xFF) << 8) | (jpeg[i + 8] & 0xFF);
        return Math.min(height, width);
      }
      i += 2 + (((jpeg[i + 2] & 0xFF) << 8) | (jpeg[i + 3] & 0xFF));
    }
    return 0;
  }

  private static boolean endsWithEndOfImage(byte[] jpeg) {
    // the marker may be followed by a little padding
    for (int i = jpeg.length - 2; i >= Math.max(2, jpeg.length - 66); i--) {
      if ((jpeg[i] & 0xFF) == 0xFF && (jpeg[i + 1] & 0xFF) == 0xD9) {
        return true;
      }
    }
    return false;
  }

  private static void requireCapacity(FloatPointer out, long offset) {
    if (out == null || out.isNull()) {
      throw new IllegalArgumentException("output pointer is null");
    }
    // a pointer into a tensor's storage may not know its capacity (0): then the caller sized it
    long end = out.position() + offset + FRAME_FLOATS;
    if (offset < 0 || (out.capacity() > 0 && end > out.capacity())) {
      throw new IllegalArgumentException("output has room for " + out.capacity()
          + " floats; a frame at " + offset + " needs " + end);
    }
  }
}

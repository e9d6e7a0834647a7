package dev.vidtag.infer;

import dev.vidtag.data.FrameFeatures;
import dev.vidtag.data.OcrText;
import dev.vidtag.data.VideoAnnotation;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One video to classify: its text fields and its frame features {@code [frames, dim]}. Each
 * model of a classifier turns it into input ids with its own tokenizer and text rule, and picks
 * at most its {@code max_frames} frames by the evaluation rule (uniform).
 */
public record Video(VideoAnnotation annotation, FrameFeatures frames) {

  public Video {
    Objects.requireNonNull(annotation, "annotation");
    Objects.requireNonNull(frames, "frames");
  }

  /** A video of an annotation file with its features (e.g. from a split's zip_feats). */
  public static Video of(VideoAnnotation annotation, FrameFeatures frames) {
    return new Video(annotation, frames);
  }

  /**
   * A video from plain values.
   *
   * @param ocrTexts the on-screen texts in time order (joined as the annotation files' are)
   * @param frames row-major frame features, {@code frameCount * dim} values
   */
  public static Video of(String id, String title, String asr, List<String> ocrTexts,
      float[] frames, int frameCount, int dim) {
    Objects.requireNonNull(frames, "frames");
    if (frameCount < 0 || dim < 1 || (long) frameCount * dim != frames.length) {
      throw new IllegalArgumentException("video " + id + ": " + frames.length
          + " feature values do not make " + frameCount + " frames of width " + dim);
    }
    ByteBuffer bytes = ByteBuffer.allocate(frames.length * Float.BYTES)
        .order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(frames);
    return new Video(annotation(id, title, asr, ocrTexts),
        new FrameFeatures(bytes, FrameFeatures.ElementType.FLOAT32, frameCount, dim));
  }

  /** As above, with the features as one array per frame (all of the same width). */
  public static Video of(String id, String title, String asr, List<String> ocrTexts,
      float[][] frames, int dim) {
    float[] flat = new float[Math.multiplyExact(frames.length, dim)];
    for (int f = 0; f < frames.length; f++) {
      if (frames[f].length != dim) {
        throw new IllegalArgumentException("video " + id + ": frame " + f + " has "
            + frames[f].length + " values, expected " + dim);
      }
      System.arraycopy(frames[f], 0, flat, f * dim, dim);
    }
    return of(id, title, asr, ocrTexts, flat, frames.length, dim);
  }

  public String id() {
    return annotation.id();
  }

  private static VideoAnnotation annotation(String id, String title, String asr,
      List<String> ocrTexts) {
    List<OcrText> ocr = new ArrayList<>(ocrTexts.size());
    for (int i = 0; i < ocrTexts.size(); i++) {
      ocr.add(new OcrText(i, Objects.requireNonNull(ocrTexts.get(i), "ocr text")));
    }
    return new VideoAnnotation(Objects.requireNonNull(id, "id"),
        Objects.requireNonNull(title, "title"), Objects.requireNonNull(asr, "asr"), ocr,
        Optional.empty());
  }
}

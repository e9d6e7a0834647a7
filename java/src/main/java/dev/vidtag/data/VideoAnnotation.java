package dev.vidtag.data;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One item of an official annotation file. Text fields may be empty, never null;
 * {@code categoryId} is present in labeled splits only.
 */
public record VideoAnnotation(String id, String title, String asr, List<OcrText> ocr,
    Optional<String> categoryId) {

  public VideoAnnotation {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(asr, "asr");
    ocr = List.copyOf(ocr);
    Objects.requireNonNull(categoryId, "categoryId");
  }
}

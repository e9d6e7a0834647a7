package dev.vidtag.model.weights;

import dev.vidtag.io.DataException;
import java.nio.file.Path;

/** A weights file that cannot be read: the message names the file and, where known, the tensor. */
public final class WeightFormatException extends DataException {
  private static final long serialVersionUID = 1L;

  private WeightFormatException(String message, Throwable cause) {
    super(message, cause);
  }

  public static WeightFormatException of(Path file, String tensor, String problem) {
    return of(file, tensor, problem, null);
  }

  public static WeightFormatException of(Path file, String tensor, String problem,
      Throwable cause) {
    String where = file + ": " + (tensor == null ? "" : "tensor '" + tensor + "': ");
    return new WeightFormatException(where + problem, cause);
  }
}

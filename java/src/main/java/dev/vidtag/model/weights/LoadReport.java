package dev.vidtag.model.weights;

import java.nio.file.Path;
import java.util.List;

/**
 * What loading a state dict into a model did: the model's tensors that the file lacked, and the
 * file's tensors that the model has no place for (after any renaming and ignoring).
 */
public record LoadReport(List<String> missing, List<String> unexpected) {
  public LoadReport {
    missing = List.copyOf(missing);
    unexpected = List.copyOf(unexpected);
  }

  public boolean complete() {
    return missing.isEmpty() && unexpected.isEmpty();
  }

  /** Fails naming every missing and unexpected key unless the file matched the model exactly. */
  public LoadReport requireComplete(Path file) {
    if (!complete()) {
      throw WeightFormatException.of(file, null, describe());
    }
    return this;
  }

  public String describe() {
    StringBuilder s = new StringBuilder();
    if (!missing.isEmpty()) {
      s.append(missing.size()).append(" missing: ").append(String.join(", ", missing));
    }
    if (!unexpected.isEmpty()) {
      s.append(s.length() == 0 ? "" : "; ").append(unexpected.size()).append(" unexpected: ")
          .append(String.join(", ", unexpected));
    }
    return s.length() == 0 ? "all tensors matched" : s.toString();
  }
}

package dev.vidtag.model.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** Loads a weights file of either format, told apart by content, into a module. */
public final class WeightFiles {
  private WeightFiles() {}

  public static boolean isSafetensors(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] head = in.readNBytes(9);
      // 8-byte length, then the JSON header's opening brace
      return head.length == 9 && head[8] == '{';
    } catch (IOException e) {
      throw WeightFormatException.of(file, null, "cannot read: " + e, e);
    }
  }

  /**
   * Copies the file's tensors, renamed (null drops one), into the module's tensors of the same
   * name; safetensors data is copied straight from the mapped file.
   */
  public static LoadReport loadInto(Module module, Path file, Function<String, String> renaming) {
    if (isSafetensors(file)) {
      try (SafetensorsFile f = SafetensorsFile.open(file)) {
        return StateDicts.load(module, StateDicts.rename(f.views(), renaming), file);
      }
    }
    Map<String, Tensor> tensors = TorchCheckpointReader.read(file);
    return StateDicts.load(module, StateDicts.rename(tensors, renaming), file);
  }

  /** The names and shapes of a file's tensors, renamed. */
  public static Map<String, long[]> shapes(Path file, Function<String, String> renaming) {
    Map<String, long[]> out = new java.util.LinkedHashMap<>();
    if (isSafetensors(file)) {
      try (SafetensorsFile f = SafetensorsFile.open(file)) {
        for (String name : f.names()) {
          String renamed = renaming.apply(name);
          if (renamed != null) {
            out.put(renamed, f.entry(name).shape());
          }
        }
      }
      return out;
    }
    for (Map.Entry<String, Tensor> e : TorchCheckpointReader.read(file).entrySet()) {
      String renamed = renaming.apply(e.getKey());
      if (renamed != null) {
        out.put(renamed, StateDicts.shape(e.getValue()));
      }
    }
    return out;
  }
}

package dev.vidtag.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import dev.vidtag.model.weights.SafetensorsWriter;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.model.weights.WeightFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;

/**
 * A frame-encoder directory: {@code config.json} (the tower's shape under {@code "clip"}, the
 * preprocessing under {@code "preprocessing"}, and the format it was imported from) and
 * {@code model.safetensors} under OpenAI's names without the {@code visual.} prefix. Written
 * whole or not at all.
 */
public final class FrameEncoderDirectory {
  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";

  /** What a directory's config.json says. */
  public record Config(ClipConfig clip, FramePreprocessing preprocessing, String importedFrom) {}

  private FrameEncoderDirectory() {}

  public static void save(Path dir, ClipVisionTransformer tower, FramePreprocessing preprocessing,
      String importedFrom) {
    String json = toJsonString(new Config(tower.config(), preprocessing, importedFrom));
    AtomicFiles.writeDirectory(dir, partial -> {
      Files.writeString(partial.resolve(CONFIG), json, StandardCharsets.UTF_8);
      SafetensorsWriter.write(partial.resolve(WEIGHTS), StateDicts.of(tower),
          Map.of("format", "pt", "writer", "vidtag"));
    });
  }

  public static Config config(Path dir) {
    Path file = dir.resolve(CONFIG);
    if (!Files.isRegularFile(file)) {
      throw DataException.at(dir, null, null, "not a frame-encoder directory: no " + CONFIG);
    }
    JsonFields json = JsonFields.read(file);
    String type = json.string("model_type", null);
    if (!type.equals("clip_vision")) {
      throw json.error("model_type", "expected \"clip_vision\", got \"" + type + "\"");
    }
    return new Config(ClipConfig.from(json.object("clip")),
        FramePreprocessing.from(json.object("preprocessing")),
        json.string("imported_from", ""));
  }

  /** The tower the directory describes, with its weights, in eval mode. */
  public static ClipVisionTransformer load(Path dir) {
    Config config = config(dir);
    Path weights = dir.resolve(WEIGHTS);
    if (!Files.isRegularFile(weights)) {
      throw DataException.at(dir, null, null, "not a frame-encoder directory: no " + WEIGHTS);
    }
    ClipVisionTransformer tower = new ClipVisionTransformer(config.clip());
    WeightFiles.loadInto(tower, weights, Function.identity()).requireComplete(weights);
    tower.eval();
    return tower;
  }

  static String toJsonString(Config config) {
    ObjectNode node = JsonFields.MAPPER.createObjectNode();
    node.put("model_type", "clip_vision");
    node.set("clip", config.clip().toJson());
    node.set("preprocessing", config.preprocessing().toJson(config.clip().imageSize()));
    node.put("imported_from", config.importedFrom());
    try {
      return JsonFields.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

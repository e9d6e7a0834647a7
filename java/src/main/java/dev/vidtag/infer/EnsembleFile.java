package dev.vidtag.infer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.io.AtomicFiles;
import dev.vidtag.io.DataException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An ensemble as a file that {@code vidtag predict --ensemble} takes: {@code {"fuse": "logits",
 * "members": [{"model": "DIR", "weight": 0.1}, ...]}}, with what the fit that wrote it found
 * ({@code "fit"}: the held-out scores of the chosen and of equal weights). Model paths are stored
 * absolute.
 *
 * @param fuse how the members' scores combine
 * @param members the models and their weights
 */
public record EnsembleFile(Fuse fuse, List<EnsembleMember> members) {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

  public EnsembleFile {
    members = List.copyOf(members);
    if (members.isEmpty()) {
      throw new IllegalArgumentException("an ensemble needs at least one member");
    }
  }

  /** Writes the ensemble atomically, with the fit's record ({@code fit}: any JSON-able map). */
  public void write(Path file, Map<String, ?> fit) {
    ObjectNode json = JSON.createObjectNode();
    json.put("fuse", fuse.optionName());
    ArrayNode list = json.putArray("members");
    for (EnsembleMember member : members) {
      list.addObject().put("model", member.modelDirectory().toAbsolutePath().normalize()
          .toString()).put("weight", member.weight());
    }
    if (fit != null) {
      json.set("fit", JSON.valueToTree(fit));
    }
    AtomicFiles.write(file, out -> JSON.writeValue(out, json));
  }

  /**
   * Reads an ensemble back.
   *
   * @throws DataException naming the file, the member and the field when it is malformed
   */
  public static EnsembleFile read(Path file) {
    JsonNode json;
    try {
      json = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw DataException.at(file, null, null, "unreadable ensemble: " + e.getMessage(), e);
    }
    Fuse fuse;
    try {
      fuse = Fuse.parse(json.path("fuse").asText(""));
    } catch (IllegalArgumentException e) {
      throw DataException.at(file, null, "fuse", e.getMessage(), e);
    }
    JsonNode list = json.path("members");
    if (!list.isArray() || list.isEmpty()) {
      throw DataException.at(file, null, "members", "missing, empty or not an array");
    }
    List<EnsembleMember> members = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      JsonNode member = list.get(i);
      String item = "member " + i;
      if (!member.path("model").isTextual()) {
        throw DataException.at(file, item, "model", "missing or not a path");
      }
      if (!member.path("weight").isNumber()) {
        throw DataException.at(file, item, "weight", "missing or not a number");
      }
      try {
        members.add(new EnsembleMember(Path.of(member.get("model").asText()),
            member.get("weight").asDouble()));
      } catch (IllegalArgumentException e) {
        throw DataException.at(file, item, "weight", e.getMessage(), e);
      }
    }
    return new EnsembleFile(fuse, members);
  }
}

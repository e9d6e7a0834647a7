package dev.vidtag.serve;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vidtag.data.FrameFeatures;
import dev.vidtag.infer.Video;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The body of {@code POST /v1/classify}, checked down to every value before anything reaches
 * the models: a malformed request fails here with a message naming the video (index and id) and
 * the field.
 *
 * <pre>{@code
 * {"videos": [{"id": "v1", "title": "...", "asr": "...", "ocr": ["...", "..."],
 *              "frames": {"dtype": "float16", "shape": [n, dim], "data": "<base64>"}}],
 *  "top_k": 5}
 * }</pre>
 *
 * {@code ocr} and {@code frames} may be left out (no on-screen text, no frames); {@code data} is
 * the little-endian values in row-major order.
 *
 * @param videos the videos, in request order
 * @param topK how many categories to list per video
 */
record ClassifyRequest(List<Video> videos, int topK) {
  static final int DEFAULT_TOP_K = 5;
  /** As the annotation reader's limit: real fields are a few thousand characters. */
  static final int MAX_TEXT_CHARS = 100_000;
  static final int MAX_ID_CHARS = 256;

  private static final Set<String> REQUEST_FIELDS = Set.of("videos", "top_k");
  private static final Set<String> VIDEO_FIELDS = Set.of("id", "title", "asr", "ocr", "frames");
  private static final Set<String> FRAME_FIELDS = Set.of("dtype", "shape", "data");

  /** What the loaded models accept. */
  record Limits(int frameDim, int maxTopK, int maxVideos) {}

  /** A JSON reader for bodies of up to {@code maxBodyBytes}, refusing duplicate keys. */
  static ObjectMapper mapper(long maxBodyBytes) {
    int longestString = (int) Math.min(Integer.MAX_VALUE, maxBodyBytes);
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxStringLength(longestString).build())
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .build();
    return new ObjectMapper(factory)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);
  }

  static ClassifyRequest parse(ObjectMapper mapper, byte[] body, Limits limits)
      throws BadRequestException {
    JsonNode root;
    try (JsonParser parser = mapper.createParser(body)) {
      root = mapper.readTree(parser);
    } catch (JsonProcessingException e) {
      throw new BadRequestException("malformed JSON: " + e.getOriginalMessage()
          + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr() + ")"));
    } catch (IOException e) {
      throw new BadRequestException("unreadable body: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new BadRequestException("the body must be a JSON object with a 'videos' array");
    }
    refuseUnknownFields(root, REQUEST_FIELDS, "");
    int topK = DEFAULT_TOP_K;
    JsonNode topKNode = root.get("top_k");
    if (topKNode != null) {
      if (!topKNode.isIntegralNumber() || !topKNode.canConvertToInt()
          || topKNode.intValue() < 1 || topKNode.intValue() > limits.maxTopK()) {
        throw new BadRequestException("top_k must be an integer from 1 to " + limits.maxTopK()
            + ", got " + topKNode);
      }
      topK = topKNode.intValue();
    }
    topK = Math.min(topK, limits.maxTopK());
    JsonNode videosNode = root.get("videos");
    if (videosNode == null) {
      throw new BadRequestException("missing field 'videos'");
    }
    if (!videosNode.isArray()) {
      throw new BadRequestException("'videos' must be an array, got " + kind(videosNode));
    }
    if (videosNode.isEmpty()) {
      throw new BadRequestException("'videos' must hold at least one video");
    }
    if (videosNode.size() > limits.maxVideos()) {
      throw new BadRequestException("at most " + limits.maxVideos() + " videos per request "
          + "(the queue's capacity), got " + videosNode.size());
    }
    List<Video> videos = new ArrayList<>(videosNode.size());
    for (int i = 0; i < videosNode.size(); i++) {
      videos.add(video(videosNode.get(i), i, limits.frameDim()));
    }
    return new ClassifyRequest(List.copyOf(videos), topK);
  }

  private static Video video(JsonNode node, int index, int frameDim) throws BadRequestException {
    String where = "videos[" + index + "]";
    if (!node.isObject()) {
      throw new BadRequestException(where + " must be an object, got " + kind(node));
    }
    String id = string(node, "id", where, MAX_ID_CHARS);
    if (id.isEmpty()) {
      throw new BadRequestException(where + ".id must not be empty");
    }
    where = where + " (id '" + id + "')";
    refuseUnknownFields(node, VIDEO_FIELDS, where);
    String title = string(node, "title", where, MAX_TEXT_CHARS);
    String asr = string(node, "asr", where, MAX_TEXT_CHARS);
    List<String> ocr = new ArrayList<>();
    JsonNode ocrNode = node.get("ocr");
    if (ocrNode != null && !ocrNode.isNull()) {
      if (!ocrNode.isArray()) {
        throw new BadRequestException(where + ".ocr must be an array of strings, got "
            + kind(ocrNode));
      }
      for (int k = 0; k < ocrNode.size(); k++) {
        JsonNode text = ocrNode.get(k);
        if (!text.isTextual()) {
          throw new BadRequestException(where + ".ocr[" + k + "] must be a string, got "
              + kind(text));
        }
        if (text.textValue().length() > MAX_TEXT_CHARS) {
          throw new BadRequestException(where + ".ocr[" + k + "] is longer than "
              + MAX_TEXT_CHARS + " characters");
        }
        ocr.add(text.textValue());
      }
    }
    JsonNode framesNode = node.get("frames");
    FrameFeatures frames = framesNode == null || framesNode.isNull()
        ? FrameFeatures.empty(frameDim)
        : frames(framesNode, where + ".frames", frameDim);
    // Video.of is the one place that turns plain texts into an annotation; the frames, already
    // checked and in their wire type, replace its empty ones without a float32 copy
    Video plain = Video.of(id, title, asr, ocr, new float[0], 0, frameDim);
    return new Video(plain.annotation(), frames);
  }

  private static FrameFeatures frames(JsonNode node, String where, int frameDim)
      throws BadRequestException {
    if (!node.isObject()) {
      throw new BadRequestException(where + " must be an object {dtype, shape, data}, got "
          + kind(node));
    }
    refuseUnknownFields(node, FRAME_FIELDS, where);
    String dtype = string(node, "dtype", where, 16);
    FrameFeatures.ElementType type = switch (dtype) {
      case "float16" -> FrameFeatures.ElementType.FLOAT16;
      case "float32" -> FrameFeatures.ElementType.FLOAT32;
      default -> throw new BadRequestException(where + ".dtype must be \"float16\" or "
          + "\"float32\", got \"" + dtype + "\"");
    };
    JsonNode shape = node.get("shape");
    if (shape == null) {
      throw new BadRequestException(where + ": missing field 'shape'");
    }
    if (!shape.isArray() || shape.size() != 2 || !nonNegativeInt(shape.get(0))
        || !nonNegativeInt(shape.get(1))) {
      throw new BadRequestException(where + ".shape must be [frames, " + frameDim
          + "] with non-negative integers, got " + shape);
    }
    int count = shape.get(0).intValue();
    int dim = shape.get(1).intValue();
    if (dim != frameDim) {
      throw new BadRequestException(where + ".shape: the models read frames of " + frameDim
          + " values, got " + dim);
    }
    String data = string(node, "data", where, Integer.MAX_VALUE);
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(data);
    } catch (IllegalArgumentException e) {
      throw new BadRequestException(where + ".data is not valid base64: " + e.getMessage());
    }
    long expected = (long) count * dim * type.bytes;
    if (bytes.length != expected) {
      throw new BadRequestException(where + ".data holds " + bytes.length + " bytes, but shape ["
          + count + ", " + dim + "] of " + dtype + " needs " + expected);
    }
    ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    requireFinite(buffer, type, dim, where);
    return new FrameFeatures(buffer, type, count, dim);
  }

  /** NaN or infinity would poison the whole batch's attention; refuse them by position. */
  private static void requireFinite(ByteBuffer buffer, FrameFeatures.ElementType type, int dim,
      String where) throws BadRequestException {
    int values = buffer.remaining() / type.bytes;
    for (int i = 0; i < values; i++) {
      boolean finite = type == FrameFeatures.ElementType.FLOAT32
          ? Float.isFinite(buffer.getFloat(i * 4))
          : (buffer.getShort(i * 2) & 0x7c00) != 0x7c00; // float16: all exponent bits set
      if (!finite) {
        throw new BadRequestException(where + ".data: NaN or infinite value at frame "
            + (i / dim) + ", column " + (i % dim));
      }
    }
  }

  private static String string(JsonNode node, String field, String where, int maxChars)
      throws BadRequestException {
    JsonNode value = node.get(field);
    if (value == null) {
      throw new BadRequestException(where + ": missing field '" + field + "'");
    }
    if (!value.isTextual()) {
      throw new BadRequestException(where + "." + field + " must be a string, got "
          + kind(value));
    }
    if (value.textValue().length() > maxChars) {
      throw new BadRequestException(where + "." + field + " is longer than " + maxChars
          + " characters");
    }
    return value.textValue();
  }

  private static void refuseUnknownFields(JsonNode node, Set<String> known, String where)
      throws BadRequestException {
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!known.contains(name)) {
        throw new BadRequestException((where.isEmpty() ? "" : where + ": ")
            + "unknown field '" + name + "' (known: " + String.join(", ", known.stream()
            .sorted().toList()) + ")");
      }
    }
  }

  private static boolean nonNegativeInt(JsonNode n) {
    return n.isIntegralNumber() && n.canConvertToInt() && n.intValue() >= 0;
  }

  private static String kind(JsonNode node) {
    return node.getNodeType().name().toLowerCase(Locale.ROOT);
  }
}

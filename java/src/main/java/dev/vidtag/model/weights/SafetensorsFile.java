package dev.vidtag.model.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * A safetensors file opened for reading: the header is parsed and checked up front; tensor data
 * is memory-mapped, one mapping per tensor, so files of any size load without copying through
 * the Java heap (Java maps at most 2 GiB at once: one tensor may not exceed that).
 *
 * <p>Layout: 8-byte little-endian header length N, N bytes of JSON
 * ({@code name: {dtype, shape, data_offsets: [begin, end]}} and optional {@code __metadata__}
 * of strings), then the data; offsets are relative to the data's start and must tile it.
 */
public final class SafetensorsFile implements AutoCloseable {
  /** Beyond this the header is certainly not a real one (the reference library uses 100 MB). */
  static final long MAX_HEADER_BYTES = 100L << 20;
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** One tensor's place in the file; begin and end are relative to the data section. */
  public record Entry(String name, TensorDtype dtype, long[] shape, long begin, long end) {
    public long numel() {
      long n = 1;
      for (long s : shape) {
        n *= s;
      }
      return n;
    }
  }

  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final Map<String, Entry> entries;
  private final Map<String, String> metadata;
  // mappings stay reachable while tensors may point into them
  private final List<MappedByteBuffer> mappings = new ArrayList<>();
  private boolean closed;

  private SafetensorsFile(Path path, FileChannel channel, long dataStart,
      Map<String, Entry> entries, Map<String, String> metadata) {
    this.path = path;
    this.channel = channel;
    this.dataStart = dataStart;
    this.entries = entries;
    this.metadata = metadata;
  }

  public static SafetensorsFile open(Path path) {
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ);
    } catch (IOException e) {
      throw WeightFormatException.of(path, null, "cannot open: " + e, e);
    }
    try {
      return readHeader(path, channel);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  public Path path() {
    return path;
  }

  /** Tensor names in file order of their data. */
  public List<String> names() {
    return List.copyOf(entries.keySet());
  }

  public Entry entry(String name) {
    Entry e = entries.get(name);
    if (e == null) {
      throw WeightFormatException.of(path, name, "no such tensor");
    }
    return e;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  /**
   * A CPU tensor over the mapped bytes, valid while this file is open; read-only: copy from it
   * ({@code copy_}, {@code clone}), never write into it.
   */
  public Tensor view(String name) {
    if (closed) {
      throw new IllegalStateException(path + " is closed");
    }
    Entry e = entry(name);
    TensorOptions options = new TensorOptions(e.dtype().scalarType());
    long bytes = e.end() - e.begin();
    if (bytes == 0) {
      return torch.empty(e.shape(), options, new MemoryFormatOptional());
    }
    if (bytes > Integer.MAX_VALUE) {
      throw WeightFormatException.of(path, name, "a single tensor over 2 GiB is not supported");
    }
    MappedByteBuffer buffer;
    try {
      buffer = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), bytes);
    } catch (IOException ex) {
      throw WeightFormatException.of(path, name, "cannot map: " + ex, ex);
    }
    mappings.add(buffer);
    Pointer data = new Pointer(buffer);
    if (data.address() % e.dtype().size() != 0) {
      // unaligned element data: copy into a fresh (aligned) tensor
      Tensor copy = torch.empty(e.shape(), options, new MemoryFormatOptional());
      Pointer.memcpy(copy.data_ptr(), data, bytes);
      return copy;
    }
    return torch.from_blob(data, e.shape(), options);
  }

  /** Every tensor as an owning copy, in file order. */
  public Map<String, Tensor> loadAll() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (String name : entries.keySet()) {
      out.put(name, view(name).clone());
    }
    return out;
  }

  /** Every tensor as a read-only view (see {@link #view}), in file order. */
  public Map<String, Tensor> views() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (String name : entries.keySet()) {
      out.put(name, view(name));
    }
    return out;
  }

  /**
   * Unmaps the file now: its views must not be used afterwards. Java would unmap only when the
   * garbage collector found the buffers, which tensor work does not prompt: a process that
   * loaded a model after another kept every file's pages mapped.
   */
  @Override
  public void close() {
    closed = true;
    mappings.forEach(Unmapper::unmap);
    mappings.clear();
    closeQuietly(channel);
  }

  private static SafetensorsFile readHeader(Path path, FileChannel channel) {
    try {
      long fileSize = channel.size();
      if (fileSize < 8) {
        throw WeightFormatException.of(path, null, "not a safetensors file: " + fileSize
            + " bytes, shorter than the 8-byte header length");
      }
      ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(channel, lengthBytes, 0);
      long headerLength = lengthBytes.getLong(0);
      if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES
          || headerLength > fileSize - 8) {
        throw WeightFormatException.of(path, null, "not a safetensors file: header length "
            + headerLength + " does not fit a file of " + fileSize + " bytes");
      }
      ByteBuffer header = ByteBuffer.allocate((int) headerLength);
      readFully(channel, header, 8);
      JsonNode root;
      try {
        root = MAPPER.readTree(header.array());
      } catch (IOException e) {
        throw WeightFormatException.of(path, null, "header is not valid JSON: "
            + e.getMessage(), e);
      }
      if (root == null || !root.isObject()) {
        throw WeightFormatException.of(path, null, "header is not a JSON object");
      }
      long dataStart = 8 + headerLength;
      Map<String, String> metadata = new LinkedHashMap<>();
      List<Entry> list = new ArrayList<>();
      for (Map.Entry<String, JsonNode> field : root.properties()) {
        if (field.getKey().equals("__metadata__")) {
          readMetadata(path, field.getValue(), metadata);
        } else {
          list.add(parseEntry(path, field.getKey(), field.getValue()));
        }
      }
      checkTiling(path, list, fileSize - dataStart);
      Map<String, Entry> entries = new LinkedHashMap<>();
      for (Entry e : list) {
        entries.put(e.name(), e);
      }
      return new SafetensorsFile(path, channel, dataStart, entries,
          Collections.unmodifiableMap(metadata));
    } catch (IOException e) {
      throw WeightFormatException.of(path, null, "cannot read: " + e, e);
    }
  }

  private static void readMetadata(Path path, JsonNode node, Map<String, String> out) {
    if (!node.isObject()) {
      throw WeightFormatException.of(path, null, "__metadata__ is not an object of strings");
    }
    for (Map.Entry<String, JsonNode> f : node.properties()) {
      if (!f.getValue().isTextual()) {
        throw WeightFormatException.of(path, null, "__metadata__." + f.getKey()
            + " is not a string");
      }
      out.put(f.getKey(), f.getValue().textValue());
    }
  }

  private static Entry parseEntry(Path path, String name, JsonNode node) {
    if (!node.isObject()) {
      throw WeightFormatException.of(path, name, "header entry is not an object");
    }
    JsonNode dtypeNode = node.get("dtype");
    TensorDtype dtype = dtypeNode == null ? null : TensorDtype.fromSafetensors(dtypeNode.asText());
    if (dtype == null) {
      throw WeightFormatException.of(path, name, "unsupported or missing dtype " + dtypeNode);
    }
    JsonNode shapeNode = node.get("shape");
    if (shapeNode == null || !shapeNode.isArray()) {
      throw WeightFormatException.of(path, name, "missing shape");
    }
    long[] shape = new long[shapeNode.size()];
    long numel = 1;
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.isIntegralNumber() || d.asLong() < 0) {
        throw WeightFormatException.of(path, name, "bad shape " + shapeNode);
      }
      shape[i] = d.asLong();
      numel = Math.multiplyExact(numel, shape[i]);
    }
    JsonNode offsets = node.get("data_offsets");
    if (offsets == null || !offsets.isArray() || offsets.size() != 2
        || !offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
      throw WeightFormatException.of(path, name, "data_offsets must be [begin, end]");
    }
    long begin = offsets.get(0).asLong();
    long end = offsets.get(1).asLong();
    if (begin < 0 || end < begin) {
      throw WeightFormatException.of(path, name, "bad data_offsets " + offsets);
    }
    if (end - begin != Math.multiplyExact(numel, (long) dtype.size())) {
      throw WeightFormatException.of(path, name, "data_offsets " + offsets + " hold "
          + (end - begin) + " bytes, shape " + shapeNode + " of " + dtype.safetensorsName()
          + " needs " + numel * dtype.size());
    }
    return new Entry(name, dtype, shape, begin, end);
  }

  /** The tensors must cover the data section exactly, without gaps or overlaps. */
  private static void checkTiling(Path path, List<Entry> entries, long dataBytes) {
    entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
    long expected = 0;
    for (Entry e : entries) {
      if (e.begin() != expected) {
        throw WeightFormatException.of(path, e.name(), "data_offsets [" + e.begin() + ", "
            + e.end() + "] leave a gap or overlap (expected to start at " + expected + ")");
      }
      expected = e.end();
    }
    if (expected != dataBytes) {
      throw WeightFormatException.of(path, null, "tensors cover " + expected
          + " data bytes but the file holds " + dataBytes + " (truncated or padded)");
    }
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, long position)
      throws IOException {
    long pos = position;
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, pos);
      if (n < 0) {
        throw new IOException("unexpected end of file");
      }
      pos += n;
    }
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // nothing was written
    }
  }
}

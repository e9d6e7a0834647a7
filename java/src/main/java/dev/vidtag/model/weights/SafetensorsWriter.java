package dev.vidtag.model.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vidtag.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Writes safetensors files that other readers accept: tensors are laid out by decreasing element
 * size, then by name, so that every tensor starts at a multiple of its element size with no gap;
 * the header is padded with spaces so that the data starts at a multiple of 8. The file is
 * written under a temporary name and renamed when complete.
 */
public final class SafetensorsWriter {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private SafetensorsWriter() {}

  public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
    List<Map.Entry<String, Tensor>> order = new ArrayList<>(tensors.entrySet());
    order.sort(Comparator.<Map.Entry<String, Tensor>>comparingInt(
        e -> -TensorDtype.of(e.getValue().scalar_type()).size()).thenComparing(Map.Entry::getKey));
    byte[] header = header(order, metadata);
    AtomicFiles.writeChannel(file, out -> {
      try (PointerScope scope = new PointerScope()) {
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        length.putLong(0, header.length);
        writeFully(out, length);
        writeFully(out, ByteBuffer.wrap(header));
        for (Map.Entry<String, Tensor> e : order) {
          Tensor t = e.getValue().cpu().contiguous();
          long bytes = t.nbytes();
          if (bytes > 0) {
            writeFully(out, new BytePointer(t.data_ptr()).capacity(bytes).asByteBuffer());
          }
        }
      }
    });
  }

  private static byte[] header(List<Map.Entry<String, Tensor>> order,
      Map<String, String> metadata) {
    ObjectNode root = MAPPER.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode meta = root.putObject("__metadata__");
      // sorted, so that the same tensors and metadata always give the same bytes
      new TreeMap<>(metadata).forEach(meta::put);
    }
    long offset = 0;
    for (Map.Entry<String, Tensor> e : order) {
      if (e.getKey().equals("__metadata__")) {
        throw new IllegalArgumentException("__metadata__ is reserved, not a tensor name");
      }
      Tensor t = e.getValue();
      TensorDtype dtype = TensorDtype.of(t.scalar_type());
      ObjectNode entry = root.putObject(e.getKey());
      entry.put("dtype", dtype.safetensorsName());
      ArrayNode shape = entry.putArray("shape");
      long numel = 1;
      for (int i = 0; i < t.dim(); i++) {
        shape.add(t.size(i));
        numel *= t.size(i);
      }
      long end = offset + numel * dtype.size();
      entry.putArray("data_offsets").add(offset).add(end);
      offset = end;
    }
    byte[] json;
    try {
      json = MAPPER.writeValueAsBytes(root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int padded = (json.length + 7) / 8 * 8;
    byte[] header = new byte[padded];
    System.arraycopy(json, 0, header, 0, json.length);
    for (int i = json.length; i < padded; i++) {
      header[i] = ' ';
    }
    return header;
  }

  private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      out.write(buffer);
    }
  }

}

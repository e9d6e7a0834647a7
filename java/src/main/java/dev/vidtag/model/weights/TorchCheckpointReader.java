package dev.vidtag.model.weights;

import dev.vidtag.model.weights.RestrictedUnpickler.Global;
import dev.vidtag.model.weights.RestrictedUnpickler.StorageRef;
import dev.vidtag.model.weights.RestrictedUnpickler.Tuple;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Reads a state dict saved by {@code torch.save} (the zip format of PyTorch 1.6 and later, e.g. a
 * Hugging Face {@code pytorch_model.bin}) without Python: {@code <archive>/data.pkl} through
 * {@link RestrictedUnpickler}, each storage {@code <archive>/data/<key>} read once into one
 * LibTorch tensor, every tensor a view of its storage ({@code as_strided}), so tied weights stay
 * shared and non-contiguous tensors keep their strides.
 */
public final class TorchCheckpointReader {
  private static final int CHUNK = 1 << 20;

  private final Path file;
  private final ZipFile zip;
  private final String prefix;
  private final Map<String, Tensor> storages = new HashMap<>();

  private TorchCheckpointReader(Path file, ZipFile zip, String prefix) {
    this.file = file;
    this.zip = zip;
    this.prefix = prefix;
  }

  /** Name to tensor, in the file's order. Fails on anything but a flat dict of tensors. */
  public static Map<String, Tensor> read(Path file) {
    return read(file, null);
  }

  /**
   * The flat state dict held under the top-level key {@code entry} of a training checkpoint
   * saved as a dict of parts (e.g. {@code {"state_dict": ..., "optimizer": ..., "epoch": 1}});
   * the other parts are parsed like the rest of the pickle (nothing is executed) and dropped. A
   * file that is already a flat state dict is returned as it is.
   */
  public static Map<String, Tensor> readEntry(Path file, String entry) {
    return read(file, entry);
  }

  private static Map<String, Tensor> read(Path file, String entry) {
    checkMagic(file);
    try (ZipFile zip = new ZipFile(file.toFile())) {
      ZipEntry pickle = findPickle(file, zip);
      String prefix = pickle.getName().substring(0, pickle.getName().length() - "data.pkl".length());
      byte[] bytes = readAll(zip, pickle);
      TorchCheckpointReader reader = new TorchCheckpointReader(file, zip, prefix);
      Object root = RestrictedUnpickler.load(file, bytes, reader.interpreter());
      if (entry != null && root instanceof Map<?, ?> parts && parts.get(entry) instanceof Map) {
        root = parts.get(entry);
      }
      return reader.toStateDict(root);
    } catch (IOException e) {
      throw WeightFormatException.of(file, null, "not a readable zip archive (truncated or"
          + " corrupt?): " + e.getMessage(), e);
    }
  }

  private static void checkMagic(Path file) {
    byte[] head = new byte[4];
    try (InputStream in = Files.newInputStream(file)) {
      int n = in.readNBytes(head, 0, 4);
      if (n == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
        return;
      }
      if (n >= 1 && (head[0] & 0xff) == 0x80) {
        throw WeightFormatException.of(file, null, "the legacy (pre-1.6) torch.save format is"
            + " not supported: load and save it again with PyTorch 1.6 or later");
      }
      throw WeightFormatException.of(file, null, "not a PyTorch checkpoint: it does not start"
          + " with a zip header");
    } catch (IOException e) {
      throw WeightFormatException.of(file, null, "cannot read: " + e, e);
    }
  }

  private static ZipEntry findPickle(Path file, ZipFile zip) {
    ZipEntry found = null;
    for (Enumeration<? extends ZipEntry> it = zip.entries(); it.hasMoreElements(); ) {
      ZipEntry e = it.nextElement();
      String name = e.getName();
      if (name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - "/data.pkl".length()) {
        if (found != null) {
          throw WeightFormatException.of(file, null, "more than one data.pkl in the archive");
        }
        found = e;
      }
    }
    if (found == null) {
      throw WeightFormatException.of(file, null, "no <archive>/data.pkl: not a torch.save file");
    }
    return found;
  }

  private static byte[] readAll(ZipFile zip, ZipEntry entry) throws IOException {
    try (InputStream in = zip.getInputStream(entry)) {
      return in.readAllBytes();
    }
  }

  private RestrictedUnpickler.Interpreter interpreter() {
    return new RestrictedUnpickler.Interpreter() {
      @Override
      public Object persistentLoad(Object pid) {
        return storageRef(pid);
      }

      @Override
      public Object call(Global callable, Tuple args) {
        return apply(callable, args.items());
      }
    };
  }

  private StorageRef storageRef(Object pid) {
    if (!(pid instanceof Tuple t) || t.items().size() != 5 || !"storage".equals(t.items().get(0))
        || !(t.items().get(1) instanceof Global type) || !(t.items().get(2) instanceof String key)
        || !(t.items().get(4) instanceof Long numel)) {
      throw WeightFormatException.of(file, null, "unexpected persistent id " + pid);
    }
    TensorDtype dtype = TensorDtype.fromTorchStorage(type.name());
    if (dtype == null) {
      throw WeightFormatException.of(file, null, "unsupported storage type " + type.qualified());
    }
    return new StorageRef(dtype, key, String.valueOf(t.items().get(3)), numel);
  }

  private Object apply(Global callable, List<Object> args) {
    switch (callable.qualified()) {
      case "collections.OrderedDict":
        if (!args.isEmpty()) {
          throw WeightFormatException.of(file, null, "OrderedDict with arguments");
        }
        return new LinkedHashMap<>();
      case "torch._utils._rebuild_tensor_v2":
        return rebuildTensor(args);
      case "torch._utils._rebuild_parameter":
      case "torch._utils._rebuild_parameter_with_state":
        if (args.isEmpty() || !(args.get(0) instanceof Tensor)) {
          throw WeightFormatException.of(file, null, "parameter without tensor data");
        }
        return args.get(0);
      default:
        throw WeightFormatException.of(file, null, "cannot call " + callable.qualified());
    }
  }

  /** (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
  private Tensor rebuildTensor(List<Object> args) {
    if (args.size() < 4 || !(args.get(0) instanceof StorageRef ref)
        || !(args.get(1) instanceof Long offset) || !(args.get(2) instanceof Tuple size)
        || !(args.get(3) instanceof Tuple stride) || size.items().size() != stride.items().size()) {
      throw WeightFormatException.of(file, null, "malformed _rebuild_tensor_v2 arguments");
    }
    long[] sizes = longs(size);
    long[] strides = longs(stride);
    long last = offset;
    boolean empty = false;
    for (int i = 0; i < sizes.length; i++) {
      if (sizes[i] < 0 || strides[i] < 0) {
        throw WeightFormatException.of(file, null, "negative size or stride in storage "
            + ref.key());
      }
      empty |= sizes[i] == 0;
      last += (sizes[i] - 1) * strides[i];
    }
    if (offset < 0 || (!empty && last >= ref.numel())) {
      throw WeightFormatException.of(file, null, "tensor view runs past the end of storage "
          + ref.key() + " (" + ref.numel() + " elements)");
    }
    return torch.as_strided(storage(ref), sizes, strides, new LongOptional(offset));
  }

  private long[] longs(Tuple t) {
    long[] out = new long[t.items().size()];
    for (int i = 0; i < out.length; i++) {
      if (!(t.items().get(i) instanceof Long v)) {
        throw WeightFormatException.of(file, null, "non-integer size or stride " + t.items());
      }
      out[i] = v;
    }
    return out;
  }

  /** One allocation per storage, filled from the archive in chunks. */
  private Tensor storage(StorageRef ref) {
    Tensor cached = storages.get(ref.key());
    if (cached != null) {
      return cached;
    }
    String name = prefix + "data/" + ref.key();
    ZipEntry entry = zip.getEntry(name);
    if (entry == null) {
      throw WeightFormatException.of(file, null, "storage " + name + " is missing");
    }
    long bytes = Math.multiplyExact(ref.numel(), (long) ref.dtype().size());
    if (entry.getSize() >= 0 && entry.getSize() < bytes) {
      throw WeightFormatException.of(file, null, "storage " + name + " holds " + entry.getSize()
          + " bytes, " + bytes + " expected");
    }
    Tensor raw = torch.empty(new long[] {bytes}, new TensorOptions(ScalarType.Byte),
        new MemoryFormatOptional());
    BytePointer target = new BytePointer(raw.data_ptr()).capacity(bytes);
    byte[] chunk = new byte[(int) Math.min(CHUNK, Math.max(bytes, 1))];
    try (InputStream in = zip.getInputStream(entry)) {
      long done = 0;
      while (done < bytes) {
        int n = in.read(chunk, 0, (int) Math.min(chunk.length, bytes - done));
        if (n < 0) {
          throw WeightFormatException.of(file, null, "storage " + name + " is truncated");
        }
        target.position(done).put(chunk, 0, n);
        done += n;
      }
    } catch (IOException e) {
      throw WeightFormatException.of(file, null, "cannot read storage " + name + ": " + e, e);
    }
    Tensor typed = raw.view(ref.dtype().scalarType());
    storages.put(ref.key(), typed);
    return typed;
  }

  @SuppressWarnings("unchecked")
  private Map<String, Tensor> toStateDict(Object root) {
    if (!(root instanceof Map)) {
      throw WeightFormatException.of(file, null, "the pickle holds a "
          + (root == null ? "None" : root.getClass().getSimpleName()) + ", not a state dict");
    }
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<Object, Object> e : ((Map<Object, Object>) root).entrySet()) {
      if (!(e.getKey() instanceof String key) || !(e.getValue() instanceof Tensor t)) {
        throw WeightFormatException.of(file, String.valueOf(e.getKey()),
            "not a tensor entry of a flat state dict");
      }
      out.put(key, t);
    }
    return out;
  }
}

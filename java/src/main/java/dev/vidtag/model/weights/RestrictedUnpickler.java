package dev.vidtag.model.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle reader for PyTorch state dicts that never executes anything: it knows the opcodes
 * that {@code torch.save} emits (protocols 2 to 4) and a closed set of globals, which it
 * interprets itself. Any other global (os.system, builtins.eval, a user class...) is refused with
 * its name before the pickle goes any further.
 */
final class RestrictedUnpickler {
  /** A global that the pickle named and that this reader knows how to apply. */
  record Global(String module, String name) {
    String qualified() {
      return module + "." + name;
    }
  }

  record Tuple(List<Object> items) {}

  /** The persistent id of a storage: its element type, archive key, device and element count. */
  record StorageRef(TensorDtype dtype, String key, String location, long numel) {}

  /** Applies the known callables ({@code REDUCE}) and resolves storages ({@code BINPERSID}). */
  interface Interpreter {
    Object persistentLoad(Object pid);

    Object call(Global callable, Tuple args);
  }

  static final Set<String> ALLOWED = Set.of(
      "collections.OrderedDict",
      "torch._utils._rebuild_tensor_v2",
      "torch._utils._rebuild_parameter",
      "torch._utils._rebuild_parameter_with_state");

  private static final Object MARK = new Object();

  private final Path file;
  private final ByteBuffer in;
  private final Interpreter interpreter;
  private final List<Object> stack = new ArrayList<>();
  private final Deque<Integer> marks = new ArrayDeque<>();
  private final Map<Long, Object> memo = new HashMap<>();

  private RestrictedUnpickler(Path file, byte[] pickle, Interpreter interpreter) {
    this.file = file;
    this.in = ByteBuffer.wrap(pickle).order(ByteOrder.LITTLE_ENDIAN);
    this.interpreter = interpreter;
  }

  static Object load(Path file, byte[] pickle, Interpreter interpreter) {
    try {
      return new RestrictedUnpickler(file, pickle, interpreter).run();
    } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
      throw WeightFormatException.of(file, null, "data.pkl is truncated or corrupt", e);
    }
  }

  static boolean isAllowed(Global g) {
    return ALLOWED.contains(g.qualified())
        || (g.module().equals("torch") && TensorDtype.fromTorchStorage(g.name()) != null);
  }

  private Object run() {
    while (true) {
      int position = in.position();
      int op = in.get() & 0xff;
      switch (op) {
        case 0x80 -> in.get(); // PROTO
        case 0x95 -> in.getLong(); // FRAME: framing is irrelevant when the whole pickle is here
        case '.' -> {
          return pop();
        }
        case '(' -> {
          marks.push(stack.size());
          stack.add(MARK);
        }
        case ')' -> push(new Tuple(List.of()));
        case ']' -> push(new ArrayList<>());
        case '}' -> push(new LinkedHashMap<>());
        case 'N' -> push(null);
        case 0x88 -> push(Boolean.TRUE);
        case 0x89 -> push(Boolean.FALSE);
        case 'K' -> push((long) (in.get() & 0xff));
        case 'M' -> push((long) (in.getShort() & 0xffff));
        case 'J' -> push((long) in.getInt());
        case 0x8a -> push(long1(in.get() & 0xff, position));
        case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong())));
        case 'X' -> push(string(unsignedInt(), StandardCharsets.UTF_8));
        case 0x8c -> push(string(in.get() & 0xff, StandardCharsets.UTF_8));
        case 0x8d -> push(string(checkedLength(in.getLong()), StandardCharsets.UTF_8));
        case 'T' -> push(string(unsignedInt(), StandardCharsets.ISO_8859_1));
        case 'U' -> push(string(in.get() & 0xff, StandardCharsets.ISO_8859_1));
        case 'q' -> memo.put((long) (in.get() & 0xff), peek());
        case 'r' -> memo.put(in.getInt() & 0xffffffffL, peek());
        case 0x94 -> memo.put((long) memo.size(), peek());
        case 'h' -> push(memoGet(in.get() & 0xff, position));
        case 'j' -> push(memoGet(in.getInt() & 0xffffffffL, position));
        case 'c' -> push(global(line(), line()));
        case 0x93 -> {
          Object name = pop();
          Object module = pop();
          push(global(String.valueOf(module), String.valueOf(name)));
        }
        case 't' -> push(new Tuple(popMark()));
        case 0x85 -> push(new Tuple(List.of(pop())));
        case 0x86 -> {
          Object b = pop();
          Object a = pop();
          push(new Tuple(list(a, b)));
        }
        case 0x87 -> {
          Object c = pop();
          Object b = pop();
          Object a = pop();
          push(new Tuple(list(a, b, c)));
        }
        case 'Q' -> push(interpreter.persistentLoad(pop()));
        case 'R' -> {
          Object args = pop();
          Object callable = pop();
          if (!(callable instanceof Global g) || !(args instanceof Tuple t)) {
            throw corrupt("REDUCE without a known callable and argument tuple", position);
          }
          push(interpreter.call(g, t));
        }
        case 'b' -> build(pop(), position);
        case 's' -> {
          Object value = pop();
          Object key = pop();
          dict(peek(), position).put(key, value);
        }
        case 'u' -> {
          List<Object> items = popMark();
          Map<Object, Object> dict = dict(peek(), position);
          for (int i = 0; i + 1 < items.size(); i += 2) {
            dict.put(items.get(i), items.get(i + 1));
          }
        }
        case 'a' -> {
          Object value = pop();
          list(peek(), position).add(value);
        }
        case 'e' -> {
          List<Object> items = popMark();
          list(peek(), position).addAll(items);
        }
        default -> throw corrupt(String.format("unsupported pickle opcode 0x%02x", op), position);
      }
    }
  }

  private Global global(String module, String name) {
    Global g = new Global(module, name);
    if (!isAllowed(g)) {
      throw WeightFormatException.of(file, null, "refusing pickle global '" + g.qualified()
          + "': a state dict needs only OrderedDict, tensor rebuild functions and storages;"
          + " nothing in this file was executed");
    }
    return g;
  }

  /** BUILD sets object state: only an OrderedDict's attributes (its _metadata) occur; ignored. */
  private void build(Object state, int position) {
    Object target = peek();
    if (!(target instanceof Map)) {
      throw corrupt("BUILD on an object other than a dict", position);
    }
  }

  private Object memoGet(long index, int position) {
    if (!memo.containsKey(index)) {
      throw corrupt("memo key " + index + " read before it was written", position);
    }
    return memo.get(index);
  }

  private long long1(int n, int position) {
    if (n > 8) {
      throw corrupt("integer of " + n + " bytes", position);
    }
    long value = 0;
    for (int i = 0; i < n; i++) {
      value |= (long) (in.get() & 0xff) << (8 * i);
    }
    if (n > 0 && n < 8 && (value & (1L << (8 * n - 1))) != 0) {
      value |= -1L << (8 * n); // sign-extend
    }
    return value;
  }

  private int unsignedInt() {
    return checkedLength(in.getInt() & 0xffffffffL);
  }

  private int checkedLength(long length) {
    if (length < 0 || length > in.remaining()) {
      throw corrupt("length " + length + " runs past the end", in.position());
    }
    return (int) length;
  }

  private String string(int length, java.nio.charset.Charset charset) {
    byte[] bytes = new byte[checkedLength(length)];
    in.get(bytes);
    return new String(bytes, charset);
  }

  private String line() {
    StringBuilder s = new StringBuilder();
    while (true) {
      byte b = in.get();
      if (b == '\n') {
        return s.toString();
      }
      s.append((char) (b & 0xff));
    }
  }

  private void push(Object o) {
    stack.add(o);
  }

  private Object pop() {
    if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) {
      throw corrupt("stack underflow", in.position());
    }
    return stack.remove(stack.size() - 1);
  }

  private Object peek() {
    if (stack.isEmpty()) {
      throw corrupt("stack underflow", in.position());
    }
    return stack.get(stack.size() - 1);
  }

  private List<Object> popMark() {
    if (marks.isEmpty()) {
      throw corrupt("no MARK on the stack", in.position());
    }
    int at = marks.pop();
    List<Object> items = new ArrayList<>(stack.subList(at + 1, stack.size()));
    stack.subList(at, stack.size()).clear();
    return items;
  }

  @SuppressWarnings("unchecked")
  private Map<Object, Object> dict(Object o, int position) {
    if (!(o instanceof Map)) {
      throw corrupt("SETITEM on a non-dict", position);
    }
    return (Map<Object, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private List<Object> list(Object o, int position) {
    if (!(o instanceof List)) {
      throw corrupt("APPEND on a non-list", position);
    }
    return (List<Object>) o;
  }

  private static List<Object> list(Object... items) {
    List<Object> l = new ArrayList<>();
    for (Object o : items) {
      l.add(o);
    }
    return l;
  }

  private WeightFormatException corrupt(String problem, int position) {
    return WeightFormatException.of(file, null, "data.pkl: " + problem + " at byte "
        + position);
  }
}

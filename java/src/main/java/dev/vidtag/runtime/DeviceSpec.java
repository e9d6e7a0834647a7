package dev.vidtag.runtime;

import java.util.Locale;

/**
 * A device as users write it: {@code cpu}, {@code cuda} (device 0) or {@code cuda:N}. Parsing
 * checks only the syntax; {@link TorchRuntime#device(DeviceSpec)} checks that it exists.
 */
public record DeviceSpec(Kind kind, int index) {

  public enum Kind { CPU, CUDA }

  public static final DeviceSpec CPU = new DeviceSpec(Kind.CPU, 0);

  public DeviceSpec {
    if (index < 0) {
      throw new IllegalArgumentException("device index must be >= 0, got " + index);
    }
    if (kind == Kind.CPU && index != 0) {
      throw new IllegalArgumentException("the CPU device has no index");
    }
  }

  public static DeviceSpec parse(String text) {
    String s = text.trim().toLowerCase(Locale.ROOT);
    if (s.equals("cpu")) {
      return CPU;
    }
    if (s.equals("cuda")) {
      return new DeviceSpec(Kind.CUDA, 0);
    }
    if (s.startsWith("cuda:")) {
      try {
        return new DeviceSpec(Kind.CUDA, Integer.parseInt(s.substring(5)));
      } catch (NumberFormatException e) {
        // fall through to the message below
      }
    }
    throw new IllegalArgumentException(
        "unknown device '" + text + "': expected cpu, cuda or cuda:N");
  }

  @Override
  public String toString() {
    return kind == Kind.CPU ? "cpu" : "cuda:" + index;
  }
}

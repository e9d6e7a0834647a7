package dev.vidtag.model.weights;

import org.bytedeco.pytorch.global.torch.ScalarType;

/** The element types that checkpoints store, with their safetensors and PyTorch names. */
public enum TensorDtype {
  F64("F64", "DoubleStorage", ScalarType.Double, 8),
  F32("F32", "FloatStorage", ScalarType.Float, 4),
  F16("F16", "HalfStorage", ScalarType.Half, 2),
  BF16("BF16", "BFloat16Storage", ScalarType.BFloat16, 2),
  I64("I64", "LongStorage", ScalarType.Long, 8),
  I32("I32", "IntStorage", ScalarType.Int, 4),
  I16("I16", "ShortStorage", ScalarType.Short, 2),
  I8("I8", "CharStorage", ScalarType.Char, 1),
  U8("U8", "ByteStorage", ScalarType.Byte, 1),
  BOOL("BOOL", "BoolStorage", ScalarType.Bool, 1);

  private final String safetensorsName;
  private final String torchStorageName;
  private final ScalarType scalarType;
  private final int size;

  TensorDtype(String safetensorsName, String torchStorageName, ScalarType scalarType, int size) {
    this.safetensorsName = safetensorsName;
    this.torchStorageName = torchStorageName;
    this.scalarType = scalarType;
    this.size = size;
  }

  public String safetensorsName() {
    return safetensorsName;
  }

  public ScalarType scalarType() {
    return scalarType;
  }

  /** Bytes per element. */
  public int size() {
    return size;
  }

  public static TensorDtype fromSafetensors(String name) {
    for (TensorDtype d : values()) {
      if (d.safetensorsName.equals(name)) {
        return d;
      }
    }
    return null;
  }

  /** From a pickled storage class name such as {@code FloatStorage}. */
  public static TensorDtype fromTorchStorage(String name) {
    for (TensorDtype d : values()) {
      if (d.torchStorageName.equals(name)) {
        return d;
      }
    }
    return null;
  }

  public static TensorDtype of(ScalarType type) {
    ScalarType interned = type.intern();
    for (TensorDtype d : values()) {
      if (d.scalarType == interned) {
        return d;
      }
    }
    throw new IllegalArgumentException("no checkpoint dtype for " + interned);
  }
}

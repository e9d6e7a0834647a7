package dev.vidtag.data;

import dev.vidtag.io.DataException;
import java.util.ArrayList;
import java.util.List;

/**
 * The frame features of several splits of a dataset, open together and of one width (what
 * pretraining reads); closing it closes every archive.
 */
public final class SplitFeatures implements AutoCloseable {
  private final List<String> splits;
  private final List<ZipFeatureStore> stores;

  private SplitFeatures(List<String> splits, List<ZipFeatureStore> stores) {
    this.splits = List.copyOf(splits);
    this.stores = List.copyOf(stores);
  }

  /**
   * Opens the features of every split, in order.
   *
   * @throws DataException when a split has no features or its features differ in width from the
   *     first split's
   */
  public static SplitFeatures open(Dataset dataset, List<String> splits) {
    if (splits.isEmpty()) {
      throw new IllegalArgumentException("no splits");
    }
    List<ZipFeatureStore> stores = new ArrayList<>();
    try {
      for (String split : splits) {
        ZipFeatureStore store = dataset.openFeatures(split);
        stores.add(store);
        if (store.dim() != stores.get(0).dim()) {
          throw DataException.at(dataset.featureFile(split), null, "frames", "features are "
              + store.dim() + " wide but the first split's are " + stores.get(0).dim());
        }
      }
      return new SplitFeatures(splits, stores);
    } catch (RuntimeException e) {
      stores.forEach(ZipFeatureStore::close);
      throw e;
    }
  }

  /** The features' width. */
  public int dim() {
    return stores.get(0).dim();
  }

  /** The features of the split at this position of the list opened. */
  public ZipFeatureStore get(int index) {
    return stores.get(index);
  }

  public List<String> splits() {
    return splits;
  }

  @Override
  public void close() {
    stores.forEach(ZipFeatureStore::close);
  }
}

package dev.vidtag.data;

import dev.vidtag.io.DataException;

/**
 * Samples by index, e.g. one split's annotations with their frame features. Implementations are
 * safe for concurrent calls (the loader's workers call {@link #sample} at the same time) and
 * deterministic: the same index and seed give the same sample.
 */
public interface SampleSource {

  /** The number of samples. */
  int size();

  /**
   * The sample at an index in {@code [0, size())}.
   *
   * @param seed a seed for the sample's random choices (training-time frame sampling): the
   *     loader derives it from its seed, the epoch and the index, so a run is repeatable
   *     whatever the number of worker threads; sources without random choices ignore it
   * @throws DataException naming the file, the video and the field when the data is bad
   */
  Sample sample(int index, long seed);
}

package dev.vidtag.data;

import dev.vidtag.io.DataException;

/**
 * Frame features by video id, e.g. one split's {@code zip_feats/<split>.zip}. Implementations
 * are safe for concurrent readers and close their files.
 */
public interface FrameFeatureSource extends AutoCloseable {

  /** Feature width D. */
  int dim();

  /**
   * The features of a video; a video without stored features is an error or a video with no
   * frames, as the source was configured.
   *
   * @throws DataException naming the file, the video and what is wrong
   */
  FrameFeatures read(String videoId);

  @Override
  void close();
}

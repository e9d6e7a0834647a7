package dev.vidtag.infer;

/**
 * A {@link BatchingClassifier} refused work because its queue had no room for it: nothing was
 * queued, so the caller may retry later or shed the load.
 */
public final class QueueFullException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public QueueFullException(String message) {
    super(message);
  }
}

package dev.vidtag.infer;

/**
 * A request's deadline passed, or would have passed by the time its batch ran: it was not run.
 */
public final class DeadlineExceededException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public DeadlineExceededException(String message) {
    super(message);
  }
}

package dev.vidtag.serve;

/** A request the server refuses as the client's fault; the message says which part and why. */
final class BadRequestException extends Exception {
  private static final long serialVersionUID = 1L;

  private final int status;

  BadRequestException(int status, String message) {
    super(message);
    this.status = status;
  }

  BadRequestException(String message) {
    this(400, message);
  }

  int status() {
    return status;
  }
}

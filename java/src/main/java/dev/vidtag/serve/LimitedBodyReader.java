package dev.vidtag.serve;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import org.eclipse.jetty.io.Content;

/**
 * Reads a request body without blocking a thread, up to a limit: a body that grows past it stops
 * being read at that point, whether or not it declared its length.
 */
final class LimitedBodyReader implements Runnable {
  /** Where the outcome goes; exactly one method is called, once. */
  interface Outcome {
    void body(byte[] body);

    void tooLarge(long limit);

    void failed(Throwable failure);
  }

  private final Content.Source source;
  private final int limit;
  private final Outcome outcome;
  private final ByteArrayOutputStream bytes;

  private LimitedBodyReader(Content.Source source, int limit, Outcome outcome) {
    this.source = source;
    this.limit = limit;
    this.outcome = outcome;
    long declared = source.getLength();
    this.bytes = new ByteArrayOutputStream(declared > 0 ? (int) Math.min(declared, limit) : 8192);
  }

  static void read(Content.Source source, int limit, Outcome outcome) {
    new LimitedBodyReader(source, limit, outcome).run();
  }

  /** Reads what is there; asks to be called again when more arrives. */
  @Override
  public void run() {
    while (true) {
      Content.Chunk chunk = source.read();
      if (chunk == null) {
        source.demand(this);
        return;
      }
      if (Content.Chunk.isFailure(chunk)) {
        outcome.failed(chunk.getFailure());
        return;
      }
      ByteBuffer buffer = chunk.getByteBuffer();
      boolean fits = bytes.size() + (long) buffer.remaining() <= limit;
      if (fits) {
        byte[] part = new byte[buffer.remaining()];
        buffer.get(part);
        bytes.writeBytes(part);
      }
      boolean last = chunk.isLast();
      chunk.release();
      if (!fits) {
        outcome.tooLarge(limit);
        return;
      }
      if (last) {
        outcome.body(bytes.toByteArray());
        return;
      }
    }
  }
}

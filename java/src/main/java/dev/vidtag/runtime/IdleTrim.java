package dev.vidtag.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives the allocator's free memory back to the system once the process goes idle, for the
 * {@code reuse} allocation policy: during work the freed activations stay for the next forward
 * (no page faults), and a service that stops receiving requests shrinks to what its live tensors
 * need. Idle means the process's CPU time (user and system, from {@code /proc/self/stat}) grew by
 * less than 2% of one core over the idle period; one trim per idle spell. A daemon thread of
 * its own, sampling four times per idle period; nothing runs where {@code /proc} is absent.
 */
final class IdleTrim implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(IdleTrim.class);
  private static final Path STAT = Path.of("/proc/self/stat");
  /** Linux's USER_HZ, the unit of the CPU times in /proc/self/stat, on every architecture. */
  private static final double TICKS_PER_SECOND = 100.0;
  private static final double IDLE_CPU_SHARE = 0.02;
  private static Thread thread;

  private final Duration idle;

  private IdleTrim(Duration idle) {
    this.idle = idle;
  }

  /** Starts the trimming thread once per process; a zero period disables it. */
  static synchronized void start(Duration idle) {
    if (thread != null || idle.isZero() || cpuTicks() < 0) {
      return;
    }
    thread = new Thread(new IdleTrim(idle), "vidtag-idle-trim");
    thread.setDaemon(true);
    thread.setPriority(Thread.MIN_PRIORITY);
    thread.start();
  }

  /** "2s", "500ms", "1m", or "off" / "0" for never. */
  static Duration parseIdle(String property, String text) {
    String v = text.trim().toLowerCase(Locale.ROOT);
    if (v.equals("off") || v.equals("0")) {
      return Duration.ZERO;
    }
    try {
      if (v.endsWith("ms")) {
        return positive(Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2))));
      }
      if (v.endsWith("s")) {
        return positive(Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1))));
      }
      if (v.endsWith("m")) {
        return positive(Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1))));
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("-D" + property + " must be a duration like 2s, 500ms "
        + "or 1m, or off; got '" + text + "'");
  }

  private static Duration positive(Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new NumberFormatException("not positive");
    }
    return d;
  }

  @Override
  public void run() {
    long sampleMillis = Math.max(50, idle.toMillis() / 4);
    int samplesPerPeriod = (int) Math.max(1, idle.toMillis() / sampleMillis);
    long[] window = new long[samplesPerPeriod + 1];
    int filled = 0;
    boolean trimmed = false;
    double idleTicks = IDLE_CPU_SHARE * TICKS_PER_SECOND * idle.toMillis() / 1000.0;
    try {
      while (true) {
        Thread.sleep(sampleMillis);
        long ticks = cpuTicks();
        if (ticks < 0) {
          return;
        }
        System.arraycopy(window, 1, window, 0, window.length - 1);
        window[window.length - 1] = ticks;
        filled = Math.min(filled + 1, window.length);
        if (filled < window.length) {
          continue;
        }
        boolean quiet = window[window.length - 1] - window[0] <= idleTicks;
        if (quiet && !trimmed) {
          NativeEnvironment.malloc_trim(0);
          trimmed = true;
        } else if (!quiet) {
          trimmed = false;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.warn("idle memory trimming stopped: {}", e.toString());
    }
  }

  /** utime + stime of this process in clock ticks, or -1 where /proc cannot be read. */
  static long cpuTicks() {
    try {
      String stat = Files.readString(STAT, StandardCharsets.US_ASCII);
      // the command name (field 2) is in parentheses and may hold spaces
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}

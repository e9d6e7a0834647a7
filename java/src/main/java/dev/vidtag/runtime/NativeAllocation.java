package dev.vidtag.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How LibTorch's tensor memory reaches the process ({@code -Dvidtag.malloc}).
 *
 * <p>Why it matters: glibc serves every allocation above 32 MB (a BERT-base feed-forward
 * activation at batch 16 is 53 MB) with a fresh mmap and unmaps it on free, so each forward
 * touches new 4 KB pages and the kernel faults and zeroes every one. On a 2-core virtual machine
 * that cost more than the matrix product that filled them: 156 ms of page faults against 61 ms
 * of GEMM per feed-forward (benchmarks/RESULTS.md, LayerProfile).
 *
 * <ul>
 *   <li>{@code reuse} (default): glibc serves every chunk from its heaps and keeps freed memory
 *       for the next forward, up to {@code -Dvidtag.malloc.keep} (default 1g) of free memory at
 *       a heap's top, so a steady loop of forwards faults no page after the first; and when the
 *       process has been idle for {@code -Dvidtag.malloc.idle} (default 2s: its CPU time grew by
 *       less than 2% of a core), the free memory goes back to the system ({@link IdleTrim}).
 *       Tensors are placed as with {@code hugepages}. In-process: an application that embeds
 *       VidTag gets it with no launcher setting.
 *   <li>{@code hugepages}: LibTorch aligns tensors of 2 MB and more to 2 MB and asks
 *       for transparent huge pages ({@code THP_MEM_ALLOC_ENABLE=1}), so a 53 MB tensor takes 27
 *       faults instead of 13,000. Only tensor memory is affected, and it is still returned to
 *       the system when freed. Without transparent huge pages in the kernel
 *       ({@code /sys/kernel/mm/transparent_hugepage/enabled} = never) nothing changes.
 *   <li>{@code retain}: glibc keeps all freed memory for reuse (no chunk served by its own mmap,
 *       heaps never trimmed), as an arena allocator does; the fastest for a process dedicated
 *       to inference, at the price of keeping its peak native memory until
 *       {@link TorchRuntime#releaseFreeNativeMemory()} or exit. Process-wide: it changes the
 *       allocator of the whole JVM.
 *   <li>{@code system}: glibc's and LibTorch's defaults.
 * </ul>
 */
final class NativeAllocation {
  private static final Logger log = LoggerFactory.getLogger(NativeAllocation.class);
  static final String PROPERTY = "vidtag.malloc";
  static final String KEEP_PROPERTY = "vidtag.malloc.keep";
  static final String IDLE_PROPERTY = "vidtag.malloc.idle";
  private static final String HUGE_PAGES = "THP_MEM_ALLOC_ENABLE";

  private NativeAllocation() {}

  /** Applies the chosen policy before LibTorch loads; returns its name. */
  static String configure() {
    String choice = System.getProperty(PROPERTY, "reuse");
    switch (choice) {
      case "reuse" -> {
        NativeEnvironment.setenv(HUGE_PAGES, "1", 0);
        long keep = parseSize(KEEP_PROPERTY, System.getProperty(KEEP_PROPERTY, "1g"));
        boolean applied = NativeEnvironment.mallopt(NativeEnvironment.M_MMAP_MAX(), 0) == 1
            && NativeEnvironment.mallopt(NativeEnvironment.M_TRIM_THRESHOLD(),
                (int) Math.min(keep, Integer.MAX_VALUE)) == 1;
        if (!applied) {
          log.warn("the C library refused to keep freed memory (mallopt); using its defaults");
          return "hugepages";
        }
        IdleTrim.start(IdleTrim.parseIdle(IDLE_PROPERTY, System.getProperty(IDLE_PROPERTY, "2s")));
        return choice;
      }
      case "system" -> {
        return choice;
      }
      case "hugepages" -> {
        // LibTorch reads it once, at its first allocation; a user's own setting wins
        NativeEnvironment.setenv(HUGE_PAGES, "1", 0);
        return choice;
      }
      case "retain" -> {
        boolean applied = NativeEnvironment.mallopt(NativeEnvironment.M_MMAP_MAX(), 0) == 1
            && NativeEnvironment.mallopt(NativeEnvironment.M_TRIM_THRESHOLD(),
                Integer.MAX_VALUE) == 1;
        if (!applied) {
          log.warn("the C library refused to keep freed memory (mallopt); using its defaults");
          return "system";
        }
        return choice;
      }
      default -> throw new IllegalArgumentException("-D" + PROPERTY + " must be reuse, "
          + "hugepages, retain or system, got '" + choice + "'");
    }
  }

  /** A byte count such as 512m, 1g or 1048576; at most 2g - 1 (glibc takes an int). */
  static long parseSize(String property, String value) {
    String v = value.trim().toLowerCase(java.util.Locale.ROOT);
    long unit = 1;
    if (v.endsWith("k") || v.endsWith("m") || v.endsWith("g")) {
      unit = switch (v.charAt(v.length() - 1)) {
        case 'k' -> 1L << 10;
        case 'm' -> 1L << 20;
        default -> 1L << 30;
      };
      v = v.substring(0, v.length() - 1);
    }
    try {
      long bytes = Math.multiplyExact(Long.parseLong(v), unit);
      if (bytes < 0 || bytes > Integer.MAX_VALUE) {
        throw new NumberFormatException("out of range");
      }
      return bytes;
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException("-D" + property + " must be a size from 0 to 2047m "
          + "(like 512m or 1g), got '" + value + "'", e);
    }
  }
}

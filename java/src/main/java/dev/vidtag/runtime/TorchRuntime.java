package dev.vidtag.runtime;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts LibTorch once per process, the same way whether VidTag runs its own command line or is
 * embedded in another application. Call {@link #initialize()} (or let any VidTag class call it)
 * before touching an {@code org.bytedeco.pytorch} class:
 *
 * <ol>
 *   <li>JavaCPP's cache goes under the user's cache directory unless already configured.
 *   <li>{@code OMP_WAIT_POLICY=PASSIVE} is put into the C environment unless the user set it:
 *       OpenMP reads it once, when it loads, and its default spin-waiting oversubscribes small
 *       machines (a small forward took 20 ms instead of 1 ms on 2 cores).
 *   <li>LibTorch's and OpenBLAS's native libraries are extracted before the first one loads, so
 *       a fresh cache never resolves a dependency against a system libtorch.
 *   <li>Large tensors are placed on transparent huge pages, so that the kernel does not fault
 *       and zero them 4 KB at a time on every forward ({@link NativeAllocation};
 *       {@code -Dvidtag.malloc=retain|system} for the other policies).
 *   <li>LibTorch, OpenBLAS and VidTag's kernels share one thread count. OpenBLAS keeps its own
 *       threads: at one thread a large fp32 GEMM ran at half speed (see benchmarks/RESULTS.md).
 *   <li>Where Intel MKL's libraries are on the class path, LibTorch's BLAS calls go to MKL
 *       ({@link MklBlas}; {@code -Dvidtag.blas=openblas} keeps OpenBLAS).
 * </ol>
 */
public final class TorchRuntime {
  private static final Logger log = LoggerFactory.getLogger(TorchRuntime.class);
  private static final String JAVACPP_CACHE_PROPERTY = "org.bytedeco.javacpp.cachedir";

  /** Set once LibTorch has started (read without the lock on the hot path of every batch). */
  private static volatile RuntimeInfo info;
  private static String blas = "OpenBLAS";

  private TorchRuntime() {}

  /** What start-up found and chose. */
  public record RuntimeInfo(
      Path cacheDirectory,
      int threads,
      String ompWaitPolicy,
      boolean openMpLoadedBeforeStart,
      String openBlasCoreType,
      String nativeAllocation) {}

  /** Starts LibTorch with {@link RuntimeOptions#defaults()}; later calls return the first result. */
  public static RuntimeInfo initialize() {
    RuntimeInfo started = info;
    if (started != null) {
      return started;
    }
    synchronized (TorchRuntime.class) {
      return info != null ? info : initialize(RuntimeOptions.defaults());
    }
  }

  /** Whether LibTorch has started in this process. */
  public static boolean isStarted() {
    return info != null;
  }

  /**
   * Starts LibTorch with these options. Once it has started, a later call only changes the thread
   * count; the cache directory and OpenMP's wait policy are fixed for the life of the process.
   */
  public static synchronized RuntimeInfo initialize(RuntimeOptions options) {
    if (info == null) {
      Path cache = configureCacheDirectory(options.cacheDirectory());
      boolean openMpEarly = openMpAlreadyLoaded();
      String waitPolicy = configureOpenMpWaitPolicy(openMpEarly);
      String allocation = NativeAllocation.configure();
      String openBlasCore = environmentValue("OPENBLAS_CORETYPE");
      loadLibTorch();
      info = new RuntimeInfo(cache, options.threads(), waitPolicy, openMpEarly,
          openBlasCore == null || openBlasCore.isBlank() ? "detected" : openBlasCore, allocation);
    } else if (options.cacheDirectory().isPresent()
        && !options.cacheDirectory().get().resolve("javacpp").equals(info.cacheDirectory())) {
      log.warn("LibTorch already started with cache {}; ignoring {}", info.cacheDirectory(),
          options.cacheDirectory().get());
    }
    setThreads(options.threads());
    info = new RuntimeInfo(info.cacheDirectory(), options.threads(), info.ompWaitPolicy(),
        info.openMpLoadedBeforeStart(), info.openBlasCoreType(), info.nativeAllocation());
    return info;
  }

  /**
   * The BLAS behind LibTorch's fp32 matrix products: "MKL" when its libraries are on the class
   * path ({@link MklBlas}), else "OpenBLAS".
   */
  public static synchronized String blas() {
    initialize();
    return blas;
  }

  /**
   * Gives the free memory that the C allocator holds (all of it with {@code -Dvidtag.malloc=
   * retain}) back to the system, for an application that is done with a burst of work and wants
   * its resident set to shrink. Tensors still alive are not touched.
   */
  public static void releaseFreeNativeMemory() {
    initialize();
    NativeEnvironment.malloc_trim(0);
  }

  /** Sets LibTorch's intra-op threads and OpenBLAS's threads together. */
  public static synchronized void setThreads(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    torch.set_num_threads(threads);
    openblas_nolapack.blas_set_num_threads(threads);
  }

  /**
   * Sets OpenBLAS's own threads alone, after {@link #setThreads}. OpenBLAS splits any product
   * above about 2^18 multiply-adds over its own pool, besides LibTorch's threads. With other
   * work on the cores, one OpenBLAS thread made small-model training a fifth faster in two paired
   * runs out of three; on idle cores it changed nothing; BERT-base's products run at half speed
   * on one (see benchmarks/RESULTS.md).
   */
  public static synchronized void setBlasThreads(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("BLAS threads must be at least 1, got " + threads);
    }
    initialize();
    openblas_nolapack.blas_set_num_threads(threads);
  }

  /** The torch device for a spec, or a clear error when it does not exist here. */
  public static Device device(DeviceSpec spec) {
    initialize();
    if (spec.kind() == DeviceSpec.Kind.CUDA) {
      if (!torch.cuda_is_available()) {
        throw new IllegalStateException("device " + spec + " requested, but CUDA is not available: "
            + "this LibTorch build has no CUDA support or no NVIDIA GPU and driver were found "
            + "(build with -Pgpu on a machine with CUDA 13 and cuDNN 9, or use --device cpu)");
      }
      int count = torch.cuda_device_count();
      if (spec.index() >= count) {
        throw new IllegalStateException("device " + spec + " requested, but only " + count
            + " CUDA device(s) exist (cuda:0 to cuda:" + (count - 1) + ")");
      }
    }
    return new Device(spec.toString());
  }

  /**
   * VidTag's cache directory: the one whose {@code javacpp/} folder LibTorch started with, else
   * the default ({@link RuntimeOptions}). Other native components (the tokenizer's library) keep
   * their files beside JavaCPP's, so that nothing is written to the home directory when VidTag's
   * cache is elsewhere.
   */
  public static synchronized Path cacheRoot() {
    if (info != null && info.cacheDirectory().getFileName().toString().equals("javacpp")) {
      return info.cacheDirectory().getParent();
    }
    return defaultCacheDirectory(System.getenv());
  }

  static Path configureCacheDirectory(Optional<Path> requested) {
    String configured = System.getProperty(JAVACPP_CACHE_PROPERTY);
    Path javacppCache;
    if (configured != null && requested.isEmpty()) {
      javacppCache = Path.of(configured);
    } else {
      javacppCache = requested.orElseGet(() -> defaultCacheDirectory(System.getenv()))
          .resolve("javacpp");
      System.setProperty(JAVACPP_CACHE_PROPERTY, javacppCache.toString());
    }
    try {
      Files.createDirectories(javacppCache);
    } catch (IOException e) {
      throw new IllegalStateException("cannot create the native library cache " + javacppCache
          + " (set vidtag.cache.dir or VIDTAG_CACHE_DIR to a writable directory)", e);
    }
    return javacppCache;
  }

  static Path defaultCacheDirectory(Map<String, String> environment) {
    String property = System.getProperty("vidtag.cache.dir");
    if (property != null && !property.isBlank()) {
      return Path.of(property);
    }
    String variable = environment.get("VIDTAG_CACHE_DIR");
    if (variable != null && !variable.isBlank()) {
      return Path.of(variable);
    }
    String xdg = environment.get("XDG_CACHE_HOME");
    if (xdg != null && !xdg.isBlank()) {
      return Path.of(xdg, "vidtag");
    }
    return Path.of(System.getProperty("user.home"), ".cache", "vidtag");
  }

  private static String configureOpenMpWaitPolicy(boolean openMpEarly) {
    Loader.load(NativeEnvironment.class);
    String current = environmentValue("OMP_WAIT_POLICY");
    if (current != null && !current.isBlank()) {
      return current;
    }
    NativeEnvironment.setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    if (openMpEarly) {
      log.warn("OpenMP was loaded before VidTag started, so OMP_WAIT_POLICY=PASSIVE comes too late "
          + "and spinning threads may oversubscribe the cores; set OMP_WAIT_POLICY=PASSIVE in the "
          + "environment of this JVM");
    }
    return "PASSIVE";
  }

  /** A variable of the C environment (which Java's System.getenv does not see change). */
  public static String environmentValue(String name) {
    Loader.load(NativeEnvironment.class);
    BytePointer value = NativeEnvironment.getenv(name);
    return value == null || value.isNull() ? null : value.getString();
  }

  private static boolean openMpAlreadyLoaded() {
    return !loadedOpenMpRuntimes().isEmpty();
  }

  /**
   * The OpenMP runtime libraries mapped into this process (Linux only; empty elsewhere). More
   * than one means two thread pools compete for the cores.
   */
  public static List<String> loadedOpenMpRuntimes() {
    Path maps = Path.of("/proc/self/maps");
    if (!Files.isReadable(maps)) {
      return List.of();
    }
    try (Stream<String> lines = Files.lines(maps)) {
      return lines.map(line -> line.substring(line.lastIndexOf(' ') + 1))
          .filter(path -> path.contains("libgomp") || path.contains("libiomp")
              || path.contains("libomp.so"))
          .distinct()
          .toList();
    } catch (IOException | UncheckedIOException e) {
      return List.of();
    }
  }

  /**
   * LibTorch's core libraries in dependency order. Loading them by absolute path, from the
   * cache, registers their sonames before anything asks the dynamic loader to search for them,
   * so neither a system libtorch nor LD_LIBRARY_PATH can substitute another copy.
   */
  private static final List<String> OPENBLAS_LIBRARIES =
      List.of("libquadmath.so.0", "libgfortran.so.5", "libopenblas.so.0");
  private static final List<String> LIBTORCH_LIBRARIES =
      List.of("libgomp.so.1", "libc10.so", "libtorch_cpu.so", "libtorch.so");

  private static void loadLibTorch() {
    Map<String, File> openBlas = extract("openblas");
    Map<String, File> libTorch = extract("pytorch");
    blas = MklBlas.loadIfPresent(libTorch.get("libgomp.so.1")) ? "MKL" : "OpenBLAS";
    preload(openBlas, OPENBLAS_LIBRARIES);
    preload(libTorch, LIBTORCH_LIBRARIES);
    Loader.load(torch.class);
  }

  private static void preload(Map<String, File> extracted, List<String> libraries) {
    for (String library : libraries) {
      File file = extracted.get(library);
      if (file != null) {
        System.load(file.getAbsolutePath());
      }
    }
  }

  /** A preset's native libraries, extracted into the cache: file name to file. */
  private static Map<String, File> extract(String preset) {
    Map<String, File> extracted = new HashMap<>();
    String platform = Loader.getPlatform();
    for (String directory : List.of(platform, platform + "-gpu")) {
      try {
        // returns the extracted directories
        File[] extractedDirectories =
            Loader.cacheResources("/org/bytedeco/" + preset + "/" + directory + "/");
        for (File extractedDirectory : extractedDirectories == null ? new File[0] : extractedDirectories) {
          File[] files = extractedDirectory.listFiles();
          for (File file : files == null ? new File[0] : files) {
            extracted.put(file.getName(), file);
          }
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot extract the " + preset + " native libraries into "
            + System.getProperty(JAVACPP_CACHE_PROPERTY), e);
      }
    }
    return extracted;
  }
}

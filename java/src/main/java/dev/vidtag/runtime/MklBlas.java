package dev.vidtag.runtime;

import java.io.File;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Loader;

/**
 * Puts Intel MKL in front of OpenBLAS as the BLAS that LibTorch calls ({@code sgemm_}), when
 * MKL's redistributable libraries are on the class path ({@code org.bytedeco:mkl}, classifier
 * {@code linux-x86_64-redist}) and {@code -Dvidtag.blas} is not {@code openblas}.
 *
 * <p>Why: LibTorch calls BLAS from inside its own OpenMP threads in attention, where OpenBLAS
 * (a pthreads build) starts threads of its own on top; MKL runs on LibTorch's OpenMP runtime
 * ({@code MKL_THREADING_LAYER=GNU}: no second runtime in the process) and goes sequential
 * there. In a BERT-base encoder at batch 16 attention took 67 ms per layer with OpenBLAS and
 * 37 ms with MKL, which made int8 inference (FBGEMM linears, BLAS attention) 1.1-1.5 times as
 * fast with MKL. fp32 runs faster on OpenBLAS where it has AVX-512 kernels and MKL, on an AMD
 * CPU, only AVX2 ones (benchmarks/RESULTS.md, race), so the library does not depend on MKL (its
 * jar is 149 MB against LibTorch's 87 MB): an application that wants it adds the dependency, and
 * {@code mvn -Pmkl} builds the command line with it.
 *
 * <p>How: MKL's libraries are loaded with global symbol visibility before LibTorch, so that
 * LibTorch's {@code sgemm_} binds to MKL's; OpenBLAS stays loaded for the code that calls it by
 * name. MKL loads its CPU-specific kernels itself, by name, from the same folder, so every
 * library of the folder is loaded first.
 */
final class MklBlas {
  static final String PROPERTY = "vidtag.blas";
  /** Dependencies first: each library's data references must already be visible. */
  private static final List<String> LOAD_ORDER = List.of("libmkl_core.so.2",
      "libmkl_gnu_thread.so.2", "libmkl_intel_lp64.so.2", "libmkl_def.so.2", "libmkl_mc3.so.2",
      "libmkl_avx2.so.2", "libmkl_avx512.so.2", "libmkl_vml_def.so.2", "libmkl_vml_mc3.so.2",
      "libmkl_vml_avx2.so.2", "libmkl_vml_avx512.so.2", "libmkl_vml_cmpt.so.2",
      "libmkl_rt.so.2");

  private MklBlas() {}

  /**
   * Loads MKL when present and wanted; true when LibTorch's BLAS is now MKL. {@code libgomp} is
   * LibTorch's OpenMP runtime, which MKL's threading layer binds to: it is made globally visible
   * first.
   */
  static boolean loadIfPresent(File libgomp) {
    String choice = System.getProperty(PROPERTY, "auto");
    if (!choice.equals("auto") && !choice.equals("mkl") && !choice.equals("openblas")) {
      throw new IllegalArgumentException("-D" + PROPERTY + " must be auto, mkl or openblas, got '"
          + choice + "'");
    }
    if (choice.equals("openblas")) {
      return false;
    }
    String folder = "/org/bytedeco/mkl/" + Loader.getPlatform() + "/";
    if (MklBlas.class.getResource(folder + "libmkl_rt.so.2") == null) {
      if (choice.equals("mkl")) {
        throw new IllegalStateException("-D" + PROPERTY + "=mkl, but MKL's libraries are not on"
            + " the class path (org.bytedeco:mkl, classifier " + Loader.getPlatform()
            + "-redist)");
      }
      return false;
    }
    Map<String, File> files = new HashMap<>();
    try {
      for (File dir : Loader.cacheResources(folder)) {
        File[] listed = dir.listFiles();
        for (File file : listed == null ? new File[0] : listed) {
          files.put(file.getName(), file);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot extract MKL's libraries", e);
    }
    // LibTorch's libgomp, not Intel's OpenMP: one OpenMP runtime in the process
    NativeEnvironment.setenv("MKL_THREADING_LAYER", "GNU", 0);
    if (libgomp == null) {
      throw new IllegalStateException("LibTorch's libgomp.so.1 was not found for MKL's threads");
    }
    Loader.loadGlobal(libgomp.getAbsolutePath());
    for (String library : LOAD_ORDER) {
      File file = files.get(library);
      if (file == null) {
        throw new IllegalStateException("MKL's " + library + " is missing from " + folder);
      }
      Loader.loadGlobal(file.getAbsolutePath());
    }
    return true;
  }
}

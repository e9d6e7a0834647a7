package dev.vidtag.train;

import dev.vidtag.io.DataException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;

/**
 * An optimizer's state (AdamW's moments and step counts) in LibTorch's archive format, as a run
 * keeps it to resume. The archive numbers its records by tensor address, not by parameter, so
 * two equal states may differ in record order.
 */
public final class OptimizerArchive {
  private OptimizerArchive() {}

  /** Writes the state to {@code file} (inside a directory that is put in place whole). */
  public static void save(Optimizer optimizer, Path file) {
    OutputArchive archive = new OutputArchive();
    optimizer.save(archive);
    archive.save_to(file.toString());
  }

  /** Loads a saved state into an optimizer over the same parameter groups. */
  public static void load(Optimizer optimizer, Path file) {
    if (!Files.isRegularFile(file)) {
      throw DataException.at(file, null, null, "no optimizer state here");
    }
    InputArchive archive = new InputArchive();
    archive.load_from(file.toString());
    optimizer.load(archive);
  }
}

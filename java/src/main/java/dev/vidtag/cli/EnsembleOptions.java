package dev.vidtag.cli;

import dev.vidtag.infer.EnsembleFile;
import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.infer.Fuse;
import dev.vidtag.io.DataException;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The models a command runs: {@code --model} (with {@code --fuse}) or {@code --ensemble}. */
final class EnsembleOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec spec;

  @Option(names = "--model", paramLabel = "MODEL_DIR[=WEIGHT]",
      description = "A model directory and its weight in the ensemble (default 1); repeat for an ensemble.")
  List<String> models = List.of();

  @Option(names = "--ensemble", paramLabel = "ENSEMBLE.json",
      description = "An ensemble written by 'vidtag fit-ensemble' (its models, weights and fusion) "
          + "instead of --model.")
  Path ensemble;

  @Option(names = "--fuse", defaultValue = "logits", paramLabel = "logits|probs",
      description = "Weighted sum of the models' logits or of their probabilities (default: ${DEFAULT-VALUE}).")
  String fuse;

  /** The members and the fusion: from --model and --fuse, or from --ensemble's file. */
  EnsembleFile resolve() {
    if ((ensemble == null) == models.isEmpty()) {
      throw new IllegalArgumentException("give the models with --model, or an ensemble file "
          + "with --ensemble (not both)");
    }
    if (ensemble == null) {
      return new EnsembleFile(Fuse.parse(fuse),
          models.stream().map(EnsembleMember::parse).toList());
    }
    if (spec.commandLine().getParseResult().hasMatchedOption("--fuse")) {
      throw new IllegalArgumentException("--ensemble brings its own fusion; drop --fuse");
    }
    try {
      return EnsembleFile.read(ensemble);
    } catch (DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }
}

package dev.vidtag.infer.budget;

import dev.vidtag.infer.EnsembleMember;
import dev.vidtag.model.CheckpointName;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalDouble;
import java.util.stream.IntStream;

/**
 * Which members of an ensemble a budget keeps longest. A model directory holds no score of its
 * own; a training checkpoint's name does ({@code step-N-score-S}), so when every member is such
 * a checkpoint they rank by that validation score, and otherwise in the order given.
 *
 * @param bestFirst ensemble positions, best first
 * @param byScore whether the order comes from validation scores
 */
public record MemberRanking(List<Integer> bestFirst, boolean byScore) {
  public MemberRanking {
    bestFirst = List.copyOf(bestFirst);
  }

  public static MemberRanking of(List<EnsembleMember> members) {
    List<OptionalDouble> scores = members.stream()
        .map(m -> validationScore(m.modelDirectory())).toList();
    List<Integer> order = new ArrayList<>(IntStream.range(0, members.size()).boxed().toList());
    boolean allScored = !scores.isEmpty() && scores.stream().allMatch(OptionalDouble::isPresent);
    if (allScored) {
      // a stable sort: equal scores keep the order given
      order.sort(Comparator.comparingDouble((Integer i) -> scores.get(i).getAsDouble()).reversed());
    }
    return new MemberRanking(order, allScored);
  }

  /** The validation score a checkpoint directory's name records, if it does. */
  public static OptionalDouble validationScore(Path modelDirectory) {
    return CheckpointName.of(modelDirectory).map(name -> OptionalDouble.of(name.score()))
        .orElse(OptionalDouble.empty());
  }
}

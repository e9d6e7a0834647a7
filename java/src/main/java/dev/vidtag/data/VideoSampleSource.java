package dev.vidtag.data;

import dev.vidtag.io.DataException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The samples of a split: each annotation's text through the {@link TextRule}, its frame
 * features from a {@link FrameFeatureSource} (e.g. the split's zip_feats), the frame rows a
 * {@link FrameSelector} picks, and the lv2 index of its category. Work happens when a sample is
 * asked for, on the loader's worker threads.
 */
public final class VideoSampleSource implements SampleSource {

  /** Which stored frames to use, in order, e.g. the frame sampler's choice. */
  @FunctionalInterface
  public interface FrameSelector {
    /**
     * @param storedFrames the frames stored for the video
     * @param seed the sample's seed (for random choices at training time)
     * @return the row indices to use, each in {@code [0, storedFrames)}
     */
    int[] rows(int storedFrames, long seed);
  }

  private final List<VideoAnnotation> videos;
  private final FrameFeatureSource features;
  private final TextRule rule;
  private final BertTokenizer tokenizer;
  private final CategoryMap categories;
  private final FrameSelector frames;

  public VideoSampleSource(List<VideoAnnotation> videos, FrameFeatureSource features,
      TextRule rule, BertTokenizer tokenizer, CategoryMap categories, FrameSelector frames) {
    this.videos = List.copyOf(videos);
    this.features = Objects.requireNonNull(features, "features");
    this.rule = Objects.requireNonNull(rule, "rule");
    this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    this.categories = Objects.requireNonNull(categories, "categories");
    this.frames = Objects.requireNonNull(frames, "frames");
  }

  @Override
  public int size() {
    return videos.size();
  }

  /** The annotation behind a sample index. */
  public VideoAnnotation video(int index) {
    return videos.get(index);
  }

  /** Every video's input-id count, for {@link BatchPlan#lengthBucketed} (tokenizes them all). */
  public int[] textLengths() {
    return videos.stream().mapToInt(v -> rule.encode(v, tokenizer).length).toArray();
  }

  @Override
  public Sample sample(int index, long seed) {
    VideoAnnotation video = videos.get(index);
    int[] ids = rule.encode(video, tokenizer);
    FrameFeatures stored = features.read(video.id());
    int[] rows = frames.rows(stored.frames(), seed);
    return new Sample(video.id(), ids, stored, rows, label(video));
  }

  private int label(VideoAnnotation video) {
    Optional<String> category = video.categoryId();
    if (category.isEmpty()) {
      return -1;
    }
    OptionalInt lv2 = categories.lv2Index(category.get());
    if (lv2.isEmpty()) {
      throw DataException.at(null, video.id(), "category_id",
          "'" + category.get() + "' is not one of the " + categories.size() + " categories");
    }
    return lv2.getAsInt();
  }
}

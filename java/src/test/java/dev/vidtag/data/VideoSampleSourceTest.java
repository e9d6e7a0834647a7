package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vidtag.data.FrameFeatures.ElementType;
import dev.vidtag.io.DataException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class VideoSampleSourceTest {

  private static FrameFeatureSource inMemory(Map<String, FrameFeatures> stored) {
    return new FrameFeatureSource() {
      @Override
      public int dim() {
        return 4;
      }

      @Override
      public FrameFeatures read(String videoId) {
        return stored.get(videoId);
      }

      @Override
      public void close() {}
    };
  }

  @Test
  void samplesCarryTextFramesAndLabels() {
    CategoryMap categories = CategoryMap.official();
    String category = categories.categoryId(17);
    List<VideoAnnotation> videos = List.of(
        new VideoAnnotation("v1", "Hello", "world", List.of(new OcrText(0, "视频")),
            Optional.of(category)),
        new VideoAnnotation("v2", "中文", "", List.of(), Optional.empty()),
        new VideoAnnotation("v3", "", "", List.of(), Optional.of("9999")));
    FrameFeatureSource features = inMemory(Map.of(
        "v1", SampleFixtures.features(1, 5, 4, ElementType.FLOAT16),
        "v2", SampleFixtures.features(2, 2, 4, ElementType.FLOAT16),
        "v3", FrameFeatures.empty(4)));
    Map<String, Integer> vocab = BertTokenizerDefinition.readVocabulary(
        TokenizerFixtures.vocabulary());
    try (BertTokenizer tokenizer = BertTokenizer.fromVocabulary(TokenizerFixtures.vocabulary())) {
      VideoSampleSource source = new VideoSampleSource(videos, features, TextRule.reference(10),
          tokenizer, categories, (stored, seed) -> stored > 1 ? new int[] {0, stored - 1}
              : new int[0]);
      assertEquals(3, source.size());
      Sample first = source.sample(0, 1);
      assertEquals("v1", first.id());
      assertArrayEquals(new int[] {vocab.get("[CLS]"), vocab.get("helloworld"), vocab.get("视"),
          vocab.get("频"), vocab.get("[SEP]")}, first.inputIds());
      assertArrayEquals(new int[] {0, 4}, first.frameRows());
      assertEquals(17, first.label());
      assertEquals(-1, source.sample(1, 1).label());
      assertArrayEquals(new int[] {5, 4, 2}, source.textLengths());
      DataException unknown = assertThrows(DataException.class, () -> source.sample(2, 1));
      assertTrue(unknown.getMessage().contains("item v3") && unknown.getMessage()
          .contains("category_id") && unknown.getMessage().contains("9999"),
          unknown.getMessage());
    }
  }
}

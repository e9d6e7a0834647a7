package dev.vidtag.benchmarks;

import java.util.ArrayList;
import java.util.List;

/**
 * The parameter shapes of a BERT-base single-stream classifier (chinese-roberta-wwm-ext plus
 * video_fc and classifier): 201 tensors, about 103M fp32 values.
 */
final class BertBaseParameters {
  private BertBaseParameters() {}

  record Shape(String name, long[] dims) {
    long numel() {
      long n = 1;
      for (long d : dims) {
        n *= d;
      }
      return n;
    }
  }

  static List<Shape> shapes() {
    List<Shape> shapes = new ArrayList<>();
    shapes.add(new Shape("bert.embeddings.word_embeddings.weight", new long[] {21128, 768}));
    shapes.add(new Shape("bert.embeddings.position_embeddings.weight", new long[] {512, 768}));
    shapes.add(new Shape("bert.embeddings.token_type_embeddings.weight", new long[] {2, 768}));
    shapes.add(new Shape("bert.embeddings.LayerNorm.weight", new long[] {768}));
    shapes.add(new Shape("bert.embeddings.LayerNorm.bias", new long[] {768}));
    for (int layer = 0; layer < 12; layer++) {
      String p = "bert.encoder.layer." + layer + ".";
      for (String m : new String[] {"query", "key", "value"}) {
        shapes.add(new Shape(p + "attention.self." + m + ".weight", new long[] {768, 768}));
        shapes.add(new Shape(p + "attention.self." + m + ".bias", new long[] {768}));
      }
      shapes.add(new Shape(p + "attention.output.dense.weight", new long[] {768, 768}));
      shapes.add(new Shape(p + "attention.output.dense.bias", new long[] {768}));
      shapes.add(new Shape(p + "attention.output.LayerNorm.weight", new long[] {768}));
      shapes.add(new Shape(p + "attention.output.LayerNorm.bias", new long[] {768}));
      shapes.add(new Shape(p + "intermediate.dense.weight", new long[] {3072, 768}));
      shapes.add(new Shape(p + "intermediate.dense.bias", new long[] {3072}));
      shapes.add(new Shape(p + "output.dense.weight", new long[] {768, 3072}));
      shapes.add(new Shape(p + "output.dense.bias", new long[] {768}));
      shapes.add(new Shape(p + "output.LayerNorm.weight", new long[] {768}));
      shapes.add(new Shape(p + "output.LayerNorm.bias", new long[] {768}));
    }
    shapes.add(new Shape("video_fc.weight", new long[] {768, 768}));
    shapes.add(new Shape("video_fc.bias", new long[] {768}));
    shapes.add(new Shape("classifier.weight", new long[] {200, 768}));
    shapes.add(new Shape("classifier.bias", new long[] {200}));
    return shapes;
  }
}

package dev.vidtag.model;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.ModuleListImpl;
import org.bytedeco.pytorch.Tensor;

/** {@code encoder}: the stack {@code layer.<i>}. */
final class BertEncoder extends Module {
  // ModuleListImpl gives the names layer.0, layer.1...; get(i) returns a base wrapper, so the
  // Java objects are kept here. Every module created from Java must stay reachable from Java:
  // LibTorch calls back into it (train/eval), and a collected peer fails those calls.
  private final ModuleListImpl list;
  private final List<BertLayer> layers = new ArrayList<>();

  BertEncoder(BertConfig config, Dropout dropout) {
    list = register_module("layer", new ModuleListImpl());
    for (int i = 0; i < config.numHiddenLayers(); i++) {
      BertLayer layer = new BertLayer(config, dropout);
      list.push_back(layer);
      layers.add(layer);
    }
  }

  Tensor forward(Tensor x, Tensor bias) {
    Tensor hidden = x;
    for (BertLayer layer : layers) {
      Tensor input = hidden;
      hidden = Layers.scoped(() -> layer.forward(input, bias));
    }
    return hidden;
  }

  void useAttention(AttentionBackend backend) {
    for (BertLayer layer : layers) {
      layer.useAttention(backend);
    }
  }

  void quantizeInt8(Int8Quantizer quantizer) {
    for (BertLayer layer : layers) {
      layer.quantizeInt8(quantizer);
    }
  }
}

package dev.vidtag.model;

import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The BERT encoder as Hugging Face's {@code BertModel} computes it, with its parameter names:
 * {@code embeddings.*}, {@code encoder.layer.<i>.*}, and {@code pooler.dense.*} when built with a
 * pooler.
 */
public final class BertModel extends Module {
  private final BertConfig config;
  private final BertEmbeddings embeddings;
  private final BertEncoder encoder;
  private final Module pooler; // kept reachable: LibTorch calls back into Java modules
  private final LinearImpl poolerDense;

  /** A BERT whose dropout draws from a generator of its own. */
  public BertModel(BertConfig config, boolean withPooler) {
    this(config, withPooler, new Dropout());
  }

  /** A BERT whose dropout draws from {@code dropout} (shared with the model it belongs to). */
  public BertModel(BertConfig config, boolean withPooler, Dropout dropout) {
    this.config = config;
    embeddings = register_module("embeddings", new BertEmbeddings(config, dropout));
    encoder = register_module("encoder", new BertEncoder(config, dropout));
    if (withPooler) {
      pooler = register_module("pooler", new Module());
      poolerDense = pooler.register_module("dense",
          new LinearImpl(config.hiddenSize(), config.hiddenSize()));
    } else {
      pooler = null;
      poolerDense = null;
    }
  }

  public BertConfig config() {
    return config;
  }

  public BertEmbeddings embeddings() {
    return embeddings;
  }

  public boolean hasPooler() {
    return poolerDense != null;
  }

  /** Token ids [B, L] and their mask [B, L] (bool or 0/1) to the last hidden states [B, L, H]. */
  public Tensor forward(Tensor ids, Tensor keepMask) {
    Tensor embedded = embeddings.embedIds(ids);
    return encode(embedded, AttentionMasks.keyPaddingBias(keepMask, embedded.scalar_type()));
  }

  /** The layers alone, over embedded inputs with an additive key bias [B, 1, 1, L]. */
  public Tensor encode(Tensor embedded, Tensor keyBias) {
    return encoder.forward(embedded, keyBias);
  }

  /** Which code computes the layers' attention (at first {@link AttentionBackend#forNewModels()}). */
  public void useAttention(AttentionBackend backend) {
    encoder.useAttention(backend);
  }

  /**
   * Switches the encoder layers' linear layers (attention and feed-forward) to int8 weights for
   * inference; the embeddings and the pooler stay fp32.
   */
  void quantizeInt8(Int8Quantizer quantizer) {
    encoder.quantizeInt8(quantizer);
  }

  /** tanh(dense(hidden[:, 0])), as Hugging Face's pooler. */
  public Tensor pool(Tensor hidden) {
    if (poolerDense == null) {
      throw new IllegalStateException("this encoder was built without a pooler");
    }
    return torch.tanh(poolerDense.forward(hidden.select(1, 0)));
  }
}

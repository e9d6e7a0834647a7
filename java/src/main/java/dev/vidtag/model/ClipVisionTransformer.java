package dev.vidtag.model;

import dev.vidtag.model.weights.StateDicts;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The vision tower of OpenAI CLIP: pixels [B, 3, S, S] to image embeddings [B, outputDim], not
 * normalised. Parameter names are OpenAI's state-dict names without the {@code visual.} prefix
 * ({@code conv1.weight}, {@code transformer.resblocks.N.attn.in_proj_weight}, {@code proj}...),
 * so a checkpoint loads by name. Inference only: there is no dropout in CLIP's tower.
 */
public final class ClipVisionTransformer extends Module {
  static final double LAYER_NORM_EPS = 1e-5;

  private final ClipConfig config;
  private final Module conv1; // kept reachable: LibTorch holds only a reference
  private final Tensor patchWeight;
  private final Tensor classEmbedding;
  private final Tensor positionalEmbedding;
  private final LayerNormImpl lnPre;
  private final Module transformer;
  private final Module resblocks;
  private final List<ResidualBlock> blocks = new ArrayList<>();
  private final LayerNormImpl lnPost;
  private final Tensor proj;

  public ClipVisionTransformer(ClipConfig config) {
    this.config = config;
    int width = config.width();
    int p = config.patchSize();
    double scale = Math.pow(width, -0.5);
    conv1 = register_module("conv1", new Module());
    // our own handles: register_parameter returns a reference into a table that moves as it grows
    patchWeight = torch.randn(width, 3, p, p).mul_(new Scalar(scale));
    conv1.register_parameter("weight", patchWeight);
    classEmbedding = torch.randn(width).mul_(new Scalar(scale));
    register_parameter("class_embedding", classEmbedding);
    positionalEmbedding = torch.randn(config.tokens(), width).mul_(new Scalar(scale));
    register_parameter("positional_embedding", positionalEmbedding);
    lnPre = register_module("ln_pre", Layers.layerNorm(width, LAYER_NORM_EPS));
    transformer = register_module("transformer", new Module());
    resblocks = transformer.register_module("resblocks", new Module());
    // CLIP has no dropout: attention runs with probability 0, so this generator is never drawn
    Dropout noDropout = new Dropout();
    for (int i = 0; i < config.layers(); i++) {
      blocks.add(resblocks.register_module(Integer.toString(i),
          new ResidualBlock(width, config.heads(), noDropout)));
    }
    lnPost = register_module("ln_post", Layers.layerNorm(width, LAYER_NORM_EPS));
    proj = torch.randn(width, config.outputDim()).mul_(new Scalar(scale));
    register_parameter("proj", proj);
  }

  public ClipConfig config() {
    return config;
  }

  /** Which code computes the blocks' attention (at first {@link AttentionBackend#forNewModels()}). */
  public void useAttention(AttentionBackend backend) {
    for (ResidualBlock block : blocks) {
      block.attn.useAttention(backend);
    }
  }

  /** Normalised pixels [B, 3, S, S] (float) to image embeddings [B, outputDim]. */
  public Tensor forward(Tensor pixels) {
    int s = config.imageSize();
    if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != s || pixels.size(3) != s) {
      throw new IllegalArgumentException("expected pixels [B, 3, " + s + ", " + s + "], got "
          + Arrays.toString(StateDicts.shape(pixels)));
    }
    Tensor x = Layers.scoped(() -> embed(pixels));
    // attention sees every token: no key padding
    for (ResidualBlock block : blocks) {
      Tensor input = x;
      x = Layers.scoped(() -> block.forward(input));
    }
    return lnPost.forward(x.select(1, 0)).matmul(proj);
  }

  /**
   * The patch convolution has stride = kernel, so it is one matrix product of the flattened
   * patches with the flattened kernel; then the class token in front and the positions added.
   */
  private Tensor embed(Tensor pixels) {
    long b = pixels.size(0);
    int g = config.grid();
    int p = config.patchSize();
    Tensor patches = pixels.reshape(b, 3, g, p, g, p).permute(0, 2, 4, 1, 3, 5)
        .reshape(b, (long) g * g, 3L * p * p);
    Tensor tokens = patches.matmul(patchWeight.reshape(config.width(), 3L * p * p).t());
    Tensor cls = classEmbedding.to(tokens.scalar_type()).view(1, 1, config.width())
        .expand(b, 1, config.width());
    Tensor x = torch.cat(new TensorVector(cls, tokens), 1)
        .add(positionalEmbedding.to(tokens.scalar_type()));
    return lnPre.forward(x);
  }

  /** CLIP's ResidualAttentionBlock: pre-LayerNorm attention and MLP, each added back. */
  static final class ResidualBlock extends Module {
    private final MultiheadAttention attn;
    private final LayerNormImpl ln1;
    private final Module mlp;
    private final Linear cFc;
    private final Linear cProj;
    private final LayerNormImpl ln2;

    ResidualBlock(int width, int heads, Dropout dropout) {
      attn = register_module("attn", new MultiheadAttention(width, heads, 0.0, dropout));
      ln1 = register_module("ln_1", Layers.layerNorm(width, LAYER_NORM_EPS));
      mlp = register_module("mlp", new Module());
      cFc = new Linear(mlp, "c_fc", width, 4 * width);
      cProj = new Linear(mlp, "c_proj", 4 * width, width);
      ln2 = register_module("ln_2", Layers.layerNorm(width, LAYER_NORM_EPS));
    }

    Tensor forward(Tensor x) {
      Tensor y = ln1.forward(x);
      Tensor h = x.add(attn.forward(y, y, null));
      Tensor u = cFc.forward(ln2.forward(h));
      // QuickGELU, CLIP's activation: x * sigmoid(1.702 x)
      Tensor activated = u.mul(torch.sigmoid(u.mul(new Scalar(1.702))));
      return h.add(cProj.forward(activated));
    }
  }
}

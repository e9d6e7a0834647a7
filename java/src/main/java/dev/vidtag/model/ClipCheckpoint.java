package dev.vidtag.model;

import dev.vidtag.model.weights.SafetensorsFile;
import dev.vidtag.model.weights.StateDicts;
import dev.vidtag.model.weights.TorchCheckpointReader;
import dev.vidtag.model.weights.WeightFiles;
import dev.vidtag.model.weights.WeightFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.NamedTensor;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.named_parameter_iterator;
import org.bytedeco.pytorch.named_parameter_list;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The vision tower's weights read from a CLIP checkpoint, renamed to OpenAI's names without the
 * {@code visual.} prefix and converted to fp32, whatever the file held. Three formats, told
 * apart by content, none of them by running code from the file:
 * <ul>
 *   <li>OpenAI's released TorchScript archive ({@code ViT-B-16.pt}): LibTorch's TorchScript
 *       loader opens it and its named parameters {@code visual.*} are copied out; its graph,
 *       which hard-codes CUDA devices and fp16 casts, is never run;
 *   <li>Hugging Face {@code CLIPVisionModelWithProjection}, {@code CLIPVisionModel} or
 *       {@code CLIPModel} safetensors, with or without the {@code vision_model.} prefix (also
 *       safetensors already under OpenAI's names, as an encoder directory holds them);
 *   <li>a {@code torch.save} state dict, flat or a Chinese-CLIP training checkpoint
 *       ({@code {"state_dict": {"module.visual.*": ...}, "optimizer": ..., ...}}), read by the
 *       restricted unpickler.
 * </ul>
 * Tensors outside the vision tower (the text tower, {@code logit_scale}) are counted and dropped.
 */
public final class ClipCheckpoint {
  /** How the file was recognised. */
  public enum Format {
    OPENAI_TORCHSCRIPT("openai-torchscript"),
    HUGGING_FACE("hugging-face-safetensors"),
    SAFETENSORS("safetensors"),
    TORCH_SAVE("torch-save");

    private final String configName;

    Format(String configName) {
      this.configName = configName;
    }

    public String configName() {
      return configName;
    }
  }

  private static final Pattern RESBLOCK = Pattern.compile("transformer\\.resblocks\\.(\\d+)\\..*");
  private static final Pattern HF_LAYER = Pattern.compile("encoder\\.layers\\.(\\d+)\\.(.*)");
  private static final Pattern HF_QKV =
      Pattern.compile("self_attn\\.([qkv])_proj\\.(weight|bias)");

  private final Path file;
  private final Format format;
  private final Map<String, Tensor> tensors;
  private final int ignored;

  private ClipCheckpoint(Path file, Format format, Map<String, Tensor> tensors, int ignored) {
    this.file = file;
    this.format = format;
    this.tensors = tensors;
    this.ignored = ignored;
  }

  public static ClipCheckpoint read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw WeightFormatException.of(file, null, "not a file");
    }
    try (NoGradGuard noGrad = new NoGradGuard()) {
      if (WeightFiles.isSafetensors(file)) {
        Map<String, Tensor> raw;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
          raw = f.loadAll();
        }
        boolean huggingFace = raw.keySet().stream().anyMatch(
            k -> k.startsWith("vision_model.") || k.startsWith("embeddings.patch_embedding."));
        return huggingFace ? fromHuggingFace(file, raw)
            : fromOpenAiNames(file, Format.SAFETENSORS, raw);
      }
      if (isTorchScript(file)) {
        return fromOpenAiNames(file, Format.OPENAI_TORCHSCRIPT, torchScriptParameters(file));
      }
      return fromOpenAiNames(file, Format.TORCH_SAVE,
          TorchCheckpointReader.readEntry(file, "state_dict"));
    }
  }

  public Path file() {
    return file;
  }

  public Format format() {
    return format;
  }

  /** The vision tower's tensors under OpenAI's names, fp32. */
  public Map<String, Tensor> tensors() {
    return tensors;
  }

  /** How many tensors of the file lie outside the vision tower and were dropped. */
  public int ignoredTensors() {
    return ignored;
  }

  /**
   * The tower's shape read from the weights, as CLIP's build_model reads it. The weights cannot
   * tell the number of heads (they share one projection matrix): {@code heads} when given,
   * else {@code num_attention_heads} of a Hugging Face config.json beside the file, else
   * OpenAI's rule, width / 64.
   */
  public ClipConfig inferConfig(Integer heads) {
    long[] conv = shape("conv1.weight", 4);
    long width = conv[0];
    if (conv[1] != 3 || conv[2] != conv[3]) {
      throw WeightFormatException.of(file, "conv1.weight", "expected [width, 3, p, p], got "
          + Arrays.toString(conv));
    }
    long[] positions = shape("positional_embedding", 2);
    long grid = Math.round(Math.sqrt(positions[0] - 1));
    if (grid * grid + 1 != positions[0] || positions[1] != width) {
      throw WeightFormatException.of(file, "positional_embedding", "expected [g * g + 1, "
          + width + "], got " + Arrays.toString(positions));
    }
    long[] proj = shape("proj", 2);
    TreeSet<Integer> blocks = new TreeSet<>();
    for (String name : tensors.keySet()) {
      Matcher m = RESBLOCK.matcher(name);
      if (m.matches()) {
        blocks.add(Integer.parseInt(m.group(1)));
      }
    }
    if (blocks.isEmpty()) {
      throw WeightFormatException.of(file, "transformer.resblocks.0.attn.in_proj_weight",
          "missing: no residual blocks in the vision tower");
    }
    int layers = blocks.last() + 1;
    int headCount = heads != null ? heads : headsFromConfigBeside((int) width);
    try {
      return new ClipConfig((int) width, layers, headCount, (int) conv[2],
          (int) (grid * conv[2]), (int) proj[1]);
    } catch (IllegalArgumentException e) {
      throw WeightFormatException.of(file, null, e.getMessage());
    }
  }

  /** A tower of the inferred shape holding these weights, in eval mode. */
  public ClipVisionTransformer load(Integer heads) {
    ClipVisionTransformer tower = new ClipVisionTransformer(inferConfig(heads));
    loadInto(tower);
    return tower;
  }

  /** Copies the weights into {@code tower}; every missing or unknown tensor is an error. */
  public void loadInto(ClipVisionTransformer tower) {
    StateDicts.load(tower, tensors, file).requireComplete(file);
    tower.eval();
  }

  private long[] shape(String name, int dims) {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw WeightFormatException.of(file, name, "missing: not a CLIP vision tower ("
          + format.configName() + ")");
    }
    long[] s = StateDicts.shape(t);
    if (s.length != dims) {
      throw WeightFormatException.of(file, name, "expected " + dims + " dimensions, got "
          + Arrays.toString(s));
    }
    return s;
  }

  private int headsFromConfigBeside(int width) {
    Path config = file.resolveSibling("config.json");
    if (format == Format.HUGGING_FACE && Files.isRegularFile(config)) {
      JsonFields json = JsonFields.read(config);
      JsonFields vision = json.has("vision_config") ? json.object("vision_config") : json;
      if (vision.has("num_attention_heads")) {
        return vision.positiveInt("num_attention_heads");
      }
    }
    if (width % ClipConfig.HEAD_WIDTH != 0) {
      throw WeightFormatException.of(file, null, "the weights do not tell the number of"
          + " attention heads, and width " + width + " is not a multiple of "
          + ClipConfig.HEAD_WIDTH + " (OpenAI's rule): give the head count (--heads)");
    }
    return width / ClipConfig.HEAD_WIDTH;
  }

  /**
   * OpenAI's names, possibly under {@code module.} (a DataParallel checkpoint) and
   * {@code visual.} (a whole CLIP model); without a {@code visual.} key the file is taken to
   * hold the vision tower alone.
   */
  private static ClipCheckpoint fromOpenAiNames(Path file, Format format,
      Map<String, Tensor> raw) {
    Map<String, Tensor> unwrapped = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : raw.entrySet()) {
      String name = e.getKey().startsWith("module.") ? e.getKey().substring(7) : e.getKey();
      unwrapped.put(name, e.getValue());
    }
    boolean wholeModel = unwrapped.keySet().stream().anyMatch(k -> k.startsWith("visual."));
    Map<String, Tensor> out = new LinkedHashMap<>();
    int ignored = 0;
    for (Map.Entry<String, Tensor> e : unwrapped.entrySet()) {
      String name = e.getKey();
      if (wholeModel && !name.startsWith("visual.")) {
        ignored++;
        continue;
      }
      out.put(wholeModel ? name.substring("visual.".length()) : name, toFloat(e.getValue()));
    }
    return new ClipCheckpoint(file, format, out, ignored);
  }

  /**
   * Hugging Face's names to OpenAI's: q/k/v projections stacked into in_proj, the projection
   * transposed. Keys under the vision model that have no OpenAI counterpart are kept under their
   * own names, so that loading reports them as unexpected instead of dropping them silently.
   */
  private static ClipCheckpoint fromHuggingFace(Path file, Map<String, Tensor> raw) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    Map<String, Tensor[]> qkv = new LinkedHashMap<>();
    int ignored = 0;
    for (Map.Entry<String, Tensor> e : raw.entrySet()) {
      String key = e.getKey();
      Tensor value = toFloat(e.getValue());
      if (key.equals("visual_projection.weight")) {
        out.put("proj", value.t().contiguous());
        continue;
      }
      if (key.startsWith("text_model.") || key.equals("text_projection.weight")
          || key.equals("logit_scale")) {
        ignored++;
        continue;
      }
      String name = key.startsWith("vision_model.") ? key.substring(13) : key;
      if (name.equals("embeddings.position_ids")) {
        ignored++; // a constant buffer that some versions save
        continue;
      }
      Matcher layer = HF_LAYER.matcher(name);
      if (layer.matches()) {
        String block = "transformer.resblocks." + layer.group(1) + ".";
        String rest = layer.group(2);
        Matcher projection = HF_QKV.matcher(rest);
        if (projection.matches()) {
          String target = block + "attn.in_proj_" + projection.group(2);
          int part = "qkv".indexOf(projection.group(1).charAt(0));
          qkv.computeIfAbsent(target, k -> new Tensor[3])[part] = value;
          continue;
        }
        out.put(block + renameLayerPart(rest), value);
        continue;
      }
      out.put(renameTop(name), value);
    }
    for (Map.Entry<String, Tensor[]> e : qkv.entrySet()) {
      Tensor[] parts = e.getValue();
      List<String> absent = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        if (parts[i] == null) {
          absent.add("qkv".charAt(i) + "_proj");
        }
      }
      if (!absent.isEmpty()) {
        throw WeightFormatException.of(file, e.getKey(), "cannot be assembled: "
            + String.join(", ", absent) + " missing");
      }
      out.put(e.getKey(), torch.cat(new TensorVector(parts[0], parts[1], parts[2]), 0));
    }
    return new ClipCheckpoint(file, Format.HUGGING_FACE, out, ignored);
  }

  private static String renameLayerPart(String rest) {
    String[][] pairs = {{"self_attn.out_proj.", "attn.out_proj."}, {"layer_norm1.", "ln_1."},
        {"layer_norm2.", "ln_2."}, {"mlp.fc1.", "mlp.c_fc."}, {"mlp.fc2.", "mlp.c_proj."}};
    for (String[] pair : pairs) {
      if (rest.startsWith(pair[0])) {
        return pair[1] + rest.substring(pair[0].length());
      }
    }
    return rest;
  }

  private static String renameTop(String name) {
    switch (name) {
      case "embeddings.class_embedding":
        return "class_embedding";
      case "embeddings.patch_embedding.weight":
        return "conv1.weight";
      case "embeddings.position_embedding.weight":
        return "positional_embedding";
      default:
        break;
    }
    // "pre_layrnorm" is Hugging Face's own spelling
    if (name.startsWith("pre_layrnorm.")) {
      return "ln_pre." + name.substring("pre_layrnorm.".length());
    }
    if (name.startsWith("post_layernorm.")) {
      return "ln_post." + name.substring("post_layernorm.".length());
    }
    return name;
  }

  /** A TorchScript archive holds its code ({@code code/}) and {@code constants.pkl}. */
  private static boolean isTorchScript(Path file) {
    try (ZipFile zip = new ZipFile(file.toFile())) {
      for (Enumeration<? extends ZipEntry> it = zip.entries(); it.hasMoreElements(); ) {
        String name = it.nextElement().getName();
        if (name.endsWith("/constants.pkl") || name.contains("/code/")) {
          return true;
        }
      }
      return false;
    } catch (IOException e) {
      // not a zip: the torch.save reader says what it is instead
      return false;
    }
  }

  /**
   * Loads the archive on the CPU (its tensors may have been saved on CUDA) through the path
   * overload of the loader, copies every parameter, and frees the module.
   */
  private static Map<String, Tensor> torchScriptParameters(Path file) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    JitModule module;
    try {
      module = torch.load(file.toString(), new DeviceOptional(new Device(torch.DeviceType.CPU)),
          false);
    } catch (RuntimeException e) {
      throw WeightFormatException.of(file, null, "LibTorch cannot open this TorchScript archive: "
          + e.getMessage(), e);
    }
    try (JitModule owned = module;
        named_parameter_list parameters = owned.named_parameters(true)) {
      named_parameter_iterator end = parameters.end();
      for (named_parameter_iterator it = parameters.begin(); it.notEquals(end); it.increment()) {
        NamedTensor item = it.access();
        out.put(item.name().getString(), item.value().detach().clone());
      }
    }
    return out;
  }

  /** fp16 and bf16 weights (OpenAI's archives are fp16) become fp32, the compute precision. */
  private static Tensor toFloat(Tensor t) {
    return t.scalar_type().intern() == ScalarType.Float ? t.contiguous()
        : t.to(ScalarType.Float).contiguous();
  }
}

package dev.vidtag.model;

import dev.vidtag.kernels.AttentionKernels;
import dev.vidtag.kernels.AttentionKernels.Isa;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.FunctionPostHook;
import org.bytedeco.pytorch.FunctionPreHook;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The attention of one block, on the backend the model was told to use: heads-merged q [B, Lq,
 * H] and k, v [B, Lk, H] in, heads-merged context [B, Lq, H] out.
 *
 * <p>Training on VidTag's kernels. LibTorch's Java binding has no custom autograd function, so
 * the kernels' backward is linked into the graph with hooks: the output is {@code where(true,
 * out, sum(q) + sum(k) + sum(v))}, equal to the kernel's output whatever the sums hold, with a
 * graph path to q, k and v. A pre-hook on that node receives dOut and runs the backward kernel;
 * post-hooks on the three sums replace the zeros they would pass on with dQ, dK and dV. The
 * binding keeps only weak references to Java hooks, so each call's hooks and tensors stay in
 * {@link #pending} until its backward has run; a graph whose backward never runs is dropped at
 * the model's next training step (the next {@link Dropout#reseed}). Backward may run once per
 * graph (no {@code retain_graph} replays).
 */
final class AttentionFunction {
  private final Dropout dropout;
  private AttentionBackend backend = AttentionBackend.forNewModels();
  private final List<PendingGradients> pending = new ArrayList<>();

  AttentionFunction(Dropout dropout) {
    this.dropout = dropout;
  }

  void use(AttentionBackend backend) {
    this.backend = backend;
  }

  AttentionBackend backend() {
    return backend;
  }

  /** Graphs built on the kernels whose backward has not run yet. */
  synchronized int pendingGraphs() {
    return pending.size();
  }

  /**
   * softmax(q k^T / sqrt(d) + bias) v per head, with dropout p on the probabilities. bias is
   * the additive key-padding bias of {@link AttentionMasks} ([B, 1, 1, Lk]) or null.
   */
  Tensor forward(Tensor q, Tensor k, Tensor v, Tensor bias, int heads, double p) {
    if (backend == AttentionBackend.SDPA || !AttentionKernels.supports(q, heads)) {
      Tensor context = Layers.attention(Layers.splitHeads(q, heads), Layers.splitHeads(k, heads),
          Layers.splitHeads(v, heads), bias, dropout, p);
      return Layers.mergeHeads(context);
    }
    // The kernels take the key padding itself; the bias holds 0 for a real key.
    Tensor keyMask = bias == null ? null : bias.reshape(bias.size(0), bias.size(3))
        .eq(new Scalar(0.0)).expand(q.size(0), bias.size(3)).contiguous();
    long seed = p > 0 ? dropout.nextKernelSeed() : 0L;
    AttentionKernels.Call call = new AttentionKernels.Call(q, k, v, keyMask, heads,
        1.0 / Math.sqrt(q.size(2) / (double) heads), p, seed);
    boolean recording = GradMode.is_enabled()
        && (q.requires_grad() || k.requires_grad() || v.requires_grad());
    if (!recording) {
      return AttentionKernels.forward(call, false, Isa.AUTO).output();
    }
    AttentionKernels.Forward forward = AttentionKernels.forward(call, true, Isa.AUTO);
    return link(call, forward);
  }

  private Tensor link(AttentionKernels.Call call, AttentionKernels.Forward forward) {
    PendingGradients gradients = new PendingGradients(call, forward, dropout.reseeds());
    Tensor sums = null;
    Tensor[] inputs = {call.q(), call.k(), call.v()};
    for (int i = 0; i < 3; i++) {
      if (!inputs[i].requires_grad()) {
        continue;
      }
      Tensor sum = inputs[i].sum();
      ReplaceWithGradient replace = new ReplaceWithGradient(gradients, i);
      sum.grad_fn().add_post_hook(replace);
      replace.deallocate(false); // the graph node owns the native hook now
      gradients.hooks.add(replace);
      sums = sums == null ? sum : sums.add(sum);
    }
    Tensor always = torch.ones(new long[] {}, call.q().options().dtype(
        new ScalarTypeOptional(ScalarType.Bool)));
    Tensor output = torch.where(always, forward.output(), sums);
    ComputeGradients compute = new ComputeGradients(gradients);
    output.grad_fn().add_pre_hook(compute);
    compute.deallocate(false);
    gradients.hooks.add(compute);
    synchronized (this) {
      pending.removeIf(g -> g.step != dropout.reseeds() && g.release());
      pending.add(gradients);
    }
    return output;
  }

  private synchronized void done(PendingGradients gradients) {
    if (pending.remove(gradients)) {
      gradients.release();
    }
  }

  /** One call's inputs and outputs, kept from its forward until its backward has run. */
  private final class PendingGradients {
    final AttentionKernels.Call call;
    final AttentionKernels.Forward forward;
    final long step;
    final List<Object> hooks = new ArrayList<>();
    AttentionKernels.Gradients gradients;
    int replaced;

    PendingGradients(AttentionKernels.Call call, AttentionKernels.Forward forward, long step) {
      // own handles, so that the block's pointer scope closing does not free them
      this.call = new AttentionKernels.Call(retain(call.q()), retain(call.k()),
          retain(call.v()), call.keyMask() == null ? null : retain(call.keyMask()),
          call.heads(), call.scale(), call.dropoutP(), call.dropoutSeed());
      this.forward = new AttentionKernels.Forward(retain(forward.output()),
          retain(forward.logSumExp()));
      this.step = step;
    }

    void computeFrom(Tensor gradOut) {
      gradients = AttentionKernels.backward(call, forward, gradOut, Isa.AUTO);
    }

    Tensor gradient(int input) {
      Tensor g = switch (input) {
        case 0 -> gradients.q();
        case 1 -> gradients.k();
        default -> gradients.v();
      };
      if (++replaced == requiringGrad()) {
        done(this);
      }
      return g;
    }

    private int requiringGrad() {
      int n = 0;
      for (Tensor t : new Tensor[] {call.q(), call.k(), call.v()}) {
        n += t.requires_grad() ? 1 : 0;
      }
      return n;
    }

    private final List<Tensor> retained = new ArrayList<>();

    private Tensor retain(Tensor t) {
      Tensor handle = new Tensor(t);
      handle.retainReference();
      retained.add(handle);
      return handle;
    }

    /** Gives back the handles taken in the forward; true, for removeIf. */
    boolean release() {
      for (Tensor handle : retained) {
        handle.releaseReference();
      }
      retained.clear();
      gradients = null;
      return true;
    }
  }

  /** On the output's node: receives dOut and runs the backward kernel. */
  private static final class ComputeGradients extends FunctionPreHook {
    private final PendingGradients gradients;

    ComputeGradients(PendingGradients gradients) {
      this.gradients = gradients;
    }

    @Override
    public TensorVector apply(TensorVector gradOutputs) {
      Tensor gradOut = gradOutputs.get(0);
      if (gradOut.defined()) {
        gradients.computeFrom(gradOut);
      }
      return gradOutputs;
    }
  }

  /** On the sum of one input: passes on that input's gradient instead of the sum's zeros. */
  private static final class ReplaceWithGradient extends FunctionPostHook {
    private final PendingGradients gradients;
    private final int input;

    ReplaceWithGradient(PendingGradients gradients, int input) {
      this.gradients = gradients;
      this.input = input;
    }

    @Override
    public TensorVector apply(TensorVector outputs, TensorVector inputs) {
      if (gradients.gradients == null) {
        return outputs; // dOut was undefined: the zeros are the gradient
      }
      return new TensorVector(gradients.gradient(input));
    }
  }
}

"""The Python side of the race (run it through run.sh): the same model in PyTorch eager and in
ONNX Runtime, the shared inputs, and the final table.

    race.py export  --model DIR --onnx FILE               ONNX export of the PyTorch model
    race.py quantize --onnx FILE --out FILE               its int8 dynamic quantisation
    race.py torchscript --model DIR --out FILE            TorchScript trace of the PyTorch model
    race.py inputs  --lengths FILE --out DIR [--batch 16 --mix-batches 3 --seed 0]
    race.py measure --system pytorch|onnxruntime --model DIR [--onnx FILE] --inputs FILE
                    --workload full|mix --threads 2 --batch 16 --b16-iters 3 --b1-iters 20
                    [--precision fp32|int8 (names the row: the ONNX file decides)]
                    --out RESULT.json --logits OUT.npy
    race.py table   --results DIR --out FILE

The PyTorch model is the one the model parity fixtures are written with
(java/src/test/fixtures/model/make_fixtures.py: Hugging Face's BertModel and nn.TransformerDecoder
under the reference's parameter names), built at the model directory's sizes and loaded from its
model.safetensors. PyTorch and ONNX Runtime always get the inputs padded to the fixed lengths, as
the reference did; only VidTag batches the mix by length. The JVM peers (RaceOnnxRuntimeJava on
the same ONNX files, RaceDjl on the TorchScript trace) read the same inputs and pad as these rows.
"""
import argparse
import glob
import importlib.util
import json
import os
import resource
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_SCRIPT = os.path.join(HERE, "..", "..", "java", "src", "test", "fixtures", "model",
                              "make_fixtures.py")
FRAMES = 14
TEXT = 258


def reference_model(model_dir):
    """The fixture script's PyTorch model at the model directory's sizes, with its weights."""
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig

    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURE_SCRIPT)
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    text = config["text_encoder"]
    # the fixture classes read their sizes from module constants
    fixtures.HIDDEN = text["hidden_size"]
    fixtures.FRAME_DIM = config["frame_dim"]
    fixtures.CLASSES = config["num_classes"]
    bert_config = BertConfig(**{k: v for k, v in text.items() if k != "model_type"},
                             attn_implementation="sdpa")
    if config["arch"] == "single":
        model = fixtures.SingleStream(bert_config)
    else:
        decoder = config["decoder"]
        fixtures.DECODER_HEADS = decoder["num_heads"]
        fixtures.DECODER_FFN = decoder["ffn_size"]
        fixtures.DECODER_LAYERS = decoder["num_layers"]
        model = fixtures.DoubleStream(bert_config)
    state = load_file(os.path.join(model_dir, "model.safetensors"))
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith("multi_head_decoderlayer.")]
    if missing or result.unexpected_keys:
        raise SystemExit("weights do not match: missing %s, unexpected %s"
                         % (missing, result.unexpected_keys))
    model.eval()
    pooling = config["pooling"]

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, text_ids, text_mask, frames, frame_mask):
            return self.model(text_ids, text_mask, frames, frame_mask, pooling)[0]

    return Logits().eval()


def export(args):
    import torch
    model = reference_model(args.model)
    example = (torch.randint(1, 100, (2, TEXT)), torch.ones(2, TEXT, dtype=torch.long),
               torch.randn(2, FRAMES, 768), torch.ones(2, FRAMES, dtype=torch.long))
    names = ["text_ids", "text_mask", "frames", "frame_mask"]
    axes = {"text_ids": {0: "batch", 1: "text"}, "text_mask": {0: "batch", 1: "text"},
            "frames": {0: "batch", 1: "frames"}, "frame_mask": {0: "batch", 1: "frames"},
            "logits": {0: "batch"}}
    # nn.MultiheadAttention's fused inference path has no ONNX export: trace the plain one
    torch.backends.mha.set_fastpath_enabled(False)
    with torch.no_grad():
        torch.onnx.export(model, example, args.onnx, input_names=names, output_names=["logits"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    print("exported", args.onnx, file=sys.stderr)


def quantize(args):
    """Dynamic int8 quantisation of the ONNX export, as ONNX Runtime recommends for transformers
    on CPU: weights quantised offline, activations quantised at run time per tensor.

    Dynamic quantisation's activations are always QUInt8 (DynamicQuantizeLinear makes uint8 only);
    the weights are QInt8, the U8S8 format ONNX Runtime recommends for x86-64, whose MatMulInteger
    kernels use VPMADDUBSW (uint8 x int8) on AVX2/AVX-512 and VPDPBUSD on VNNI. VPMADDUBSW sums
    pairs of u8*s8 products into int16 and can saturate; ONNX Runtime's answer for that is
    reduce_range (7-bit weights), which its documentation recommends on non-VNNI machines only, so
    it is on exactly when the CPU lacks VNNI (no avx512_vnni/avx_vnni in /proc/cpuinfo). U8U8
    (QUInt8 weights) would not saturate but is the slower path on x86 and is not what ONNX Runtime
    recommends there."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    flags = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    vnni = "avx512_vnni" in flags or "avx_vnni" in flags
    quantize_dynamic(args.onnx, args.out, weight_type=QuantType.QInt8, per_channel=False,
                     reduce_range=not vnni)
    print("quantized %s to %s (QInt8 weights, QUInt8 activations, reduce_range=%s)"
          % (args.onnx, args.out, not vnni), file=sys.stderr)


def torchscript(args):
    """torch.jit.trace of the same eager model with the same weights, for DJL's PyTorch engine.
    The example has padded texts so that no all-ones mask shortcut is traced, and the trace is
    checked against eager on other batch sizes (the race runs batches of 16, 1 and the mix's
    remainder) before it is saved."""
    import torch
    model = reference_model(args.model)
    # as for the ONNX export: the plain nn.MultiheadAttention path, not its fused inference one
    # (which turns padded batches into nested tensors), the same math
    torch.backends.mha.set_fastpath_enabled(False)
    generator = torch.Generator().manual_seed(1)

    def example(batch):
        lengths = torch.randint(1, TEXT + 1, (batch,), generator=generator)
        lengths[0] = TEXT
        mask = (torch.arange(TEXT)[None, :] < lengths[:, None]).long()
        ids = torch.randint(1, 100, (batch, TEXT), generator=generator) * mask
        return (ids, mask, torch.randn(batch, FRAMES, 768, generator=generator),
                torch.ones(batch, FRAMES, dtype=torch.long))

    with torch.no_grad():
        traced = torch.jit.trace(model, example(2), check_trace=False)
        for batch in (1, 3, 16):
            inputs = example(batch)
            expected, got = model(*inputs), traced(*inputs)
            diff = float((expected - got).abs().max())
            if diff > 1e-4 * max(1.0, float(expected.abs().max())):
                raise SystemExit("the trace differs from eager at batch %d: max abs diff %.3g"
                                 % (batch, diff))
    traced.save(args.out)
    print("traced", args.out, file=sys.stderr)


def inputs(args):
    """full.safetensors: `batch` videos at 14 frames + 258 tokens. mix.safetensors:
    batch * mix_batches videos with the text lengths of the lengths file (in its order),
    padded to 258 with id 0 and mask 0; 14 frames each."""
    import torch
    from safetensors.torch import save_file
    generator = torch.Generator().manual_seed(args.seed)
    with open(args.lengths) as f:
        lengths = [min(TEXT, int(line)) for line in f if line.strip()]
    os.makedirs(args.out, exist_ok=True)
    for name, count, lens in (("full", args.batch, [TEXT] * args.batch),
                              ("mix", args.batch * args.mix_batches,
                               [lengths[i % len(lengths)] for i in range(
                                   args.batch * args.mix_batches)])):
        ids = torch.randint(1, args.vocab, (count, TEXT), generator=generator)
        mask = (torch.arange(TEXT)[None, :] < torch.tensor(lens)[:, None]).long()
        ids = ids * mask
        frames = torch.randn(count, FRAMES, 768, generator=generator)
        save_file({"text_ids": ids, "text_mask": mask, "frames": frames,
                   "frame_mask": torch.ones(count, FRAMES, dtype=torch.long)},
                  os.path.join(args.out, name + ".safetensors"))
        print("%s: %d videos, text lengths mean %.1f, min %d, max %d"
              % (name, count, np.mean(lens), min(lens), max(lens)), file=sys.stderr)


def measure(args):
    from safetensors.numpy import load_file
    data = load_file(args.inputs)
    videos = data["text_ids"].shape[0]
    if args.system == "pytorch":
        import torch
        torch.set_num_threads(args.threads)
        model = reference_model(args.model)

        def run(batch):
            with torch.inference_mode():
                return model(*(torch.from_numpy(batch[k]) for k in
                               ("text_ids", "text_mask", "frames", "frame_mask"))).numpy()
        version = "torch " + torch.__version__
    else:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(args.onnx, options, providers=["CPUExecutionProvider"])

        def run(batch):
            return session.run(["logits"], {k: batch[k] for k in
                                            ("text_ids", "text_mask", "frames", "frame_mask")})[0]
        version = "onnxruntime " + ort.__version__

    def rows(indices):
        return {k: np.ascontiguousarray(v[indices]) for k, v in data.items()}

    if args.workload == "full":
        batch = rows(np.arange(min(args.batch, videos)))
        logits = run(batch)
        start = time.perf_counter()
        for _ in range(args.b16_iters):
            run(batch)
        throughput = len(batch["text_ids"]) * args.b16_iters / (time.perf_counter() - start)
    else:
        batches = [np.arange(i, min(videos, i + args.batch)) for i in range(0, videos, args.batch)]
        run(rows(batches[0]))
        outputs = []
        start = time.perf_counter()
        for indices in batches:
            outputs.append(run(rows(indices)))
        throughput = videos / (time.perf_counter() - start)
        logits = np.concatenate(outputs)

    latencies = []
    for i in range(-2, args.b1_iters):
        one = rows(np.array([i % videos]))
        start = time.perf_counter()
        run(one)
        if i >= 0:
            latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()

    def percentile(q):
        return latencies[max(0, int(np.ceil(q * len(latencies))) - 1)]

    np.save(args.logits, logits.astype(np.float32))
    system = "PyTorch" if args.system == "pytorch" else "ONNX Runtime"
    result = {"system": args.label or system,
              "precision": args.precision, "workload": args.workload, "threads": args.threads,
              "videos": int(videos), "b16_videos_per_s": throughput,
              "b1_p50_ms": percentile(0.50), "b1_p99_ms": percentile(0.99),
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
              "version": version}
    with open(args.out, "w") as f:
        json.dump(result, f)
    print(json.dumps(result))


def table(args):
    rows = []
    for path in sorted(glob.glob(os.path.join(args.results, "*.json"))):
        with open(path) as f:
            result = json.load(f)
        result["name"] = os.path.basename(path)[:-len(".json")]
        result["arch"] = result["name"].split("-")[0]  # run.sh names them arch-workload-...
        rows.append(result)
    order = {"PyTorch": 0, "PyTorch, freed memory kept": 1, "ONNX Runtime": 2,
             "ONNX Runtime (Java)": 3, "DJL/PyTorch": 4,
             "VidTag/OpenBLAS": 5, "VidTag/OpenBLAS, SDPA attention": 6,
             "VidTag/OpenBLAS, memory kept": 7, "VidTag/MKL": 8, "VidTag/MKL, memory kept": 9}
    precisions = {"fp32": 0, "bf16": 1, "int8": 2}
    rows.sort(key=lambda r: (r["arch"], r["workload"], order.get(r["system"], len(order)),
                             r["system"], precisions[r["precision"]]))

    def baseline(r, system):
        same = [b for b in rows if b["system"] == system and b["precision"] == "fp32"
                and b["arch"] == r["arch"] and b["workload"] == r["workload"]]
        return same[0] if same else None

    def logits(r):
        return np.load(os.path.join(args.results, r["name"] + ".npy"))

    lines = ["| arch | workload | system | precision | b16 videos/s | vs PyTorch | vs ONNX Runtime "
             "| b1 p50 ms | b1 p99 ms | peak RSS MB | max abs logit diff vs PyTorch fp32 "
             "| argmax as PyTorch fp32 |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        pytorch, onnxruntime = baseline(r, "PyTorch"), baseline(r, "ONNX Runtime")
        diff, agreement, vs_pytorch, vs_onnxruntime = "", "", "", ""
        if pytorch:
            reference, ours = logits(pytorch), logits(r)
            diff = "%.2e" % float(np.abs(ours - reference).max())
            agreement = "%.1f%%" % (100.0 * float(np.mean(ours.argmax(1) == reference.argmax(1))))
            vs_pytorch = "%.2fx" % (r["b16_videos_per_s"] / pytorch["b16_videos_per_s"])
        if onnxruntime:
            vs_onnxruntime = "%.2fx" % (r["b16_videos_per_s"] / onnxruntime["b16_videos_per_s"])
        lines.append("| %s | %s | %s | %s | %.3f | %s | %s | %.0f | %.0f | %.0f | %s | %s |" % (
            r["arch"], r["workload"], r["system"], r["precision"], r["b16_videos_per_s"],
            vs_pytorch, vs_onnxruntime, r["b1_p50_ms"], r["b1_p99_ms"], r["peak_rss_mb"], diff,
            agreement))
    text = "\n".join(lines) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("export")
    p.add_argument("--model", required=True)
    p.add_argument("--onnx", required=True)
    p = sub.add_parser("quantize")
    p.add_argument("--onnx", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("torchscript")
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("inputs")
    p.add_argument("--lengths", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--mix-batches", type=int, default=3)
    p.add_argument("--vocab", type=int, default=21128)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("measure")
    p.add_argument("--system", choices=["pytorch", "onnxruntime"], required=True)
    p.add_argument("--label", help="the system's name in the table (default: its own)")
    p.add_argument("--model", required=True)
    p.add_argument("--onnx")
    p.add_argument("--precision", choices=["fp32", "int8"], default="fp32",
                   help="the row's precision in the table; the ONNX file decides what runs")
    p.add_argument("--inputs", required=True)
    p.add_argument("--workload", choices=["full", "mix"], required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--b16-iters", type=int, default=3)
    p.add_argument("--b1-iters", type=int, default=20)
    p.add_argument("--out", required=True)
    p.add_argument("--logits", required=True)
    p = sub.add_parser("table")
    p.add_argument("--results", required=True)
    p.add_argument("--out", required=True)
    args = parser.parse_args()
    {"export": export, "quantize": quantize, "torchscript": torchscript, "inputs": inputs,
     "measure": measure, "table": table}[args.command](args)


if __name__ == "__main__":
    main()

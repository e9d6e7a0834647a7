"""ViT-B/16 vision tower throughput in PyTorch eager, and the weights for VidTag's side.

Writes a Hugging Face CLIPVisionModelWithProjection at ViT-B/16 sizes with random weights to
OUT_DIR (config.json + model.safetensors, for `vidtag import-clip`), then times its forward in
fp32 on random 224x224 pixels at batch 32 and batch 1 with the given threads.

    python benchmarks/compare/clip_eager.py OUT_DIR [--threads 2] [--runs 2]
"""
import argparse
import time

import torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = CLIPVisionConfig(hidden_size=768, intermediate_size=3072, projection_dim=512,
                              num_hidden_layers=12, num_attention_heads=12, image_size=224,
                              patch_size=16, hidden_act="quick_gelu", layer_norm_eps=1e-5)
    model = CLIPVisionModelWithProjection(config).eval()
    model.save_pretrained(args.out_dir)
    print(f"torch {torch.__version__}, {args.threads} threads, weights in {args.out_dir}")
    for batch in (32, 1):
        pixels = torch.randn(batch, 3, 224, 224)
        with torch.inference_mode():
            model(pixel_values=pixels)  # warm-up
            best = float("inf")
            for _ in range(args.runs if batch > 1 else 5 * args.runs):
                start = time.perf_counter()
                model(pixel_values=pixels)
                best = min(best, time.perf_counter() - start)
        print(f"batch {batch}: best of runs {best:.3f} s, {batch / best:.2f} frames/s")


if __name__ == "__main__":
    main()

"""Pixels and Hugging Face's image embeddings for a CLIP vision model directory, for
ClipThroughput --expect (a parity check of an imported encoder at full size).

    python benchmarks/compare/clip_expected.py HF_DIR OUT.safetensors
"""
import sys

import torch
from safetensors.torch import save_file
from transformers import CLIPVisionModelWithProjection


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(1)
    model = CLIPVisionModelWithProjection.from_pretrained(model_dir).eval()
    pixels = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        embeds = model(pixel_values=pixels).image_embeds
    save_file({"pixels": pixels, "image_embeds": embeds.contiguous()}, out)
    print("wrote", out, tuple(embeds.shape))


if __name__ == "__main__":
    main()

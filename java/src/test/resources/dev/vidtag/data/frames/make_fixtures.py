"""Expected outputs of the frame pipeline, computed with PyTorch the way torchvision's
Resize(256) + CenterCrop(224) + Normalize(ImageNet) computes them on a uint8 tensor image.

The input images are procedural (integer arithmetic only), so the Java test regenerates them
bit for bit instead of reading a fixture: see FramePipelineTest.pattern. Run from this folder:
python make_fixtures.py   (in a virtualenv with the packages named below)
"""
import numpy as np
import torch
import torch.nn.functional as F

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def tri(t, period):
    return np.abs(t % (2 * period) - period) * 255 // period


def pattern(width, height):
    """RGB uint8 [H, W, 3]: smooth triangle waves plus a hashed 4-bit texture."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    channels = []
    for c in range(3):
        smooth = (tri(x + 31 * c, 97) + tri(y + 17 * c, 61) + tri(x + y, 149)) // 3
        texture = (((x * 131 + y * 137 + c * 139) * 2654435761) % (1 << 32)) >> 28
        channels.append(np.clip(smooth + texture - 8, 0, 255))
    return np.stack(channels, axis=-1).astype(np.uint8)


def expected(width, height, antialias):
    image = torch.from_numpy(pattern(width, height)).permute(2, 0, 1).float().unsqueeze(0)
    if height <= width:
        size = (256, int(256 * width / height))
    else:
        size = (int(256 * height / width), 256)
    resized = F.interpolate(image, size=size, mode="bilinear", align_corners=False,
                            antialias=antialias)
    resized = resized.round().clamp(0, 255)[0]  # torchvision keeps uint8 images uint8
    top = int(round((size[0] - 224) / 2.0))
    left = int(round((size[1] - 224) / 2.0))
    crop = resized[:, top:top + 224, left:left + 224]
    return ((crop / 255 - MEAN) / STD).numpy().astype(np.float16)


np.save("expected_320x240.npy", expected(320, 240, True).reshape(3 * 224, 224))
np.save("expected_1280x720_antialias.npy", expected(1280, 720, True).reshape(3 * 224, 224))
np.save("expected_1280x720_plain.npy", expected(1280, 720, False).reshape(3 * 224, 224))
# a few pattern values, to check that Java regenerates the same image
print(pattern(320, 240)[[0, 100, 239], [0, 200, 319]].tolist())

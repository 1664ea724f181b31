"""Shared pieces of the Python reference pipeline that sarseg is measured against.

This is the code a competent PyTorch user would write for the paper's study: torchvision models,
a numpy data path with a DataLoader, a plain training step and tiled whole-scene prediction.
It runs on Debian's python3-torch 1.13 (CPU) and on the torch 2.x wheel (CUDA) alike.
"""

import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.segmentation.deeplabv3 import DeepLabHead

IGNORE_INDEX = 255  # label fill value, as in sarseg's scenes


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


class PaperModel(nn.Module):
    """The paper's network: resnet18 cut at layer3 + DeepLabHead, image-pool branch AvgPool2d(2, 2)."""

    def __init__(self, in_channels=3, classes=6):
        super().__init__()
        backbone = torchvision.models.resnet18(weights=None)
        if in_channels != 3:
            backbone.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.backbone = IntermediateLayerGetter(backbone, return_layers={"layer3": "out"})
        self.head = DeepLabHead(256, classes)
        aspp = self.head[0]
        # ASPPPooling = (pool, conv, bn, relu) and upsamples bilinearly to the feature size itself.
        aspp.convs[4][0] = nn.AvgPool2d(2, 2)

    def forward(self, x):
        size = x.shape[-2:]
        features = self.backbone(x)["out"]
        logits = self.head(features)
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


class Conv2dReLU(nn.Sequential):
    def __init__(self, in_channels, out_channels):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class UnetDecoderBlock(nn.Module):
    """segmentation_models.pytorch DecoderBlock: nearest x2, concat skip, two conv-BN-ReLU."""

    def __init__(self, in_channels, skip_channels, out_channels):
        super().__init__()
        self.conv1 = Conv2dReLU(in_channels + skip_channels, out_channels)
        self.conv2 = Conv2dReLU(out_channels, out_channels)

    def forward(self, x, skip=None):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class MobileNetV2Unet(nn.Module):
    """smp.Unet("mobilenet_v2", decoder_channels=(256, 128, 64, 32, 16)) written out."""

    STAGES = ((0, 2), (2, 4), (4, 7), (7, 14), (14, 19))  # SMP's mobilenet_v2 stage split
    ENCODER_CHANNELS = (16, 24, 32, 96, 1280)

    def __init__(self, in_channels=3, classes=6, decoder_channels=(256, 128, 64, 32, 16)):
        super().__init__()
        mobilenet = torchvision.models.mobilenet_v2(weights=None)
        features = mobilenet.features
        if in_channels != 3:
            features[0][0] = nn.Conv2d(in_channels, 32, 3, 2, 1, bias=False)
        self.stages = nn.ModuleList([features[a:b] for a, b in self.STAGES])
        head_channels = self.ENCODER_CHANNELS[-1]
        in_chs = [head_channels] + list(decoder_channels[:-1])
        skip_chs = list(reversed(self.ENCODER_CHANNELS[:-1])) + [0]
        self.blocks = nn.ModuleList(
            UnetDecoderBlock(i, s, o) for i, s, o in zip(in_chs, skip_chs, decoder_channels)
        )
        self.segmentation_head = nn.Conv2d(decoder_channels[-1], classes, 3, padding=1)
        for module in list(self.blocks.modules()) + [self.segmentation_head]:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_uniform_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x):
        skips = []
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        skips = skips[:-1][::-1]
        for i, block in enumerate(self.blocks):
            x = block(x, skips[i] if i < len(skips) else None)
        return self.segmentation_head(x)


def build_model(name, in_channels, classes):
    if name == "paper":
        return PaperModel(in_channels, classes)
    if name == "quick":
        return MobileNetV2Unet(in_channels, classes)
    raise SystemExit(f"unknown --model {name!r}: use paper or quick")


def forward_conv_flops(model, in_channels, height, width, batch=1):
    """Multiply-adds x2 of every Conv2d in one forward pass (other layers are negligible)."""
    total = [0]

    def hook(module, inputs, output):
        kh, kw = module.kernel_size
        per_output = 2 * (module.in_channels // module.groups) * kh * kw
        total[0] += per_output * output.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(batch, in_channels, height, width))
    model.train(was_training)
    for handle in handles:
        handle.remove()
    return total[0]


# ---------------------------------------------------------------------------------------------
# Synthetic scenes (already normalised, like scenes after z-scoring)
# ---------------------------------------------------------------------------------------------


def synthetic_scene(height, width, bands, classes, seed, cell=48):
    """Blocky ice-type regions, class-dependent band means, gaussian texture, a no-data wedge.

    Returns (image float32 [bands, H, W], labels uint8 [H, W] with IGNORE_INDEX where invalid).
    Throughput does not depend on the content; the wedge makes crops reject/retry like real swaths.
    """
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, classes, size=(height // cell + 1, width // cell + 1), dtype=np.uint8)
    labels = np.repeat(np.repeat(coarse, cell, axis=0), cell, axis=1)[:height, :width].copy()
    class_means = rng.uniform(-1.5, 1.5, size=(bands, classes)).astype(np.float32)
    image = np.empty((bands, height, width), dtype=np.float32)
    rows_per_chunk = max(1, (8 << 20) // max(1, width))  # bound temporaries to ~32 MB
    for band in range(bands):
        for top in range(0, height, rows_per_chunk):
            rows = slice(top, min(height, top + rows_per_chunk))
            noise = rng.standard_normal((rows.stop - rows.start, width), dtype=np.float32)
            noise *= 0.6
            noise += class_means[band][labels[rows]]
            image[band, rows] = noise
    # No-data wedge along the left edge (outside the swath): bands 0, labels ignored.
    edge = (np.arange(height) * (0.15 * width) / max(1, height)).astype(np.int64)
    for row in range(height):
        image[:, row, : edge[row]] = 0.0
        labels[row, : edge[row]] = IGNORE_INDEX
    return image, labels


# ---------------------------------------------------------------------------------------------
# Data path: random crops from in-memory scenes, flips and rot90, DataLoader with workers
# ---------------------------------------------------------------------------------------------


class RandomCropDataset(torch.utils.data.Dataset):
    """`length` random crops per epoch from in-memory scenes, with a minimum valid fraction."""

    def __init__(self, scenes, size, length, augment, min_valid=0.3, seed=0, max_tries=20):
        self.scenes = scenes
        self.size = size
        self.length = length
        self.augment = augment
        self.min_valid = min_valid
        self.seed = seed
        self.max_tries = max_tries

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng((self.seed, index, info.seed if info else 0))
        for _ in range(self.max_tries):
            image, labels = self.scenes[rng.integers(len(self.scenes))]
            top = rng.integers(0, labels.shape[0] - self.size + 1)
            left = rng.integers(0, labels.shape[1] - self.size + 1)
            y = labels[top : top + self.size, left : left + self.size]
            if np.count_nonzero(y != IGNORE_INDEX) >= self.min_valid * y.size:
                break
        x = image[:, top : top + self.size, left : left + self.size]
        if self.augment:
            if rng.random() < 0.5:
                x, y = x[:, :, ::-1], y[:, ::-1]
            if rng.random() < 0.5:
                x, y = x[:, ::-1, :], y[::-1, :]
            k = int(rng.integers(4))
            if k:
                x, y = np.rot90(x, k, axes=(1, 2)), np.rot90(y, k)
        x = torch.from_numpy(np.ascontiguousarray(x))
        y = torch.from_numpy(y.astype(np.int64))
        return x, y


class FixedCropDataset(torch.utils.data.Dataset):
    """Validation crops drawn once (the paper's protocol), no augmentation."""

    def __init__(self, scenes, size, count, seed=12345):
        sampler = RandomCropDataset(scenes, size, count, augment=False, seed=seed)
        self.items = [sampler[i] for i in range(count)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


# ---------------------------------------------------------------------------------------------
# Prediction: overlapping tiles blended with a weight window
# ---------------------------------------------------------------------------------------------


def tile_starts(length, tile, stride):
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] != length - tile:
        starts.append(length - tile)
    return starts


def blend_window(height, width, overlap):
    """Separable linear ramp over the overlap so tile seams fade into each other."""

    def ramp(length):
        values = np.ones(length, dtype=np.float32)
        ramp_length = min(overlap, length // 2)
        if ramp_length > 0:
            edge = (np.arange(ramp_length, dtype=np.float32) + 1.0) / (ramp_length + 1.0)
            values[:ramp_length] = edge
            values[-ramp_length:] = edge[::-1]
        return values

    return np.outer(ramp(height), ramp(width))


def predict_scene(model, image, classes, tile, overlap, batch, device, autocast_dtype=None,
                  channels_last=False):
    """Class map (uint8) of a whole scene [C, H, W] by overlapping tiles; softmax blended."""
    _, height, width = image.shape
    tile_h, tile_w = min(tile, height), min(tile, width)
    stride_h, stride_w = max(1, tile_h - overlap), max(1, tile_w - overlap)
    window_cpu = blend_window(tile_h, tile_w, overlap)
    window = torch.from_numpy(window_cpu).to(device)
    probabilities = np.zeros((classes, height, width), dtype=np.float32)
    weights = np.zeros((height, width), dtype=np.float32)
    positions = [(y, x) for y in tile_starts(height, tile_h, stride_h)
                 for x in tile_starts(width, tile_w, stride_w)]
    with torch.inference_mode():
        for first in range(0, len(positions), batch):
            chunk = positions[first : first + batch]
            tiles = np.stack([image[:, y : y + tile_h, x : x + tile_w] for y, x in chunk])
            inputs = torch.from_numpy(tiles).to(device, non_blocking=True)
            if channels_last:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            if autocast_dtype is not None:
                with torch.autocast(device_type=device.type, dtype=autocast_dtype):
                    logits = model(inputs)
            else:
                logits = model(inputs)
            weighted = (logits.float().softmax(dim=1) * window).cpu().numpy()
            for (y, x), p in zip(chunk, weighted):
                probabilities[:, y : y + tile_h, x : x + tile_w] += p
                weights[y : y + tile_h, x : x + tile_w] += window_cpu
    # The weight is the same for every class of a pixel, so the argmax needs no division.
    return probabilities.argmax(axis=0).astype(np.uint8), weights


# ---------------------------------------------------------------------------------------------
# Process facts and output
# ---------------------------------------------------------------------------------------------


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_description():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical cores"


def device_description(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_description()


def resolve_device(name):
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: this torch has no usable CUDA device")
    return device


def autocast_dtype(name):
    return {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def log(message):
    print(message, file=sys.stderr, flush=True)


def emit(result):
    """One JSON object on stdout: what bench/compare reads."""
    result.setdefault("tool", "reference")
    result.setdefault("torch", torch.__version__)
    result.setdefault("torchvision", torchvision.__version__)
    print(json.dumps(result, sort_keys=True), flush=True)


def now():
    return time.perf_counter()


def median(values):
    values = sorted(values)
    if not values:
        return math.nan
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])

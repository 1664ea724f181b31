#!/usr/bin/python3
"""Reference whole-scene prediction: overlapping tiles under torch.inference_mode(), blended.

    /usr/bin/python3 bench/reference/predict_ref.py --size 5000 --tile 1024 --overlap 128 --threads 2

Prints one JSON object on stdout (progress on stderr): megapixels_per_s of the tiled prediction
(scene generation and model construction excluded), seconds, tiles, and peak_rss_bytes of the
whole process (getrusage; the in-memory scene included, as a prediction tool holds it too).
"""

import argparse

import numpy as np
import torch

import common


def parse_size(text):
    parts = text.lower().split("x")
    if len(parts) == 1:
        parts = parts * 2
    try:
        height, width = (int(p) for p in parts)
    except ValueError:
        raise SystemExit(f"--size {text!r}: give N or HxW, e.g. 5000 or 4000x5000")
    return height, width


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="5000", help="scene size N or HxW")
    parser.add_argument("--model", choices=["paper", "quick"], default="paper")
    parser.add_argument("--bands", type=int, default=3)
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--overlap", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1, help="tiles per forward pass")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--amp", choices=["none", "bf16", "fp16"], default="none")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def main():
    args = parse_args()
    height, width = parse_size(args.size)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = common.resolve_device(args.device)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format

    model = common.build_model(args.model, args.bands, args.classes)
    model = model.to(device, memory_format=memory_format).eval()
    common.log(f"reference: generating a {height}x{width} scene")
    image, _ = common.synthetic_scene(height, width, args.bands, args.classes, seed=args.seed)

    # Warm-up on one small patch (allocator, oneDNN primitives / cuDNN plans) kept out of timing.
    warm = image[:, : min(height, args.tile), : min(width, args.tile)]
    common.predict_scene(model, np.ascontiguousarray(warm), args.classes, args.tile, args.overlap,
                         1, device, common.autocast_dtype(args.amp), args.channels_last)
    common.synchronize(device)

    start = common.now()
    labels, weights = common.predict_scene(model, image, args.classes, args.tile, args.overlap,
                                           args.batch, device, common.autocast_dtype(args.amp),
                                           args.channels_last)
    common.synchronize(device)
    seconds = common.now() - start
    tile_h, tile_w = min(args.tile, height), min(args.tile, width)
    tiles = len(common.tile_starts(height, tile_h, max(1, tile_h - args.overlap))) * len(
        common.tile_starts(width, tile_w, max(1, tile_w - args.overlap)))
    if not np.all(weights > 0):
        raise SystemExit("internal error: some pixels were covered by no tile")
    common.emit({
        "case": "predict",
        "model": args.model,
        "height": height,
        "width": width,
        "bands": args.bands,
        "tile": args.tile,
        "overlap": args.overlap,
        "batch": args.batch,
        "tiles": tiles,
        "threads": args.threads,
        "device": str(device),
        "device_name": common.device_description(device),
        "amp": args.amp,
        "channels_last": args.channels_last,
        "seconds": seconds,
        "megapixels_per_s": height * width / 1e6 / seconds,
        "class_histogram": np.bincount(labels.ravel(), minlength=args.classes).tolist(),
        "peak_rss_bytes": common.peak_rss_bytes(),
    })


if __name__ == "__main__":
    main()

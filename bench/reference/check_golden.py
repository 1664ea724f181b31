#!/usr/bin/python3
"""Checks that the reference's paper model is the paper's network: loads the golden weights
(shared/golden/paper_model_resnet18_deeplabv3.safetensors) by name, strictly, and compares
features and logits with the stored ones. Exit 0 when they match to 1e-4 (relative).

    /usr/bin/python3 bench/reference/check_golden.py [GOLDEN_FILE]
"""

import json
import os
import struct
import sys

import numpy as np
import torch

import common

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as handle:
        header_length = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(header_length))
        data = handle.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


def relative_error(actual, expected):
    return (torch.linalg.norm(actual - expected) / torch.linalg.norm(expected)).item()


def main():
    default = os.path.join(os.environ.get("SARSEG_SHARED_DIR", "/work/shared"), "golden",
                           "paper_model_resnet18_deeplabv3.safetensors")
    path = sys.argv[1] if len(sys.argv) > 1 else default
    tensors = read_safetensors(path)
    model = common.PaperModel(3, 6)
    state = {k: v for k, v in tensors.items() if not k.startswith("golden.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"names differ: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.eval()
    with torch.no_grad():
        features = model.backbone(tensors["golden.input"])["out"]
        logits = model(tensors["golden.input"])
    errors = {
        "features": relative_error(features, tensors["golden.features"]),
        "logits": relative_error(logits, tensors["golden.logits"]),
    }
    print(json.dumps({"golden": path, "relative_error": errors}))
    if max(errors.values()) > 1e-4:
        raise SystemExit("reference paper model does NOT reproduce the golden tensors")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Writes the small real torch.save fixtures of tests/weights/fixtures.

    /usr/bin/python3 scripts/make_pth_fixture.py tests/weights/fixtures

Needs Debian's python3-torch. Makes:
  tiny_state_dict.pth          torch.save(state_dict) of a tiny conv/bn/linear model (protocol 2,
                               the torch.save default; OrderedDict with _metadata, BatchNorm
                               num_batches_tracked) plus views sharing one storage (a transpose and
                               a slice with a storage offset) and half/bfloat16/int/bool tensors
  tiny_checkpoint_p4.pth       {"state_dict": state_dict(keep_vars=True), "epoch", "lr", ...} saved
                               with pickle protocol 4 (FRAME, STACK_GLOBAL, MEMOIZE, Parameters)
  tiny_state_dict.safetensors  the same tensors as tiny_state_dict.pth, written here by hand
"""
import collections
import json
import struct
import sys
from pathlib import Path

import torch

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16",
          torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32", torch.int16: "I16",
          torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def raw_bytes(tensor):
    tensor = tensor.detach().contiguous()
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16
        tensor = tensor.view(torch.int16)
    return tensor.numpy().tobytes()


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = raw_bytes(tensor)
        header[name] = {"dtype": DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"source": "scripts/make_pth_fixture.py"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 3, 3, bias=True)
        self.bn = torch.nn.BatchNorm2d(3)
        self.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3, 4))


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = Tiny()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        model.bn.running_mean.uniform_(-1, 1)
        model.bn.running_var.uniform_(0.5, 2)
        model.bn.num_batches_tracked.fill_(17)

    state = model.state_dict()
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    state["view.transposed"] = base.t()        # strides (1, 6), shares base's storage
    state["view.slice"] = base[1:3, 2:5]       # storage offset 8
    state["extra.half"] = torch.randn(5).half()
    state["extra.bfloat16"] = torch.randn(3).bfloat16()
    state["extra.double"] = torch.randn(2, 2, dtype=torch.float64)
    state["extra.int32"] = torch.tensor([-7, 0, 2**31 - 1], dtype=torch.int32)
    state["extra.uint8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    state["extra.bool"] = torch.tensor([True, False, True])
    state["extra.scalar"] = torch.tensor(3.25)
    assert state["view.slice"].storage_offset() == 8
    torch.save(state, out / "tiny_state_dict.pth")
    write_safetensors(out / "tiny_state_dict.safetensors", state)

    checkpoint = {"state_dict": model.state_dict(keep_vars=True), "epoch": 7, "lr": 0.01,
                  "big": 2**40, "note": "fixture", "flags": [True, False, None]}
    torch.save(checkpoint, out / "tiny_checkpoint_p4.pth", pickle_protocol=4)

    reloaded = torch.load(out / "tiny_state_dict.pth")
    assert all(torch.equal(reloaded[k], v) for k, v in state.items())
    for name in ("tiny_state_dict.pth", "tiny_checkpoint_p4.pth", "tiny_state_dict.safetensors"):
        print(name, (out / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()

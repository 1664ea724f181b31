#!/usr/bin/python3
"""Reference training throughput: the PyTorch loop sarseg replaces.

    /usr/bin/python3 bench/reference/train_ref.py --model paper --size 256 --batch 8 --threads 2 --steps 20

Prints one JSON object on stdout (progress on stderr):
  images_per_s        training images per second of wall time over the timed steps, data waits and
                      validation passes included (the end-to-end figure)
  step_images_per_s   training images per second of model step alone (forward, loss, backward,
                      clipping, Adam; --no-optimizer: the first three), data waits and
                      validation excluded
  data_wait_share     time blocked on the DataLoader / (that + step time)
  achieved_gflops     convolution FLOPs of the training steps (3 x forward) / step time
--no-loader times the model step on one fixed batch (what `sarseg bench model` measures).
"""

import argparse

import torch
import torch.nn.functional as F

import common


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["paper", "quick"], default="paper",
                        help="paper: resnet18@layer3 + DeepLab head; quick: mobilenet_v2 + U-Net")
    parser.add_argument("--size", type=int, default=256, help="crop size in pixels")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    parser.add_argument("--bands", type=int, default=3)
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--scenes", type=int, default=4, help="synthetic training scenes in memory")
    parser.add_argument("--scene-size", type=int, default=1536)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--no-augment", action="store_true", help="no flips / rot90")
    parser.add_argument("--min-valid", type=float, default=0.3,
                        help="minimum valid-label fraction of a crop (retried otherwise)")
    parser.add_argument("--val-every", type=int, default=0,
                        help="run validation after every N timed steps (0: never)")
    parser.add_argument("--val-samples", type=int, default=0, help="validation crops, drawn once")
    parser.add_argument("--no-loader", action="store_true",
                        help="time the model step on one fixed batch (no data path)")
    parser.add_argument("--no-optimizer", action="store_true",
                        help="step = forward, loss, backward only (what `sarseg bench model` times)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--amp", choices=["none", "bf16", "fp16"], default="none",
                        help="autocast dtype for forward and loss")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = common.resolve_device(args.device)
    amp_dtype = common.autocast_dtype(args.amp)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format

    model = common.build_model(args.model, args.bands, args.classes)
    flops_per_image = 3 * common.forward_conv_flops(model, args.bands, args.size, args.size)
    model = model.to(device, memory_format=memory_format)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    common.log(f"reference: generating {args.scenes} scenes of {args.scene_size}^2")
    scenes = [common.synthetic_scene(args.scene_size, args.scene_size, args.bands, args.classes,
                                     seed=args.seed + i) for i in range(args.scenes)]
    total_steps = args.warmup + args.steps
    if args.no_loader:
        fixed = common.RandomCropDataset(scenes, args.size, args.batch, augment=False)
        fixed_batch = torch.utils.data.default_collate([fixed[i] for i in range(args.batch)])
        batches = iter([fixed_batch] * total_steps)
    else:
        dataset = common.RandomCropDataset(scenes, args.size, total_steps * args.batch,
                                           augment=not args.no_augment,
                                           min_valid=args.min_valid, seed=args.seed)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=args.batch, shuffle=False, num_workers=args.workers,
            drop_last=True, pin_memory=device.type == "cuda",
            persistent_workers=args.workers > 0)
        batches = iter(loader)
    val_loader = None
    if args.val_every > 0 and args.val_samples > 0:
        val_set = common.FixedCropDataset(scenes, args.size, args.val_samples)
        val_loader = torch.utils.data.DataLoader(val_set, batch_size=args.batch, shuffle=False,
                                                 num_workers=0)

    def train_step(x, y):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=amp_dtype or torch.bfloat16,
                            enabled=amp_dtype is not None):
            logits = model(x)
            loss = F.cross_entropy(logits.float(), y, ignore_index=common.IGNORE_INDEX)
        loss.backward()
        if not args.no_optimizer:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        return loss.item()  # what a training loop logs; also synchronises a GPU

    def validate():
        model.eval()
        total_loss, correct, counted = 0.0, 0, 0
        with torch.inference_mode():
            for x, y in val_loader:
                x = x.to(device, memory_format=memory_format)
                y = y.to(device)
                with torch.autocast(device_type=device.type, dtype=amp_dtype or torch.bfloat16,
                                    enabled=amp_dtype is not None):
                    logits = model(x).float()
                total_loss += F.cross_entropy(logits, y, ignore_index=common.IGNORE_INDEX,
                                              reduction="sum").item()
                valid = y != common.IGNORE_INDEX
                correct += (logits.argmax(1) == y)[valid].sum().item()
                counted += valid.sum().item()
        model.train()
        return total_loss / max(1, counted), correct / max(1, counted)

    wait_seconds, step_seconds, validation_seconds, losses = 0.0, 0.0, 0.0, []
    run_start = None
    for step in range(total_steps):
        if step == args.warmup:
            common.synchronize(device)
            run_start = common.now()
            wait_seconds = step_seconds = 0.0
        t0 = common.now()
        x, y = next(batches)
        x = x.to(device, non_blocking=True, memory_format=memory_format)
        y = y.to(device, non_blocking=True)
        t1 = common.now()
        losses.append(train_step(x, y))
        t2 = common.now()
        wait_seconds += t1 - t0
        step_seconds += t2 - t1
        timed = step - args.warmup + 1
        if val_loader is not None and timed > 0 and timed % args.val_every == 0:
            v0 = common.now()
            val_loss, val_accuracy = validate()
            validation_seconds += common.now() - v0
            common.log(f"reference: step {timed} val_loss {val_loss:.4f} acc {val_accuracy:.3f}")
    common.synchronize(device)
    total_seconds = common.now() - run_start
    images = args.steps * args.batch
    common.emit({
        "case": "train",
        "model": args.model,
        "size": args.size,
        "batch": args.batch,
        "threads": args.threads,
        "workers": 0 if args.no_loader else args.workers,
        "loader": not args.no_loader,
        "optimizer": not args.no_optimizer,
        "device": str(device),
        "device_name": common.device_description(device),
        "amp": args.amp,
        "channels_last": args.channels_last,
        "steps": args.steps,
        "images_per_s": images / total_seconds,
        "step_images_per_s": images / step_seconds,
        "step_seconds_mean": step_seconds / args.steps,
        "data_wait_share": wait_seconds / (wait_seconds + step_seconds),
        "validation_seconds": validation_seconds,
        "total_seconds": total_seconds,
        "flops_per_image": flops_per_image,
        "achieved_gflops": flops_per_image * images / step_seconds / 1e9,
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "peak_rss_bytes": common.peak_rss_bytes(),
    })


if __name__ == "__main__":
    main()

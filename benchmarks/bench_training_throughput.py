"""Training and inference throughput (tiles per second) of the default model size and of MiT-b0.

Training: forward + backward + AdamW step on batches of 8 crops of 96 x 96
pixels, 14 bands (the pre-trained model's settings: 48-pixel crops of tiles
upsampled 2x). Inference: forward passes on batches of 8 whole tiles at the
network size of the pre-trained model, 500 x 500 (250 x 250 tiles upsampled 2x). Random inputs: the speed does
not depend on the pixel values. Runs on the CPU with one thread per core
(on a CUDA GPU with mixed precision when one is present).

Usage: ``.venv/bin/python benchmarks/bench_training_throughput.py [--sizes tiny b0] [--steps 6]``
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny", "b0"])
    parser.add_argument("--steps", type=int, default=6, help="timed steps after 2 warm-up steps")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: one per core)")
    args = parser.parse_args()

    import landcover.training  # noqa: F401 - offline environment, OMP_WAIT_POLICY before torch loads
    import torch

    from landcover.inference.logits import forward_logits
    from landcover.training.loop import autocast, autocast_dtype, configure_threads, resolve_device
    from landcover.training.loss import SegmentationLoss
    from landcover.training.model import build_model, count_parameters

    threads = configure_threads(args.threads)
    device = resolve_device("auto")
    amp = autocast_dtype(device)
    import os

    print(f"device {device}, torch {torch.__version__}, {threads} threads "
          f"(OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}), mixed precision {amp}, "
          f"load average {os.getloadavg()[0]:.1f}")
    generator = torch.Generator().manual_seed(0)
    crops = torch.randn(8, 14, 96, 96, generator=generator).to(device)
    labels = torch.randint(0, 11, (8, 96, 96), generator=generator).to(device)
    tiles = torch.randn(8, 14, 500, 500, generator=generator).to(device)
    loss_fn = SegmentationLoss().to(device)
    for size in args.sizes:
        torch.manual_seed(0)
        model = build_model(size).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        model.train()
        for step in range(args.steps + 2):
            if step == 2:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                started = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, amp):
                logits = forward_logits(model, crops)
            loss_fn(logits.float(), labels).backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_rate = args.steps * crops.shape[0] / (time.perf_counter() - started)
        model.eval()
        with torch.inference_mode():
            for step in range(args.steps + 1):
                if step == 1:
                    started = time.perf_counter()
                with autocast(device, amp):
                    forward_logits(model, tiles)
            if device.type == "cuda":
                torch.cuda.synchronize()
        infer_rate = args.steps * tiles.shape[0] / (time.perf_counter() - started)
        print(
            f"{size:>5}: {count_parameters(model) / 1e6:5.2f} M parameters | training {train_rate:7.1f} "
            f"crops/s (96 px) = {train_rate / 8:5.2f} steps/s | inference {infer_rate:6.1f} tiles/s (500 px)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

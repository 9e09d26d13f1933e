"""Inference speed and memory: forward pass vs one-tile loop vs batched region prediction, and scene memory.

Prints, in one run on the published model of the active data root (the
synthetic data by default):

- the model's own forward-pass time on the (already preprocessed) windows of
  the region's N tiles, batched;
- the one-tile loop of ``predict_tile`` over the same tiles (read beforehand);
- ``predict_region`` without cache (reading, preprocessing, forward pass,
  upsampling, mosaic), with its ratio to the forward time (target: at most
  1.5x) and to the loop (target: never slower);
- the peak memory of ``predict_scene`` on the region's ``mosaic.vrt``, measured
  in a child process (``ru_maxrss``; target: under 2 GB).

Uses CUDA when ``torch.cuda.is_available()`` (the MLflow model moves itself there).

Usage: ``.venv/bin/python benchmarks/bench_inference.py [--nuts BE100] [--year 2021] [--batch-size 16]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

FORWARD_RATIO_TARGET = 1.5
SCENE_MEMORY_TARGET_MB = 2048


def _rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    ``VmHWM`` of ``/proc/self/status`` on Linux: unlike ``ru_maxrss``, it is
    not inherited from the parent across fork and exec, so the child measures
    only itself. Elsewhere ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def scene_only(nuts: str, year: int, batch_size: int) -> None:
    """Child process: predict the mosaic and print its time and memory as JSON."""
    import landcover  # noqa: F401 - offline environment
    from landcover.data.paths import images_prefix, join
    from landcover.inference import load_model, predict_scene

    model = load_model()
    path = join(images_prefix(nuts, year), "mosaic.vrt")
    baseline = _rss_mb()
    started = time.perf_counter()
    result = predict_scene(path, model, batch_size=batch_size, progress=False)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": _rss_mb(), "baseline_mb": baseline,
                      "shape": list(result["mask"].shape), "nodata_share": float((result["mask"] == 0).mean())}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nuts", default="BE100")
    parser.add_argument("--year", type=int, default=2021)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--scene-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scene_only:
        scene_only(args.nuts, args.year, args.batch_size)
        return 0

    import numpy as np
    import torch

    import landcover  # noqa: F401
    from landcover.data import load_tile_index, read_tile
    from landcover.inference import load_model, model_logits, predict_region, predict_tile, preprocess

    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"device: {device} ({torch.cuda.get_device_name(0) if device == 'cuda' else f'{torch.get_num_threads()} CPU threads'})")
    loaded = load_model()
    model, params = loaded
    print(f"model: {loaded.name} version {loaded.version} ({params['module_name']}, tiles {params['tiles_size']} "
          f"-> network {params['augment_size']}); synthetic data")
    index = load_tile_index(args.nuts, args.year)
    stems = [name.removesuffix(".tif") for name in index["filename"]]
    tiles = [read_tile(args.nuts, args.year, stem)["array"] for stem in stems]
    n = len(tiles)
    batch = np.concatenate([preprocess(t, params) for t in tiles])
    model_logits(model, batch[: args.batch_size])  # warm-up (allocations, CUDA context)

    def timed(function) -> float:
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        function()
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    forward = timed(lambda: [model_logits(model, batch[i : i + args.batch_size]) for i in range(0, n, args.batch_size)])
    loop = timed(lambda: [predict_tile(model, t, params) for t in tiles])
    region = timed(lambda: predict_region(args.nuts, args.year, loaded, cache=False, batch_size=args.batch_size,
                                          progress=False))
    print(f"\n{args.nuts} {args.year}: {n} tiles of 250 x 250 px, batch size {args.batch_size}")
    print(f"{'step':<44}{'seconds':>9}{'ms/tile':>9}{'x forward':>11}")
    for name, seconds in (("model forward pass (preprocessed windows)", forward),
                          ("predict_tile loop (tiles in memory)", loop),
                          ("predict_region, batched, no cache", region)):
        print(f"{name:<44}{seconds:>9.2f}{1000 * seconds / n:>9.1f}{seconds / forward:>11.2f}")
    ratio = region / forward
    print(f"\nregion / forward = {ratio:.2f} (target <= {FORWARD_RATIO_TARGET}): "
          f"{'OK' if ratio <= FORWARD_RATIO_TARGET else 'MISSED'}")
    print(f"region / loop = {region / loop:.2f} (target <= 1, batching never slower): "
          f"{'OK' if region <= loop else 'MISSED'}  (the region also reads its {n} tiles from disk)")

    child = subprocess.run([sys.executable, __file__, "--scene-only", "--nuts", args.nuts, "--year", str(args.year),
                            "--batch-size", str(args.batch_size)], capture_output=True, text=True, check=False)
    if child.returncode != 0:
        print("scene prediction failed:\n" + child.stderr[-3000:])
        return 1
    scene = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"\npredict_scene {args.nuts}/{args.year}/mosaic.vrt ({scene['shape'][0]} x {scene['shape'][1]} px, "
          f"{scene['nodata_share']:.0%} nodata): {scene['seconds']:.1f} s")
    print(f"peak memory (child process, VmHWM): {scene['peak_mb']:.0f} MiB "
          f"(model loaded: {scene['baseline_mb']:.0f} MiB) (target < {SCENE_MEMORY_TARGET_MB} MiB): "
          f"{'OK' if scene['peak_mb'] < SCENE_MEMORY_TARGET_MB else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

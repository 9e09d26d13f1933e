"""Benchmark: generate the full synthetic data into a temporary folder; print time and size.

Budgets (issue): at most 90 s of wall time with 2 worker processes, at most
400 MB on disk. Run with ``.venv/bin/python benchmarks/bench_synthetic_generation.py``
(``--workers N`` to change the pool size, ``--keep DIR`` to keep the output).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

TIME_BUDGET_S = 90.0
SIZE_BUDGET_MB = 400.0


def disk_usage_mb(root: Path) -> tuple[float, float]:
    """(apparent size, allocated size) of every file under ``root``, in MB (10**6 bytes)."""
    apparent = allocated = 0
    for path in root.rglob("*"):
        if path.is_file():
            stat = path.stat()
            apparent += stat.st_size
            allocated += getattr(stat, "st_blocks", 0) * 512 or stat.st_size
    return apparent / 1e6, allocated / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="generate here instead of a temporary folder")
    args = parser.parse_args(argv)

    from landcover.synthetic import SYNTHETIC_REGIONS, generate_synthetic

    with tempfile.TemporaryDirectory(prefix="bench-synthetic-") as tmp:
        root = args.keep or Path(tmp) / "synthetic"
        started = time.perf_counter()
        report = generate_synthetic(root, workers=args.workers, force=True, progress=False)
        seconds = time.perf_counter() - started
        apparent, allocated = disk_usage_mb(root)
    n_cells = sum(len(r.cells) for r in SYNTHETIC_REGIONS)
    print(
        f"synthetic-data generation: {n_cells} locations x 3 years, {len(report.files)} files, workers={args.workers}"
    )
    print(f"  CPU cores here: {os.cpu_count()}")
    time_ok = "WITHIN" if seconds <= TIME_BUDGET_S else "OVER"
    size_ok = "WITHIN" if allocated <= SIZE_BUDGET_MB else "OVER"
    print(f"  wall time      : {seconds:6.1f} s   budget {TIME_BUDGET_S:.0f} s   {time_ok} budget")
    size = f"{allocated:6.1f} MB (files {apparent:.1f} MB)"
    print(f"  size on disk   : {size}   budget {SIZE_BUDGET_MB:.0f} MB   {size_ok} budget")
    print(
        f"  per tile       : {apparent / (3 * n_cells):.2f} MB, {seconds / (3 * n_cells) * 1000:.0f} ms wall"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Chapter 4's budgets: zonal statistics of one region-year (≤ 2 s) and the coverage simulation (≤ 20 s).

Runs on the synthetic data with the pre-trained model; the region maps are read
from the prediction store (predicted first when missing, not timed). Prints
the figures and exits 1 when a budget is exceeded.

    .venv/bin/python benchmarks/bench_stats.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd
from rasterio.features import rasterize

from landcover.data import list_regions, load_nuts3
from landcover.inference import load_model, predict_region
from landcover.stats import (
    allocate_sample,
    error_matrix_from_sample,
    estimate_areas,
    exact_coverage_counts,
    label_mosaic,
    pixel_centre_counts,
    reference_at,
    region_coverage,
    sample_size_for_overall_accuracy,
    stratified_sample,
    tile_footprint,
)

ZONAL_BUDGET_S = 2.0
SIMULATION_BUDGET_S = 20.0


def zonal_seconds(region_map: dict, outline: object) -> dict[str, float]:
    """Seconds for the pixel-centre counts, the exact counts and the coverage of one region-year."""
    timings = {}
    for name, run in (("pixel-centre", lambda: pixel_centre_counts(region_map["mask"], region_map["transform"], outline)),
                      ("exact", lambda: exact_coverage_counts(region_map["mask"], region_map["transform"], outline)),
                      ("coverage", lambda: region_coverage(region_map["mask"], region_map["transform"], outline,
                                                           footprint=tile_footprint(region_map)))):
        started = time.perf_counter()
        run()
        timings[name] = time.perf_counter() - started
    return timings


def simulation_seconds(region_map: dict, outline_geometry: object, year: int, repeats: int) -> tuple[float, float]:
    """Seconds for ``repeats`` stratified samples and estimates, and the mean interval coverage."""
    inside = rasterize([outline_geometry], out_shape=region_map["mask"].shape, transform=region_map["transform"],
                       fill=0, default_value=1).astype(bool)
    reference = np.where(inside, label_mosaic(region_map, year), 0)
    strata = np.where(inside & (reference > 0), region_map["mask"], 0)
    ids = list(range(1, 11))
    mapped = pd.Series(np.bincount(strata.ravel(), minlength=11)[1:] * 1e-4, index=ids)
    truth = pd.Series(np.bincount(np.where(strata > 0, reference, 0).ravel(), minlength=11)[1:] * 1e-4, index=ids)
    n = sample_size_for_overall_accuracy(mapped, pd.Series(0.8, index=ids), target_se=0.01)
    allocation = pd.Series(allocate_sample(n, mapped, minimum_per_stratum=30), index=ids).to_dict()
    covered = []
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(repeats):
            matrix = error_matrix_from_sample(reference_at(stratified_sample(strata, allocation, seed=seed), reference))
            keep = matrix.sum(axis=1) >= 2
            result = estimate_areas(matrix.loc[keep, keep], mapped[keep])
            half = result["area_ci95"]
            covered.append(((result["area"] - half <= truth[keep]) & (truth[keep] <= result["area"] + half)).mean())
    return time.perf_counter() - started, float(np.mean(covered))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="samples in the coverage simulation (200, as the chapter)")
    args = parser.parse_args(argv)
    loaded = load_model()
    nuts = load_nuts3(list_regions())
    over = False
    print(f"model {loaded.name} {loaded.version}; zonal statistics per region-year (budget {ZONAL_BUDGET_S:.0f} s):")
    for region in nuts["NUTS_ID"]:
        region_map = predict_region(region, 2024, loaded, progress=False)
        timings = zonal_seconds(region_map, nuts[nuts["NUTS_ID"] == region])
        total = sum(timings.values())
        over |= total > ZONAL_BUDGET_S
        shape = "x".join(map(str, region_map["mask"].shape))
        print(f"  {region} 2024 ({shape} px): " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
              + f"; total {total:.2f} s")
    region_map = predict_region("LU000", 2021, loaded, progress=False)
    seconds, coverage = simulation_seconds(region_map, nuts.set_index("NUTS_ID").geometry["LU000"], 2021, args.repeats)
    over |= seconds > SIMULATION_BUDGET_S * args.repeats / 200
    print(f"coverage simulation, LU000 2021, {args.repeats} samples: {seconds:.1f} s "
          f"(budget {SIMULATION_BUDGET_S:.0f} s for 200); mean interval coverage {coverage:.1%}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

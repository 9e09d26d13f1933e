"""Checks for chapter 5, from notebook to service.

The probes are read back from the project's own manifests, the distributed
prediction is compared with the serial one from the prediction store, and the
projection is recomputed from the reader's own per-tile time.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from landcover.exercises.checks import Hint, exercise_check, expect_array

#: EU-27 land area used by the projection (km², Eurostat, rounded) and the area of one tile.
EU27_AREA_KM2 = 4.2e6
TILE_KM2 = 6.25
PROJECTION_YEARS = 3


def _deployment() -> dict[str, Any]:
    import yaml

    from landcover.config import project_root

    return yaml.safe_load((Path(project_root()) / "deploy" / "base" / "deployment.yaml").read_text(encoding="utf-8"))


@exercise_check(
    "prd-probes",
    names=("ready_path", "ready_port", "startup_budget_s"),
    success="Readiness address and start-up budget read from the Deployment.",
)
def check_probes(ready_path: object, ready_port: object, startup_budget_s: object) -> None:
    """ready_path, ready_port: the readiness probe's httpGet; startup_budget_s: delay + period x threshold."""
    container = _deployment()["spec"]["template"]["spec"]["containers"][0]
    probe = container["readinessProbe"]["httpGet"]
    if ready_path != probe["path"]:
        raise Hint(f"`ready_path` is {ready_path!r}: read the `path` of the readiness probe's `httpGet`.")
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if ready_port not in (probe["port"], ports.get(probe["port"])):
        raise Hint(f"`ready_port` is {ready_port!r}: read the `port` of the same `httpGet` (a number or the "
                   "name of one of the container's ports).")
    startup = container["startupProbe"]
    expected = startup.get("initialDelaySeconds", 0) + startup["periodSeconds"] * startup["failureThreshold"]
    try:
        budget = float(startup_budget_s)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Hint(f"`startup_budget_s` should be a number of seconds, not a {type(startup_budget_s).__name__}.") from None
    if math.isclose(budget, startup["periodSeconds"] * startup["failureThreshold"]) and budget != expected:
        raise Hint("`startup_budget_s` leaves out the initial delay before the first try.")
    if not math.isclose(budget, expected):
        raise Hint("`startup_budget_s` should be the initial delay plus the period times the failure threshold.")


@exercise_check(
    "prd-dask",
    names=("distributed", "serial"),
    success="The cluster's mosaic is the serial one, pixel for pixel, read from the same store.",
)
def check_dask(distributed: object, serial: object) -> None:
    """distributed, serial: region predictions (dicts with a ``mask``) of the same region-year."""
    for name, value in (("distributed", distributed), ("serial", serial)):
        if not isinstance(value, dict) or "mask" not in value:
            raise Hint(f"`{name}` should be what a region prediction returns (a dict with a mask), not a "
                       f"{type(value).__name__}.")
    a = expect_array(distributed["mask"], "distributed['mask']", ndim=2)  # type: ignore[index]
    b = expect_array(serial["mask"], "serial['mask']", ndim=2)  # type: ignore[index]
    if (distributed.get("nuts"), distributed.get("year")) != (serial.get("nuts"), serial.get("year")):  # type: ignore[union-attr]
        raise Hint("the two predictions are of different regions or years: predict the same one both ways.")
    if a.shape != b.shape or not np.array_equal(a, b):
        raise Hint("the two mosaics differ: both should come from the same model and the same store.")


@exercise_check(
    "prd-projection",
    names=("seconds_per_tile", "tile_predictions", "cpu_hours", "workers_for_a_day"),
    success="Tiles, CPU hours and workers for EU-27, three years, from your own per-tile time.",
)
def check_projection(seconds_per_tile: object, tile_predictions: object, cpu_hours: object,
                     workers_for_a_day: object) -> None:
    """tile_predictions = 3 x area / tile area; cpu_hours = predictions x s / 3600; workers = ceil(hours / 24)."""
    try:
        per_tile = float(seconds_per_tile)  # type: ignore[arg-type]
        tiles, hours, workers = float(tile_predictions), float(cpu_hours), float(workers_for_a_day)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Hint("all four values should be numbers.") from None
    if not per_tile > 0:
        raise Hint("`seconds_per_tile` should be the measured time of one tile, a positive number of seconds.")
    expected_tiles = PROJECTION_YEARS * EU27_AREA_KM2 / TILE_KM2
    if math.isclose(tiles, EU27_AREA_KM2 / TILE_KM2, rel_tol=1e-6):
        raise Hint("`tile_predictions` counts one year; the projection is for three.")
    if math.isclose(tiles, PROJECTION_YEARS * EU27_AREA_KM2 * TILE_KM2, rel_tol=1e-6):
        raise Hint("`tile_predictions` multiplies by the tile's area; divide the area by it.")
    if not math.isclose(tiles, expected_tiles, rel_tol=1e-6):
        raise Hint("`tile_predictions` should be the years times the area of EU-27 divided by a tile's area.")
    expected_hours = expected_tiles * per_tile / 3600
    if math.isclose(hours, expected_tiles * per_tile / 60, rel_tol=1e-6):
        raise Hint("`cpu_hours` is in minutes: an hour has 3,600 seconds.")
    if not math.isclose(hours, expected_hours, rel_tol=1e-6):
        raise Hint("`cpu_hours` should be the tile predictions times the seconds per tile, in hours.")
    expected_workers = math.ceil(expected_hours / 24)
    if math.isclose(workers, expected_hours / 24, rel_tol=1e-9) and workers != expected_workers:
        raise Hint("`workers_for_a_day` is a fraction: a worker is whole, so round up.")
    if workers != expected_workers:
        raise Hint("`workers_for_a_day` should be the CPU hours divided by 24, rounded up.")

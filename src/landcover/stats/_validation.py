"""Checks shared by the statistics modules, so every bad input gets the same clear message."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from affine import Affine

from landcover.data.paths import PIXEL_SIZE_M

#: Area of one pixel of the tiles: 10 m x 10 m = 100 m² = 1e-4 km² (EPSG:3035 is equal-area).
PIXEL_AREA_M2 = PIXEL_SIZE_M**2
#: Square metres per unit in which an area table can be given.
AREA_UNITS: dict[str, float | None] = {"pixels": None, "m2": 1.0, "ha": 1e4, "km2": 1e6}


def as_class_raster(array: object, name: str) -> np.ndarray:
    """``array`` as a 2-D integer NumPy array, or a ``ValueError`` naming the parameter ``name``."""
    raster = np.asarray(array)
    if raster.ndim != 2:
        raise ValueError(f"{name} must be a 2-D class raster (rows, cols); got shape {raster.shape}")
    if not np.issubdtype(raster.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class ids (e.g. uint8); got dtype {raster.dtype}")
    if raster.size and raster.min() < 0:
        raise ValueError(f"{name} holds negative values; class ids are 0 (nodata) and 1..10")
    return raster


def class_ids(classes: Iterable[int], nodata: int, name: str = "classes") -> tuple[int, ...]:
    """``classes`` as a tuple of distinct non-negative ints that are not ``nodata``."""
    ids = tuple(int(c) for c in classes)
    if not ids:
        raise ValueError(f"{name} is empty; give at least one class id")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{name} lists a class twice: {ids}")
    if min(ids) < 0 or nodata in ids:
        raise ValueError(f"{name} must be non-negative class ids other than nodata={nodata}; got {ids}")
    return ids


def north_up_transform(transform: object, name: str = "transform") -> Affine:
    """``transform`` checked to be a north-up affine grid without rotation (as the tiles are)."""
    if not isinstance(transform, Affine):
        raise ValueError(f"{name} must be an affine.Affine (e.g. a raster's .transform); got {type(transform).__name__}")
    if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
        raise ValueError(f"{name} must be north-up without rotation (a > 0, e < 0, b = d = 0); got {transform!r}")
    return transform


def area_factor(unit: str, pixel_area_m2: float) -> float:
    """Multiplier that turns pixel counts into ``unit`` ("pixels", "m2", "ha" or "km2")."""
    if unit not in AREA_UNITS:
        raise ValueError(f"unit must be one of {sorted(AREA_UNITS)}; got {unit!r}")
    if not np.isfinite(pixel_area_m2) or pixel_area_m2 <= 0:
        raise ValueError(f"pixel_area_m2 must be a positive number of square metres; got {pixel_area_m2!r}")
    per_unit = AREA_UNITS[unit]
    return 1.0 if per_unit is None else pixel_area_m2 / per_unit

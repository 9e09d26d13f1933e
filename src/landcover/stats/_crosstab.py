"""Cross-tabulation of two class rasters by one ``np.bincount``: the core of agreement and change tables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from landcover.stats._validation import as_class_raster


def lookup_table(values_max: int, classes: Sequence[int]) -> np.ndarray:
    """Array mapping each value 0..``values_max`` to its position in ``classes``, -1 elsewhere."""
    table = np.full(max(values_max, max(classes)) + 1, -1, dtype=np.int64)
    table[list(classes)] = np.arange(len(classes))
    return table


def cross_tabulate(
    first: object, second: object, classes: Sequence[int], nodata: int, names: tuple[str, str]
) -> tuple[np.ndarray, int]:
    """Pixel counts ``(K, K)`` of (first class, second class) pairs, and the pixels left out.

    A pixel is left out when either raster holds ``nodata`` there. Any other
    value not in ``classes`` is an error naming the raster, so a typo in the class
    list cannot silently drop pixels.
    """
    a = as_class_raster(first, names[0])
    b = as_class_raster(second, names[1])
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} has shape {a.shape} but {names[1]} has shape {b.shape}; they must share a grid")
    k = len(classes)
    table = lookup_table(int(max(a.max(initial=0), b.max(initial=0))), classes)
    ia, ib = table[a.ravel()], table[b.ravel()]
    for name, raster, index in ((names[0], a, ia), (names[1], b, ib)):
        unknown = (index < 0) & (raster.ravel() != nodata)
        if unknown.any():
            values = sorted(set(np.unique(raster.ravel()[unknown]).tolist()))
            raise ValueError(f"{name} holds values {values} that are neither in classes {tuple(classes)} nor nodata={nodata}")
    keep = (ia >= 0) & (ib >= 0)
    counts = np.bincount(ia[keep] * k + ib[keep], minlength=k * k).reshape(k, k)
    return counts, int(keep.size - keep.sum())

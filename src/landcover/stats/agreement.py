"""Pixel-by-pixel agreement between a predicted map and the CLC+ labels.

The labels are themselves a map, with known errors, so comparing every pixel
measures *agreement*, not accuracy: where the two differ, either may be wrong.
Accuracy needs a reference of higher quality on a probability sample
(:mod:`landcover.stats.sampling`, :mod:`landcover.stats.estimation`). Kappa is
left out on purpose: Olofsson et al. (2014) advise against it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from landcover.classes import CLASS_IDS, NODATA
from landcover.stats._crosstab import cross_tabulate
from landcover.stats._validation import PIXEL_AREA_M2, area_factor, class_ids


def confusion_matrix(
    map_array: object,
    reference_array: object,
    classes: Iterable[int] = CLASS_IDS,
    nodata: int = NODATA,
    unit: str = "pixels",
    pixel_area_m2: float = PIXEL_AREA_M2,
) -> pd.DataFrame:
    """Cross-tabulation of map (rows) against reference (columns), in pixels or as areas.

    Pixels that are ``nodata`` in either raster are left out;
    ``attrs["excluded_pixels"]`` counts them. ``unit`` is ``"pixels"`` (the
    default: agreement is about pixels), ``"m2"``, ``"ha"`` or ``"km2"``, with
    ``pixel_area_m2`` per pixel (100 m² for the 10 m tiles in EPSG:3035).
    """
    ids = class_ids(classes, nodata)
    factor = area_factor(unit, pixel_area_m2)
    counts, excluded = cross_tabulate(map_array, reference_array, ids, nodata, ("map_array", "reference_array"))
    values = counts if unit == "pixels" else counts * factor
    table = pd.DataFrame(values, index=pd.Index(ids, name="map"), columns=pd.Index(ids, name="reference"))
    table.attrs.update(excluded_pixels=excluded, unit=unit)
    return table


def agreement_report(confusion: pd.DataFrame) -> pd.DataFrame:
    """Per-class agreement measures of a square confusion table (rows map, columns reference).

    ``users_agreement`` = diagonal / row total (how often a mapped class is
    also the reference class), ``producers_agreement`` = diagonal / column
    total, ``f1`` (their harmonic mean), ``iou`` = diagonal / (row + column -
    diagonal), and the totals. A class absent from both rasters gets NaN, not
    an error; ``attrs["overall_agreement"]`` is the diagonal's share of the total.
    """
    if not isinstance(confusion, pd.DataFrame) or list(confusion.index) != list(confusion.columns):
        raise ValueError("confusion must be a square DataFrame with the same classes as rows and columns")
    values = confusion.to_numpy(dtype=float)
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("confusion must hold non-negative, finite counts or areas")
    diagonal, mapped, reference = np.diag(values), values.sum(axis=1), values.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        report = pd.DataFrame(
            {
                "users_agreement": diagonal / mapped,
                "producers_agreement": diagonal / reference,
                "f1": 2 * diagonal / (mapped + reference),
                "iou": diagonal / (mapped + reference - diagonal),
                "map_total": mapped,
                "reference_total": reference,
            },
            index=pd.Index(confusion.index, name="class"),
        )
    total = values.sum()
    report.attrs["overall_agreement"] = float(diagonal.sum() / total) if total > 0 else float("nan")
    return report

"""The numbers the explorer app shows for a region: land-cover accounts, bias-adjusted areas, change.

Each function takes region mosaics read from the prediction store
(:func:`landcover.app.store.read_region_from_store`) and the region's NUTS3
outline, and calls the tools of chapter 4 (:mod:`landcover.stats`) the way the
chapter does: areas by the pixel-centre rule inside the outline, in km² of
EPSG:3035 (one 10 m pixel is 1e-4 km²).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from rasterio.features import rasterize

from landcover.app.store import read_tiles
from landcover.classes import CLASS_IDS, CLASS_NAMES, NODATA
from landcover.stats import (
    PIXEL_AREA_M2,
    allocate_sample,
    average_annual_rate,
    class_accounts,
    error_matrix_from_sample,
    estimate_areas,
    gross_and_net_change,
    group_accounts,
    label_mosaic,
    land_take,
    pixel_centre_counts,
    reference_at,
    region_coverage,
    sample_size_for_overall_accuracy,
    sealed_share_of_land,
    stratified_sample,
    transitions_by_region,
    tree_cover_share_of_land,
)

#: Seed of the stratified sample: chapter 4's, so the app reproduces the chapter's estimate of LU000 2021.
SEED = 2014
#: Expected user's accuracy of every stratum when sizing the sample (chapter 4's cautious guess).
EXPECTED_USERS_ACCURACY = 0.8
#: Target standard error of overall accuracy that sizes the sample.
TARGET_SE = 0.01
#: Smallest sample per stratum (the paper suggests 50 to 100 for a real survey).
MINIMUM_PER_STRATUM = 30
PIXEL_KM2 = PIXEL_AREA_M2 / 1e6


def inside_outline(mask: np.ndarray, transform: Affine, outline: gpd.GeoDataFrame) -> np.ndarray:
    """Boolean mosaic, True on the pixels whose centre lies inside the region's outline (EPSG:3035)."""
    frame = outline.to_crs("EPSG:3035") if outline.crs is not None and outline.crs.to_epsg() != 3035 else outline
    return rasterize(list(frame.geometry), out_shape=np.shape(mask), transform=transform, fill=0,
                     default_value=1, all_touched=False, dtype="uint8").astype(bool)


def region_accounts(region: Mapping[str, Any], outline: gpd.GeoDataFrame) -> dict[str, pd.DataFrame]:
    """Class accounts, group accounts, coverage and indicators of one region-year, from its mosaic.

    Returns a dict of tables:

    - ``counts``: :func:`landcover.stats.pixel_centre_counts` (``region, class, pixels, area_km2``);
    - ``accounts``: :func:`landcover.stats.class_accounts` with the pixel counts
      (``class, class_name, pixels, area_km2, share``; shares of the covered area);
    - ``groups``: :func:`landcover.stats.group_accounts`;
    - ``coverage``: :func:`landcover.stats.region_coverage`, the footprint being the
      tiles read from the store (a tile the store lacks is outside the coverage, not nodata);
    - ``indicators``: sealed and tree-cover shares of land.
    """
    mask, transform = region["mask"], region["transform"]
    counts = pixel_centre_counts(mask, transform, outline)
    accounts = class_accounts(counts).merge(counts[["region", "class", "pixels"]], on=["region", "class"])
    accounts = accounts[["class", "class_name", "pixels", "area_km2", "share"]].reset_index(drop=True)
    coverage = region_coverage(mask, transform, outline, footprint=read_tiles(region))
    sealed = sealed_share_of_land(counts)
    trees = tree_cover_share_of_land(counts)
    indicators = sealed.merge(trees, on=["region", "land_km2"])
    return {"counts": counts, "accounts": accounts, "groups": group_accounts(counts), "coverage": coverage,
            "indicators": indicators}


@dataclass(frozen=True)
class AreaEstimate:
    """Bias-adjusted class areas from a stratified sample with the labels as reference (chapter 4).

    ``table`` has one row per sampled class: ``class, class_name, mapped_km2``
    (pixel count of the labelled part of the region), ``estimate_km2``,
    ``ci95_km2`` (half-width of the 95 % interval), ``lower_km2``,
    ``upper_km2``, ``users_accuracy``, ``producers_accuracy``.
    """

    table: pd.DataFrame
    sample_size: int
    seed: int
    overall_accuracy: float
    overall_accuracy_se: float
    total_km2: float
    dropped: int
    notes: tuple[str, ...] = field(default_factory=tuple)


def bias_adjusted_areas(
    region: Mapping[str, Any], outline: gpd.GeoDataFrame, seed: int = SEED, root: str | None = None
) -> AreaEstimate:
    """Class areas with 95 % intervals from a stratified random sample, the CLC+ labels as reference.

    As chapter 4 does it: the strata are the map's classes inside the outline
    where a label exists; the sample size aims at a standard error of 0.01 on
    overall accuracy (at least 30 pixels per stratum); the sample is drawn with
    ``seed``; the reference class of each pixel is read from the labels of the
    region's year; :func:`landcover.stats.estimate_areas` gives the areas.

    Raises
    ------
    FileNotFoundError
        When a tile has no label for the year (labels exist for 2018 and 2021).
    ValueError
        When no pixel of the region has both a class and a label.
    """
    mask, transform = np.asarray(region["mask"]), region["transform"]
    inside = inside_outline(mask, transform, outline)
    reference = np.where(inside, label_mosaic(region, region["year"], root), NODATA)
    strata = np.where(inside & (reference != NODATA), mask, NODATA).astype(np.uint8)
    mapped_km2 = pd.Series(np.bincount(strata.ravel(), minlength=11)[1:11] * PIXEL_KM2, index=list(CLASS_IDS))
    if mapped_km2.sum() <= 0:
        raise ValueError(f"{region['nuts']} {region['year']}: no pixel inside the region has both a class and a label")
    expected = pd.Series(EXPECTED_USERS_ACCURACY, index=list(CLASS_IDS))
    n_total = sample_size_for_overall_accuracy(mapped_km2, expected, target_se=TARGET_SE,
                                               minimum_per_stratum=MINIMUM_PER_STRATUM)
    allocation = pd.Series(allocate_sample(n_total, mapped_km2, minimum_per_stratum=MINIMUM_PER_STRATUM),
                           index=list(CLASS_IDS))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sample = reference_at(stratified_sample(strata, allocation.to_dict(), seed=seed), reference)
        error_matrix = error_matrix_from_sample(sample)
    sampled = error_matrix.sum(axis=1) >= 2
    estimates = estimate_areas(error_matrix.loc[sampled, sampled], mapped_km2[sampled])
    classes = list(estimates.index)
    table = pd.DataFrame({
        "class": classes,
        "class_name": [CLASS_NAMES[int(c)] for c in classes],
        "mapped_km2": mapped_km2[sampled].to_numpy(),
        "estimate_km2": estimates["area"].to_numpy(),
        "ci95_km2": estimates["area_ci95"].to_numpy(),
        "lower_km2": (estimates["area"] - estimates["area_ci95"]).to_numpy(),
        "upper_km2": (estimates["area"] + estimates["area_ci95"]).to_numpy(),
        "users_accuracy": estimates["users_accuracy"].to_numpy(),
        "producers_accuracy": estimates["producers_accuracy"].to_numpy(),
    })
    notes = tuple(dict.fromkeys(str(w.message) for w in caught))
    return AreaEstimate(table, int(len(sample)), int(seed), float(estimates.attrs["overall_accuracy"]),
                        float(estimates.attrs["overall_accuracy_se"]), float(estimates.attrs["total_area"]),
                        int(error_matrix.attrs.get("dropped", 0)), notes)


def align_mask(source: Mapping[str, Any], target: Mapping[str, Any]) -> np.ndarray:
    """The mask of ``source`` on the grid of ``target`` (both 10 m EPSG:3035 grids), nodata where it has none.

    Region mosaics of two years share the tiles' 10 m grid but may not cover
    the same tiles, so their corners can differ by whole pixels.

    Raises
    ------
    ValueError
        When the two grids do not share their pixel size or are offset by a fraction of a pixel.
    """
    s, t = source["transform"], target["transform"]
    if not (np.isclose(s.a, t.a) and np.isclose(s.e, t.e)):
        raise ValueError(f"the mosaics have different pixel sizes ({s.a}, {t.a}): they cannot be compared")
    dc, dr = (s.c - t.c) / t.a, (s.f - t.f) / t.e
    if not (np.isclose(dc, round(dc)) and np.isclose(dr, round(dr))):
        raise ValueError("the mosaics are offset by a fraction of a pixel: they cannot be compared pixel by pixel")
    dc, dr = int(round(dc)), int(round(dr))
    src = np.asarray(source["mask"])
    out = np.full(np.shape(target["mask"]), NODATA, dtype=src.dtype)
    rows, cols = out.shape
    r0, c0 = max(0, dr), max(0, dc)
    r1, c1 = min(rows, dr + src.shape[0]), min(cols, dc + src.shape[1])
    if r1 > r0 and c1 > c0:
        out[r0:r1, c0:c1] = src[r0 - dr : r1 - dr, c0 - dc : c1 - dc]
    return out


@dataclass(frozen=True)
class ChangeSummary:
    """Land-cover change between two years of one region (pixel-centre rule, km²).

    ``transitions``: area from each class (rows, first year) to each class
    (columns, second year); ``components``: gains, losses, net and gross change
    per class; ``changed``: boolean mosaic on the first year's grid
    (``transform``), True where a pixel inside the region has a class in both
    years and they differ.
    """

    first_year: int
    second_year: int
    transitions: pd.DataFrame
    components: pd.DataFrame
    land_take_km2: float
    land_take_rate: float
    changed_km2: float
    compared_km2: float
    changed: np.ndarray
    transform: Affine

    @property
    def changed_share(self) -> float:
        """Share of the compared area whose class changed."""
        return self.changed_km2 / self.compared_km2 if self.compared_km2 > 0 else float("nan")


def change_between(
    first: Mapping[str, Any], second: Mapping[str, Any], outline: gpd.GeoDataFrame
) -> ChangeSummary:
    """Transitions, change components and land take between two mosaics of one region (first year first).

    Only pixels with a class in both years count (nodata in either is
    unknown change). Land take is the area that became sealed (class 1) from
    another class; its rate is per year, as a share of the compared area.

    Raises
    ------
    ValueError
        When the years are equal or the mosaics cannot share a grid.
    """
    years = int(second["year"]) - int(first["year"])
    if years <= 0:
        raise ValueError(f"the second year ({second['year']}) must come after the first ({first['year']})")
    nuts = str(first["nuts"])
    later = align_mask(second, first)
    transitions = transitions_by_region(first["mask"], later, first["transform"], outline)[nuts]
    transitions.index = pd.Index([int(c) for c in transitions.index], name="from")
    transitions.columns = pd.Index([int(c) for c in transitions.columns], name="to")
    compared = float(transitions.to_numpy().sum())
    changed_km2 = compared - float(np.trace(transitions.to_numpy()))
    taken = land_take(transitions)
    rate = average_annual_rate(taken, compared, years) if compared > 0 else float("nan")
    earlier = np.asarray(first["mask"])
    inside = inside_outline(earlier, first["transform"], outline)
    changed = inside & (earlier != NODATA) & (later != NODATA) & (earlier != later)
    return ChangeSummary(int(first["year"]), int(second["year"]), transitions, gross_and_net_change(transitions),
                         taken, rate, changed_km2, compared, changed, first["transform"])


def changed_on(change: ChangeSummary, region: Mapping[str, Any]) -> np.ndarray:
    """Where the class changed (:attr:`ChangeSummary.changed`), on the grid of ``region`` (either year's mosaic)."""
    source = {"mask": change.changed.astype(np.uint8), "transform": change.transform}
    return align_mask(source, region).astype(bool)

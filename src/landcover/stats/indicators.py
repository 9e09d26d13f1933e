"""Regional indicators from the land-cover accounts: sealed share, tree-cover share, land take.

Each share comes two ways: from pixel counts (what the map says, per region
and year) and, given an error matrix from a reference sample, as a
bias-adjusted estimate with a 95 % interval (:func:`landcover.stats.estimate_share`).
They are land-*cover* figures, close in spirit to the official indicators but
not the same; each function says what differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from landcover.classes import CLASS_IDS
from landcover.stats.accounts import CLASS_GROUPS, LAND_CLASSES, _check, _keys, land_area
from landcover.stats.change import SEALED_CLASSES, average_annual_rate, land_take
from landcover.stats.estimation import ShareEstimate, estimate_share

TREE_COVER_CLASSES: tuple[int, ...] = CLASS_GROUPS["tree cover"]


def _share_of_land(counts: pd.DataFrame, classes: Iterable[int], name: str) -> pd.DataFrame:
    """``region, [year], {name}_km2, land_km2, {name}_share_of_land`` from an area table."""
    counts = _check(counts)
    keys = _keys(counts)
    selected = counts["class"].astype(int).isin([int(c) for c in classes])
    part = counts.assign(**{f"{name}_km2": counts["area_km2"].where(selected, 0.0)})
    table = part.groupby(keys, as_index=False)[f"{name}_km2"].sum().merge(land_area(counts)[[*keys, "land_km2"]], on=keys)
    table[f"{name}_share_of_land"] = table[f"{name}_km2"] / table["land_km2"].where(table["land_km2"] > 0)
    return table


def sealed_share_of_land(counts: pd.DataFrame) -> pd.DataFrame:
    """Sealed area as a share of land area (water excluded), per region and year, from pixel counts.

    ``counts`` is an area table (``region, [year], class, area_km2``). Sealed
    is CLC+ class 1: buildings, roads and other impervious surfaces. It is
    narrower than "artificial surfaces" (CORINE 1.x), which also hold urban
    green, construction and extraction sites.
    """
    return _share_of_land(counts, SEALED_CLASSES, "sealed")


def tree_cover_share_of_land(counts: pd.DataFrame) -> pd.DataFrame:
    """Tree cover (classes 2, 3, 4) as a share of land area, a land-cover proxy for SDG 15.1.1.

    SDG 15.1.1 is "forest area as a proportion of total land area", with FAO's
    definition of forest: a land *use*, on at least 0.5 ha, with trees able to
    reach 5 m and a canopy cover over 10 %; it excludes land predominantly under
    agricultural or urban use (orchards, parks) and includes temporarily
    unstocked areas (clear-cuts, burnt areas due to regrow). Pixels of tree
    cover ignore those thresholds and uses: the proxy counts urban and orchard
    trees and misses clear-cuts, so it can differ from the official figure
    either way.
    """
    return _share_of_land(counts, TREE_COVER_CLASSES, "tree_cover")


def _labelled(error_matrix: pd.DataFrame | object) -> pd.DataFrame:
    """The error matrix labelled with the class ids 1..10 (a plain 10 x 10 array is taken in that order)."""
    if isinstance(error_matrix, pd.DataFrame):
        return error_matrix
    values = np.asarray(error_matrix)
    if values.shape != (len(CLASS_IDS), len(CLASS_IDS)):
        raise ValueError(f"error_matrix must be a DataFrame labelled with class ids, or a 10 x 10 array; got shape {values.shape}")
    return pd.DataFrame(values, index=list(CLASS_IDS), columns=list(CLASS_IDS))


def sealed_share_estimate(error_matrix: pd.DataFrame | object, mapped_areas: object) -> ShareEstimate:
    """Bias-adjusted sealed share of land area, from a stratified sample's error matrix.

    ``error_matrix`` has the classes 1..10 as rows (map) and columns
    (reference), e.g. from :func:`landcover.stats.error_matrix_from_sample`;
    ``mapped_areas`` the mapped area of each class in the area the sample was
    drawn from. The denominator (land) is itself estimated, so the interval
    accounts for water misclassified as land and the reverse.
    """
    return estimate_share(_labelled(error_matrix), mapped_areas, numerator=SEALED_CLASSES, denominator=LAND_CLASSES)


def tree_cover_share_estimate(error_matrix: pd.DataFrame | object, mapped_areas: object) -> ShareEstimate:
    """Bias-adjusted tree-cover share of land area (the SDG 15.1.1 proxy), with its standard error.

    The tree-cover area is the sum of the three tree classes' reference
    proportions; its standard error is that of the merged reference class
    (the classes' estimates are correlated), as :func:`estimate_share` computes
    it. Inputs as in :func:`sealed_share_estimate`.
    """
    return estimate_share(_labelled(error_matrix), mapped_areas, numerator=TREE_COVER_CLASSES, denominator=LAND_CLASSES)


def land_take_indicator(transitions: pd.DataFrame, years: float, region_area: float) -> pd.Series:
    """Land take between two maps: area that became sealed, per year and as a share of the region per year.

    In the spirit of the EEA indicator "Land take in Europe", which measures
    the conversion of agricultural, forest and natural land into artificial
    surfaces from CORINE Land Cover change layers (minimum mapping unit of
    5 ha for changes, a 6-year cycle). Here the change is pixel-wise (100 m²,
    no minimum unit: noise in either map shows up as change), from any other
    class into *sealed* only (not all artificial surfaces), and between the
    years of the two maps. ``region_area`` in the unit of ``transitions``.
    """
    taken = land_take(transitions)
    rate = average_annual_rate(taken, region_area, years)  # checks years and region_area
    return pd.Series({"land_take": taken, "land_take_per_year": taken / years, "annual_rate": rate}, name="land_take")


def land_take_table(
    transitions: Mapping[str, pd.DataFrame], years: float, region_area: Mapping[str, float] | pd.Series
) -> pd.DataFrame:
    """:func:`land_take_indicator` for each region of :func:`landcover.stats.transitions_by_region`."""
    missing = [region for region in transitions if region not in region_area]
    if missing:
        raise ValueError(f"region_area has no area for region(s) {missing}")
    rows = {region: land_take_indicator(table, years, region_area[region]) for region, table in transitions.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("region").reset_index()

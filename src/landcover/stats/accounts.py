"""Land-cover accounts: area and share of each class, or group of classes, per region and year.

The input is a tidy table of areas such as :func:`landcover.stats.pixel_centre_counts`
returns (``region``, ``class``, ``area_km2``, and ``year`` when there are several
years). Shares are of the *covered* area (pixels with a class), because nodata
pixels have no class; :func:`land_area` gives the denominator of indicators
defined per land area (water excluded).

The groups follow the CLC+ Backbone classes to broad land-cover types.
Lichens and mosses (8) go with non- and sparsely vegetated land (9), as in
LUCAS, whose main land-cover class F is "bare land and lichens/moss": both are
land with little or no vascular vegetation, and 8 alone is too rare in most of
Europe to report on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from landcover.classes import CLASS_IDS, CLASS_NAMES

#: Broad land-cover groups, from CLC+ Backbone classes. "grassland" is permanent
#: herbaceous cover and "cropland" periodically herbaceous cover (mostly arable land).
CLASS_GROUPS: dict[str, tuple[int, ...]] = {
    "sealed": (1,),
    "tree cover": (2, 3, 4),
    "other woody": (5,),
    "grassland": (6,),
    "cropland": (7,),
    "bare land and lichens/moss": (8, 9),
    "water": (10,),
}
#: Classes that are not land (inland and sea water), excluded from land area.
WATER_CLASSES: tuple[int, ...] = (10,)
#: Classes that make up land area.
LAND_CLASSES: tuple[int, ...] = tuple(c for c in CLASS_IDS if c not in WATER_CLASSES)


def _keys(frame: pd.DataFrame) -> list[str]:
    """The columns that identify one account: region, and year when given."""
    return ["region", "year"] if "year" in frame.columns else ["region"]


def _check(counts: object, needed: Iterable[str] = ("region", "class", "area_km2")) -> pd.DataFrame:
    """``counts`` checked to be a table with the ``needed`` columns and finite, non-negative areas."""
    if not isinstance(counts, pd.DataFrame):
        raise ValueError(f"counts must be a DataFrame with columns {list(needed)}; got {type(counts).__name__}")
    missing = [c for c in needed if c not in counts.columns]
    if missing:
        raise ValueError(f"counts lacks the column(s) {missing}; pixel_centre_counts gives region, class, area_km2")
    area = counts["area_km2"]
    if area.isna().any() or (area < 0).any():
        raise ValueError("counts has missing or negative area_km2 values")
    return counts


def _with_share(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add ``share``: each row's area over its account's total (NaN for an empty account)."""
    total = table.groupby(keys)["area_km2"].transform("sum")
    return table.assign(share=table["area_km2"] / total.where(total > 0))


def class_accounts(counts: pd.DataFrame) -> pd.DataFrame:
    """Area (km²) and share of the covered area of each class, per region (and year).

    Returns ``region, [year], class, class_name, area_km2, share``; the
    classes' areas sum to the region's covered area and their shares to 1.
    """
    counts = _check(counts)
    keys = _keys(counts)
    table = counts.groupby([*keys, "class"], as_index=False, sort=True)["area_km2"].sum()
    table.insert(len(keys) + 1, "class_name", table["class"].map(lambda c: CLASS_NAMES.get(int(c), str(c))))
    return _with_share(table, keys)


def group_accounts(counts: pd.DataFrame, groups: Mapping[str, Iterable[int]] = CLASS_GROUPS) -> pd.DataFrame:
    """Area (km²) and share of the covered area of each group of classes (:data:`CLASS_GROUPS`).

    Every class in ``counts`` must belong to exactly one group, so the groups
    add up to the covered area as the classes do.
    """
    counts = _check(counts)
    group_of = {int(c): name for name, members in groups.items() for c in members}
    if sum(len(tuple(m)) for m in groups.values()) != len(group_of):
        raise ValueError("groups must not share a class")
    orphans = sorted(set(counts["class"].astype(int)) - set(group_of))
    if orphans:
        raise ValueError(f"counts has classes {orphans} that belong to no group of groups")
    keys = _keys(counts)
    table = counts.assign(group=counts["class"].astype(int).map(group_of))
    table = table.groupby([*keys, "group"], as_index=False, sort=False)["area_km2"].sum()
    table["group"] = pd.Categorical(table["group"], categories=list(groups), ordered=True)
    return _with_share(table.sort_values([*keys, "group"]).reset_index(drop=True), keys)


def land_area(counts: pd.DataFrame, water: Iterable[int] = WATER_CLASSES) -> pd.DataFrame:
    """Covered and land area (km²) per region (and year): land = covered area minus ``water`` classes.

    Indicators "per land area" (sealed share, SDG 15.1.1 forest share) use
    ``land_km2`` as their denominator.
    """
    counts = _check(counts)
    keys = _keys(counts)
    is_water = counts["class"].astype(int).isin([int(c) for c in water])
    table = counts.assign(land_km2=counts["area_km2"].where(~is_water, 0.0))
    return table.groupby(keys, as_index=False)[["area_km2", "land_km2"]].sum().rename(columns={"area_km2": "covered_km2"})


def country_accounts(accounts: pd.DataFrame) -> pd.DataFrame:
    """Class or group accounts summed from regions to countries (the first two letters of the NUTS id).

    The shares are recomputed from the summed areas: a country's share is
    the area-weighted mean of its regions' shares, not their plain mean.
    """
    item = "class" if "class" in accounts.columns else "group"
    accounts = _check(accounts, ("region", item, "area_km2"))
    keys = ["country", "year"] if "year" in accounts.columns else ["country"]
    named = accounts.assign(country=accounts["region"].astype(str).str[:2])
    table = named.groupby([*keys, item], as_index=False, sort=True, observed=True)["area_km2"].sum()
    return _with_share(table, keys)

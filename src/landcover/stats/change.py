"""Land-cover change between two years: transition matrices, gross and net change, land take.

A transition matrix ``T`` holds the area that was class ``i`` in the first year
(row) and class ``j`` in the second (column); its diagonal is the area that did
not change. Both maps must be on the same grid (EPSG:3035, 10 m pixels).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from landcover.classes import CLASS_IDS, NODATA
from landcover.stats._crosstab import cross_tabulate
from landcover.stats._validation import PIXEL_AREA_M2, area_factor, class_ids

#: The class whose gains are land take (CLC+ Backbone 1, sealed).
SEALED_CLASSES: tuple[int, ...] = (1,)


def transition_matrix(
    map_a: object,
    map_b: object,
    classes: Iterable[int] = CLASS_IDS,
    nodata: int = NODATA,
    unit: str = "km2",
    pixel_area_m2: float = PIXEL_AREA_M2,
) -> pd.DataFrame:
    """Area that went from each class in ``map_a`` (rows, ``from``) to each class in ``map_b`` (columns, ``to``).

    Pixels that are ``nodata`` in either year are left out, since their change
    is unknown; ``attrs["excluded_pixels"]`` counts them. ``unit`` is
    ``"km2"`` (the default: land accounts are reported in km²), ``"ha"``,
    ``"m2"`` or ``"pixels"``; one pixel is ``pixel_area_m2`` (100 m²).
    """
    ids = class_ids(classes, nodata)
    factor = area_factor(unit, pixel_area_m2)
    counts, excluded = cross_tabulate(map_a, map_b, ids, nodata, ("map_a", "map_b"))
    values = counts if unit == "pixels" else counts * factor
    table = pd.DataFrame(values, index=pd.Index(ids, name="from"), columns=pd.Index(ids, name="to"))
    table.attrs.update(excluded_pixels=excluded, unit=unit)
    return table


def _square(transitions: pd.DataFrame) -> np.ndarray:
    """The values of a transition matrix, checked to be square with matching labels."""
    if not isinstance(transitions, pd.DataFrame) or list(transitions.index) != list(transitions.columns):
        raise ValueError("transitions must be a square DataFrame with the same classes as rows (from) and columns (to)")
    values = transitions.to_numpy(dtype=float)
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("transitions must hold non-negative, finite areas")
    return values


def gross_and_net_change(transitions: pd.DataFrame) -> pd.DataFrame:
    """Per class: the land-accounting change components of a transition matrix (same unit).

    - ``opening``, ``closing``: area of the class in the first and second year
      (row and column totals);
    - ``unchanged``: the diagonal;
    - ``gains``: area that became the class (column total minus diagonal);
      ``losses``: area that stopped being it (row total minus diagonal);
    - ``net`` = gains - losses = closing - opening (signed);
    - ``gross`` = gains + losses: all the area where the class changed, the
      "total change" of Pontius et al. (2004, *Agriculture, Ecosystems &
      Environment* 101, 251-268), which equals ``abs(net) + swap``;
    - ``swap`` = 2 min(gains, losses): change that moved the class around
      without changing its area, invisible in the net figure.

    Over all classes, gains and losses each sum to the changed area, so the
    classes' gross changes sum to twice it.
    """
    values = _square(transitions)
    unchanged = np.diag(values)
    opening, closing = values.sum(axis=1), values.sum(axis=0)
    gains, losses = closing - unchanged, opening - unchanged
    return pd.DataFrame(
        {"opening": opening, "closing": closing, "unchanged": unchanged, "gains": gains, "losses": losses,
         "net": gains - losses, "gross": gains + losses, "swap": 2 * np.minimum(gains, losses)},
        index=pd.Index(transitions.index, name="class"),
    )


def land_take_by_origin(transitions: pd.DataFrame, sealed: Iterable[int] = SEALED_CLASSES) -> pd.Series:
    """Area that became sealed, by the class it was before (sealed classes themselves excluded)."""
    _square(transitions)
    sealed = list(sealed)
    unknown = [c for c in sealed if c not in transitions.columns]
    if unknown or not sealed:
        raise ValueError(f"sealed must name classes of transitions; unknown: {unknown or 'none given'}")
    origins = [c for c in transitions.index if c not in sealed]
    return transitions.loc[origins, sealed].sum(axis=1).rename("land_take")


def land_take(transitions: pd.DataFrame, sealed: Iterable[int] = SEALED_CLASSES) -> float:
    """Area that turned into a sealed class from any other class, in the unit of ``transitions``."""
    return float(land_take_by_origin(transitions, sealed).sum())


def average_annual_rate(change_area: float, region_area: float, years: float) -> float:
    """A change as a share of the region per year: ``change_area / region_area / years``.

    Both areas in the same unit; ``years`` is the time between the two maps
    (3 for 2018-2021). Multiply by 100 for percent per year.
    """
    if not np.isfinite(change_area):
        raise ValueError(f"change_area must be a finite area; got {change_area!r}")
    if not np.isfinite(region_area) or region_area <= 0:
        raise ValueError(f"region_area must be a positive area; got {region_area!r}")
    if not np.isfinite(years) or years <= 0:
        raise ValueError(f"years must be a positive number of years between the maps; got {years!r}")
    return float(change_area) / float(region_area) / float(years)

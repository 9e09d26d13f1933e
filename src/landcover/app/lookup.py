"""The explorer app's point lookup: the tile under a longitude/latitude, its prediction and its class shares.

The tile comes from the region-year's index (:func:`landcover.data.find_tile_at`);
its prediction is the tile's window of the region mosaic read from the store,
so a lookup never predicts anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from landcover.classes import CLASS_IDS, CLASS_NAMES, NODATA, class_name
from landcover.data import find_tile_at, nuts3_at, read_tile
from landcover.errors import RegionNotFoundError
from landcover.stats import PIXEL_AREA_M2
from landcover.viz import TRUE_COLOUR_BANDS, percentile_stretch
from landcover.webmaps import class_rgba


@dataclass(frozen=True)
class PointLookup:
    """What the app shows for one point of a region-year.

    ``row``/``col`` is the pixel of the tile under the point; ``predicted`` and
    ``labelled`` the classes there (0: nodata or cloud; ``labelled`` is None
    without a label); ``shares`` the class shares of the tile (``class,
    class_name, predicted_pixels, predicted_share`` and, with a label,
    ``label_pixels, label_share``); ``rgb`` and ``prediction_rgba`` pictures
    of the tile for display.
    """

    lon: float
    lat: float
    nuts: str
    year: int
    stem: str
    x: float
    y: float
    cached: bool
    region_at_point: str | None
    row: int
    col: int
    predicted: int
    labelled: int | None
    shares: pd.DataFrame
    rgb: np.ndarray
    prediction_rgba: np.ndarray

    @property
    def predicted_name(self) -> str:
        """Name of the predicted class under the point."""
        return class_name(self.predicted) if self.predicted != NODATA else "No data (cloud, shadow or not predicted)"


def class_shares(mask: np.ndarray, label: np.ndarray | None = None) -> pd.DataFrame:
    """Pixels, area (km²) and share of each class in a tile's prediction (and label); shares of classified pixels."""
    predicted = np.bincount(np.asarray(mask, dtype=np.uint8).ravel(), minlength=256)[list(CLASS_IDS)]
    table = pd.DataFrame({"class": list(CLASS_IDS), "class_name": [CLASS_NAMES[i] for i in CLASS_IDS],
                          "predicted_pixels": predicted,
                          "predicted_km2": predicted * PIXEL_AREA_M2 / 1e6,
                          "predicted_share": predicted / predicted.sum() if predicted.sum() else np.nan})
    if label is not None:
        labelled = np.bincount(np.asarray(label, dtype=np.uint8).ravel(), minlength=256)[list(CLASS_IDS)]
        table["label_pixels"] = labelled
        table["label_share"] = labelled / labelled.sum() if labelled.sum() else np.nan
    return table


def lookup_point(
    lon: float,
    lat: float,
    region: Mapping[str, Any],
    label: np.ndarray | None = None,
    outlines: gpd.GeoDataFrame | None = None,
    root: str | None = None,
) -> PointLookup:
    """The tile of ``region`` under (``lon``, ``lat``) (WGS84 degrees), with its prediction and class shares.

    ``label`` is the region's label mosaic on the same grid (years with a
    label), ``outlines`` the NUTS3 outlines that say which region the point
    lies in (it may be another one than the region shown).

    Raises
    ------
    landcover.errors.PointOutsideTilesError
        When no tile of the region-year holds the point (the message names the nearest one).
    ValueError
        When the coordinates are not finite.
    """
    nuts, year = str(region["nuts"]), int(region["year"])
    match = find_tile_at(float(lon), float(lat), nuts, year, crs="EPSG:4326", root=root)
    entry = next(e for e in region["tiles"] if e["stem"] == match.stem)
    window = entry["window"]
    mask = np.asarray(region["mask"])[window.rows, window.cols]
    tile_label = None if label is None else np.asarray(label)[window.rows, window.cols]
    col_f, row_f = ~region["transform"] @ (match.x, match.y)
    row = int(min(max(int(np.floor(row_f)) - window.row, 0), window.height - 1))
    col = int(min(max(int(np.floor(col_f)) - window.col, 0), window.width - 1))
    try:
        found_region = nuts3_at(float(lon), float(lat), outlines, root=root) if outlines is not None else None
    except RegionNotFoundError:
        found_region = None
    image = read_tile(nuts, year, match.stem, bands=list(TRUE_COLOUR_BANDS), root=root)["array"]
    rgb = np.nan_to_num(percentile_stretch(np.moveaxis(np.asarray(image, dtype=np.float32), 0, -1)))
    return PointLookup(
        lon=float(lon), lat=float(lat), nuts=nuts, year=year, stem=match.stem, x=match.x, y=match.y,
        cached=bool(entry["cached"]), region_at_point=found_region, row=row, col=col,
        predicted=int(mask[row, col]), labelled=None if tile_label is None else int(tile_label[row, col]),
        shares=class_shares(mask, tile_label), rgb=rgb, prediction_rgba=class_rgba(mask),
    )

"""The reference side of the statistics: CLC+ labels and tile footprints on a region map's grid.

A region prediction (:func:`landcover.inference.predict_region`) is a mosaic on
the tiles' own grid (EPSG:3035, 10 m pixels). Agreement, change and area
estimation compare it pixel by pixel with the labels of the same tiles, so the
labels are laid out on exactly that grid here, and the footprint of the tiles
(where a tile exists at all) tells nodata inside the tiles (clouds, missing
labels) from the outside of the tiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from landcover.classes import NODATA
from landcover.data.labels import load_label
from landcover.data.paths import label_path, validate_year


def tile_footprint(region: Mapping[str, Any]) -> np.ndarray:
    """Boolean mosaic, True on every pixel that some tile of ``region`` covers.

    ``region`` is a :func:`~landcover.inference.predict_region` result (its
    ``mask`` gives the shape, its ``tiles`` the windows).
    """
    footprint = np.zeros(np.shape(region["mask"]), dtype=bool)
    for entry in region["tiles"]:
        window = entry["window"]
        footprint[window.rows, window.cols] = True
    return footprint


def label_mosaic(region: Mapping[str, Any], year: int | str, root: str | None = None) -> np.ndarray:
    """The CLC+ labels of ``year`` for the tiles of ``region``, on the region map's grid (uint8, 0 = nodata).

    Raises
    ------
    FileNotFoundError
        When a tile has no label for ``year`` (labels exist for 2018 and 2021 only);
        the message names the file.
    """
    year = validate_year(year)
    mosaic = np.full(np.shape(region["mask"]), NODATA, dtype=np.uint8)
    for entry in region["tiles"]:
        window = entry["window"]
        label = load_label(label_path(region["nuts"], year, entry["stem"], root))
        mosaic[window.rows, window.cols] = label
    return mosaic

"""Read Sentinel-2 tiles (14-band GeoTIFFs in EPSG:3035) with their georeferencing.

The pixel array travels with its CRS, bounds and affine transform, so a
prediction made on it can be turned back into map coordinates later.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from landcover.bands import BAND_NAMES, N_BANDS, band_index
from landcover.data.grid import TILE_CRS
from landcover.data.paths import IMAGES_DIR, image_path, resolve
from landcover.errors import DataFileError
from landcover.storage import open_raster


def _band_indexes(bands: Sequence[int | str] | int | str) -> list[int]:
    """1-based band indexes from indexes or names (``"B8A"`` -> 9)."""
    if isinstance(bands, (int, np.integer, str)):
        bands = [bands]
    indexes: list[int] = []
    for band in bands:
        if isinstance(band, str):
            indexes.append(band_index(band))
        elif isinstance(band, (int, np.integer)) and not isinstance(band, bool):
            if band < 1:
                raise ValueError(f"bands={list(bands)!r}: band indexes count from 1, as in rasterio")
            indexes.append(int(band))
        else:
            raise TypeError(f"bands={list(bands)!r}: each band is a 1-based index or a name such as 'B4'")
    if not indexes:
        raise ValueError("bands=[] asks for no band at all")
    return indexes


def get_satellite_image(
    path: str | os.PathLike[str],
    n_bands: int = N_BANDS,
    *,
    bands: Sequence[int | str] | None = None,
) -> dict[str, Any]:
    """Read a tile's first ``n_bands`` bands (or the listed ``bands``) with its georeferencing.

    ``path`` is a local path, an ``https://`` URL, an ``s3://`` path, or a path
    relative to the data root's ``images/`` folder (``"LU000/2024/4042000_2951690_0_637.tif"``).
    GDAL reads remote files with range requests; nothing is downloaded whole.

    Returns
    -------
    dict
        ``array`` (numpy, shape ``(bands, H, W)``, file dtype), ``crs``
        (rasterio CRS, EPSG:3035), ``bounds`` (left, bottom, right, top in
        metres), ``transform`` (affine, pixel -> EPSG:3035), ``path`` (where it
        was read) and ``band_names``.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    landcover.errors.DataFileError
        If the file is not a readable GeoTIFF, is not in EPSG:3035 or has too
        few bands (it is a ``ValueError``).
    """
    if bands is None:
        if isinstance(n_bands, bool) or not isinstance(n_bands, (int, np.integer)) or n_bands < 1:
            raise ValueError(f"n_bands={n_bands!r} must be a positive integer (the tiles hold {N_BANDS})")
        indexes = list(range(1, int(n_bands) + 1))
    else:
        indexes = _band_indexes(bands)
    location = resolve(path, IMAGES_DIR)
    with open_raster(location) as src:
        if src.crs is None or src.crs.to_epsg() != 3035:
            found = "no CRS" if src.crs is None else src.crs.to_string()
            raise DataFileError(f"{location} is in {found}; tiles must be in {TILE_CRS}")
        if max(indexes) > src.count:
            raise DataFileError(
                f"{location} has {src.count} band(s) but band {max(indexes)} was asked "
                f"({'n_bands=' + str(n_bands) if bands is None else 'bands=' + repr(list(bands))})"
            )
        try:
            array = src.read(indexes)
        except Exception as exc:  # truncated or corrupt pixel data
            raise DataFileError(f"cannot read the pixels of {location}: {exc}") from exc
        names = [BAND_NAMES[i - 1] if src.count == N_BANDS and i <= N_BANDS else f"band {i}" for i in indexes]
        return {
            "array": np.asarray(array),
            "crs": src.crs,
            "bounds": src.bounds,
            "transform": src.transform,
            "path": location,
            "band_names": names,
        }


def read_tile(
    nuts: str,
    year: int | str,
    stem: str,
    bands: Sequence[int | str] | None = None,
    root: str | None = None,
) -> dict[str, Any]:
    """Read tile ``images/{nuts}/{year}/{stem}.tif`` under the data root (all 14 bands by default).

    ``bands`` takes 1-based indexes or names, e.g. ``["B4", "B3", "B2"]`` for true colour.
    Same return value as :func:`get_satellite_image`.
    """
    return get_satellite_image(image_path(nuts, year, stem, root), bands=bands)

"""The tile index of a region and year (``filename2bbox.parquet``) and point look-ups.

The index maps every tile file name to its box ``[xmin, ymin, xmax, ymax]`` in
EPSG:3035 metres, so finding the tile under a point needs one small file rather
than a folder listing of hundreds of tiles.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landcover.config import is_remote
from landcover.data.paths import image_path, index_path, tile_stem, validate_nuts, validate_year
from landcover.errors import DataFileError, PointOutsideTilesError
from landcover.storage import open_binary

INDEX_CRS = "EPSG:3035"
_CACHE_SIZE = 32
_cache: OrderedDict[tuple[str, int, int], tuple[gpd.GeoDataFrame, np.ndarray]] = OrderedDict()
_cache_lock = threading.Lock()


def clear_tile_index_cache() -> None:
    """Forget the indexes read so far (they are kept in memory, keyed by location)."""
    with _cache_lock:
        _cache.clear()


def _cache_key(location: str) -> tuple[str, int, int]:
    if is_remote(location):
        return (location, 0, 0)
    try:
        stat = os.stat(location)
    except OSError:
        raise FileNotFoundError(location) from None
    return (location, stat.st_mtime_ns, stat.st_size)


def _read_index(location: str) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Read and check one index file; returns the frame and an (n, 4) float array of boxes.

    Results are cached; a local file is re-read when its size or time stamp changes.
    """
    key = _cache_key(location)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    with open_binary(location) as handle:
        try:
            frame = pd.read_parquet(handle)
        except Exception as exc:
            raise DataFileError(f"cannot read {location} as Parquet: {exc}") from exc
    missing = {"filename", "bbox"} - set(frame.columns)
    if missing:
        raise DataFileError(
            f"tile index {location} lacks column(s) {sorted(missing)}; found {list(frame.columns)}"
        )
    try:
        boxes = np.array([np.asarray(b, dtype=float) for b in frame["bbox"]], dtype=float).reshape(-1, 4)
    except (TypeError, ValueError) as exc:
        raise DataFileError(f"tile index {location}: 'bbox' must hold 4 numbers per row ({exc})") from exc
    if len(boxes) != len(frame):
        raise DataFileError(f"tile index {location}: 'bbox' must hold 4 numbers per row")
    if len(boxes) and not (np.all(boxes[:, 0] < boxes[:, 2]) and np.all(boxes[:, 1] < boxes[:, 3])):
        raise DataFileError(f"tile index {location}: some boxes are not [xmin, ymin, xmax, ymax]")
    index = gpd.GeoDataFrame(
        {"filename": frame["filename"].astype(str).to_numpy(), "bbox": [list(map(float, b)) for b in boxes]},
        geometry=shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]),
        crs=INDEX_CRS,
    )
    boxes.setflags(write=False)
    with _cache_lock:
        _cache[key] = (index, boxes)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return index, boxes


def _load(nuts: str, year: int | str, root: str | None) -> tuple[str, gpd.GeoDataFrame, np.ndarray]:
    location = index_path(nuts, year, root)
    try:
        index, boxes = _read_index(location)
    except FileNotFoundError:
        error = FileNotFoundError(
            f"no tile index for nuts={nuts!r}, year={year!r}: {location} does not exist "
            "(see landcover.data.list_regions() and available_years())"
        )
        raise error from None
    return location, index, boxes


def load_tile_index(nuts: str, year: int | str, root: str | None = None) -> gpd.GeoDataFrame:
    """The tiles of a region and year: columns ``filename``, ``bbox`` and box ``geometry`` (EPSG:3035)."""
    _, index, _ = _load(validate_nuts(nuts), validate_year(year), root)
    return index.copy()


@dataclass(frozen=True)
class TileMatch:
    """The tile found under a point."""

    nuts: str
    year: int
    filename: str  # e.g. "4042000_2951690_0_637.tif"
    bbox: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax in EPSG:3035 metres
    path: str  # full location of the image under the data root
    x: float  # the point in EPSG:3035 metres
    y: float
    candidates: tuple[str, ...]  # every tile whose closed box holds the point (edges are shared)

    @property
    def stem(self) -> str:
        """File name without ``.tif``: the key shared with the label file."""
        return tile_stem(self.filename)

    def __str__(self) -> str:
        return self.filename


@functools.lru_cache(maxsize=16)
def _transformer_to_3035(crs: str) -> Any:
    """A pyproj transformer to EPSG:3035 (``None`` when ``crs`` already is EPSG:3035)."""
    from pyproj import CRS, Transformer

    source = CRS.from_user_input(crs)
    if source.to_epsg() == 3035:
        return None
    return Transformer.from_crs(source, INDEX_CRS, always_xy=True)


def to_3035(x: float, y: float, crs: str = INDEX_CRS) -> tuple[float, float]:
    """Reproject one point to EPSG:3035 (for EPSG:4326 pass ``x=lon, y=lat``)."""
    transformer = _transformer_to_3035(str(crs))
    if transformer is None:
        return float(x), float(y)
    out_x, out_y = transformer.transform(float(x), float(y))
    return float(out_x), float(out_y)


def find_tile_at(
    x: float,
    y: float,
    nuts: str,
    year: int | str,
    crs: str = INDEX_CRS,
    root: str | None = None,
) -> TileMatch:
    """The tile of ``nuts``/``year`` that contains the point ``(x, y)``.

    Coordinates are in ``crs`` (EPSG:3035 metres by default; with
    ``crs="EPSG:4326"`` give longitude as ``x`` and latitude as ``y``). A point on
    an edge shared by two tiles goes to the tile on its east/north side (boxes are
    taken as ``[xmin, xmax) x [ymin, ymax)``, outer edges included). The test is
    one vectorised comparison over all boxes.

    Parameters
    ----------
    x, y : float
        The point, in ``crs`` (easting and northing, or longitude and latitude).
    nuts : str
        NUTS3 code of the region, e.g. ``"LU000"``.
    year : int or str
        Year of the tiles (2018, 2021 or 2024).
    crs : str
        CRS of ``x`` and ``y``.
    root : str, optional
        Data root; the active one (:func:`landcover.config.data_root`) by default.

    Returns
    -------
    TileMatch
        The tile holding the point.

    Raises
    ------
    landcover.errors.PointOutsideTilesError
        If no tile holds the point; the message names the nearest tile and
        its distance.
    """
    nuts = validate_nuts(nuts)
    year = validate_year(year)
    if not (math.isfinite(float(x)) and math.isfinite(float(y))):
        raise ValueError(f"point x={x!r}, y={y!r} must be finite numbers")
    px, py = to_3035(x, y, crs)
    location, index, boxes = _load(nuts, year, root)
    if len(boxes) == 0:
        raise PointOutsideTilesError(f"tile index {location} lists no tiles")
    xmin, ymin, xmax, ymax = boxes.T
    closed = (xmin <= px) & (px <= xmax) & (ymin <= py) & (py <= ymax)
    half_open = closed & (px < xmax) & (py < ymax)
    hits = np.flatnonzero(half_open)
    if hits.size == 0:
        hits = np.flatnonzero(closed)
    if hits.size == 0:
        dx = np.maximum(np.maximum(xmin - px, px - xmax), 0.0)
        dy = np.maximum(np.maximum(ymin - py, py - ymax), 0.0)
        distance = np.hypot(dx, dy)
        nearest = int(np.argmin(distance))
        name = str(index["filename"].iloc[nearest])
        given = f"x={x}, y={y} ({crs})" if str(crs) != INDEX_CRS else f"x={px:.1f}, y={py:.1f}"
        raise PointOutsideTilesError(
            f"point {given} is outside every tile of {nuts}/{year} ({len(boxes)} tiles in {location}); "
            f"the nearest tile, {name}, is {distance[nearest]:,.0f} m away "
            f"(EPSG:3035 x={px:.1f}, y={py:.1f})",
            nearest=name,
            distance_m=float(distance[nearest]),
        )
    chosen = int(hits[0])
    filename = str(index["filename"].iloc[chosen])
    return TileMatch(
        nuts=nuts,
        year=year,
        filename=filename,
        bbox=tuple(float(v) for v in boxes[chosen]),  # type: ignore[arg-type]
        path=image_path(nuts, year, filename, root),
        x=px,
        y=py,
        candidates=tuple(str(index["filename"].iloc[i]) for i in np.flatnonzero(closed)),
    )

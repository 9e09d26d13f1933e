"""The tiles a region download covers: the bucket's grid laid over a NUTS3 outline.

The grid itself (:class:`~landcover.data.grid.TileGrid`, names, bounds) is the
data layer's; here it is anchored on a region. For a new region the origin is
its bounding box snapped outward to whole 10 m; LU000 keeps the published
origin (``x0=4012000``, ``top=3016690``, 25 columns).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from landcover.data.grid import TILE_CRS, Tile, TileGrid, snap_origin
from landcover.data.paths import PIXEL_SIZE_M, TILE_SIZE_PX

__all__ = ["TILE_CRS", "Tile", "TileGrid", "region_grid", "snap_origin", "tiles_frame", "tiles_over"]


def region_grid(
    region: BaseGeometry,
    origin: tuple[float, float] | None = None,
    ncols: int | None = None,
    tile_px: int = TILE_SIZE_PX,
    resolution: float = PIXEL_SIZE_M,
) -> TileGrid:
    """The grid covering ``region`` (EPSG:3035 geometry).

    ``origin=(x0, top)`` fixes the anchor (default: :func:`snap_origin` of the
    region's bounds); it must lie left of and above the region. ``ncols`` fixes
    the row length used in tile ids (default: just enough columns to reach the
    region's right edge).
    """
    if region.is_empty:
        raise ValueError("the region geometry is empty")
    xmin, ymin, xmax, ymax = region.bounds
    x0, top = (
        snap_origin(region.bounds, resolution) if origin is None else (float(origin[0]), float(origin[1]))
    )
    if x0 > xmin or top < ymax:
        raise ValueError(
            f"origin=({x0:g}, {top:g}) must be left of and above the region, whose bounds are "
            f"({xmin:.0f}, {ymin:.0f}, {xmax:.0f}, {ymax:.0f})"
        )
    size = tile_px * resolution
    needed_cols = max(1, math.ceil((xmax - x0) / size))
    nrows = max(1, math.ceil((top - ymin) / size))
    if ncols is None:
        ncols = needed_cols
    elif ncols < needed_cols:
        raise ValueError(f"ncols={ncols} is too few: the region needs {needed_cols} columns from x0={x0:g}")
    return TileGrid(
        x0=x0, top=top, ncols=int(ncols), nrows=int(nrows), tile_px=tile_px, resolution=resolution
    )


def tiles_over(grid: TileGrid, region: BaseGeometry) -> list[Tile]:
    """Tiles of ``grid`` that share some area with ``region`` (touching edges do not count)."""
    candidates = grid.tiles()
    boxes = np.array([t.box for t in candidates], dtype=object)
    shapely.prepare(region)
    keep = shapely.intersects(region, boxes) & ~shapely.touches(region, boxes)
    return [tile for tile, hit in zip(candidates, keep, strict=True) if hit]


def tiles_frame(tiles: list[Tile]) -> gpd.GeoDataFrame:
    """Tiles as a GeoDataFrame (``filename``, ``id``, ``row``, ``col``, ``bbox``, geometry; EPSG:3035)."""
    return gpd.GeoDataFrame(
        {
            "filename": [t.stem + ".tif" for t in tiles],
            "id": [t.id for t in tiles],
            "row": [t.row for t in tiles],
            "col": [t.col for t in tiles],
            "bbox": [list(map(float, t.bounds)) for t in tiles],
        },
        geometry=[t.box for t in tiles],
        crs=TILE_CRS,
    )

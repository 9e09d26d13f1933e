"""The tiles a region download covers: the bucket's grid laid over a NUTS3 outline.

The grid itself (:class:`~landcover.data.grid.TileGrid`, names, bounds, and
:func:`~landcover.data.grid.region_grid` anchoring it on a region) is the data
layer's; here are the tiles that really meet the region, as a list or a table.
"""

from __future__ import annotations


import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from landcover.data.grid import TILE_CRS, Tile, TileGrid, region_grid, snap_origin

__all__ = ["TILE_CRS", "Tile", "TileGrid", "region_grid", "snap_origin", "tiles_frame", "tiles_over"]


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

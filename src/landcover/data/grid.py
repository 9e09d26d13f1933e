"""The bucket's tile grid: 2.5 km squares in EPSG:3035, numbered row by row from the top.

Tiles are 250 x 250 pixels of 10 m. A region's grid starts at an origin (left
edge ``x0``, top edge ``top``) and counts tiles row-major from the north-west
cell: ``id = row * ncols + col``. A tile is named ``{xmin}_{ymin}_{idx}_{id}``
after its lower-left corner, with ``idx = 0``. With ``x0=4012000``,
``top=3016690`` and 25 columns this reproduces the published LU000 tile names.

For a new region (:func:`region_grid`) the origin is its bounding box snapped
outward to whole 10 m. The synthetic-data generator and the region download script
both build tiles from this module, so their names and bounds cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from affine import Affine
from shapely.geometry.base import BaseGeometry

from landcover.data.paths import PIXEL_SIZE_M, TILE_SIZE_PX, format_tile_name

#: CRS of every tile: ETRS89-LAEA Europe, metres (equal-area, so pixel counts are areas).
TILE_CRS = "EPSG:3035"


@dataclass(frozen=True)
class Tile:
    """One tile of a grid: position, name and bounds (EPSG:3035 metres)."""

    row: int
    col: int
    id: int
    xmin: float
    ymin: float
    size_m: float
    idx: int = 0

    @property
    def xmax(self) -> float:
        """East edge, EPSG:3035 metres."""
        return self.xmin + self.size_m

    @property
    def ymax(self) -> float:
        """North edge, EPSG:3035 metres."""
        return self.ymin + self.size_m

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)``."""
        return (self.xmin, self.ymin, self.xmax, self.ymax)

    @property
    def stem(self) -> str:
        """File name without extension, ``{xmin}_{ymin}_{idx}_{id}``."""
        return format_tile_name(self.xmin, self.ymin, self.idx, self.id)

    @property
    def box(self) -> BaseGeometry:
        """The tile's square as a shapely polygon, EPSG:3035 metres."""
        return shapely.box(*self.bounds)

    def transform(self, resolution: float = PIXEL_SIZE_M) -> Affine:
        """Pixel-to-EPSG:3035 transform of the tile (north up)."""
        return Affine(resolution, 0.0, self.xmin, 0.0, -resolution, self.ymax)


@dataclass(frozen=True)
class TileGrid:
    """A grid of square tiles anchored at ``(x0, top)``, ``ncols`` wide and ``nrows`` high."""

    x0: float
    top: float
    ncols: int
    nrows: int
    tile_px: int = TILE_SIZE_PX
    resolution: float = PIXEL_SIZE_M

    def __post_init__(self) -> None:
        if self.ncols < 1 or self.nrows < 1:
            raise ValueError(f"a grid needs at least one row and column (got {self.nrows} x {self.ncols})")
        if self.tile_px < 1 or self.resolution <= 0:
            raise ValueError(f"tile_px={self.tile_px} and resolution={self.resolution} must be positive")

    @property
    def tile_size_m(self) -> float:
        """Side of one tile in metres (pixels times resolution: 2,500 m by default)."""
        return self.tile_px * self.resolution

    def tile(self, row: int, col: int) -> Tile:
        """The tile at ``row`` (from the top) and ``col`` (from the left)."""
        self._check(row, col)
        size = self.tile_size_m
        return Tile(
            row=row,
            col=col,
            id=row * self.ncols + col,
            xmin=self.x0 + col * size,
            ymin=self.top - (row + 1) * size,
            size_m=size,
        )

    def tiles(self) -> list[Tile]:
        """Every tile, row-major from the top-left."""
        return [self.tile(r, c) for r in range(self.nrows) for c in range(self.ncols)]

    def tile_id(self, row: int, col: int) -> int:
        """Row-major id counted from the north-west cell."""
        return self.tile(row, col).id

    def row_col(self, tile_id: int) -> tuple[int, int]:
        """Inverse of :meth:`tile_id`."""
        row, col = divmod(int(tile_id), self.ncols)
        self._check(row, col)
        return row, col

    def bounds(self, row: int, col: int) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of a cell in EPSG:3035 metres."""
        return self.tile(row, col).bounds

    def cell_at(self, x: float, y: float) -> tuple[int, int]:
        """``(row, col)`` of the cell holding an EPSG:3035 point."""
        row = int(math.floor((self.top - y) / self.tile_size_m))
        col = int(math.floor((x - self.x0) / self.tile_size_m))
        self._check(row, col)
        return row, col

    def _check(self, row: int, col: int) -> None:
        if not (0 <= row < self.nrows and 0 <= col < self.ncols):
            raise ValueError(f"cell (row={row}, col={col}) is outside the {self.nrows} x {self.ncols} grid")


def snap_origin(bounds: tuple[float, float, float, float], step: float = PIXEL_SIZE_M) -> tuple[float, float]:
    """``(x0, top)``: the bounding box's left and top edges snapped outward to whole ``step``."""
    xmin, _, _, ymax = bounds
    return (math.floor(xmin / step) * step, math.ceil(ymax / step) * step)


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

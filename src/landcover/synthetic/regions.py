"""The synthetic regions: real NUTS3 ids, approximate outlines and their tile grids.

Tiles follow the bucket's convention (:class:`~landcover.data.grid.TileGrid`):
a grid of 2,500 m cells (250 px of 10 m) in EPSG:3035, numbered row-major from
the top (north) row, named ``{xmin}_{ymin}_{idx}_{id}`` with ``idx`` always 0. The LU000 grid is the real
one (it reproduces the tile ids the original book uses); for the other regions
the grid starts at the corner of the outline's bounding box.

Outlines are hand-written lon/lat vertex lists (EPSG:4326): recognisable shapes,
not survey boundaries. Areas are within a few per cent of the official ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pyproj import Transformer
from shapely import Polygon, box, transform

from landcover.data.grid import TileGrid, region_grid
from landcover.data.paths import PIXEL_SIZE_M, TILE_SIZE_PX, format_tile_name

#: Years of the synthetic data, and the years that come with labels (as in the bucket).
YEARS: tuple[int, ...] = (2018, 2021, 2024)
LABEL_YEARS: tuple[int, ...] = (2018, 2021)

#: Tile geometry, from the data contract: 250 px of 10 m.
PIXEL_M = PIXEL_SIZE_M
TILE_PX = TILE_SIZE_PX

_TO_3035 = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)
_TO_4326 = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)


def lonlat_to_3035(lon: float, lat: float) -> tuple[float, float]:
    """EPSG:4326 degrees to EPSG:3035 metres (x, y)."""
    x, y = _TO_3035.transform(lon, lat)
    return float(x), float(y)


def xy_to_lonlat(x: float, y: float) -> tuple[float, float]:
    """EPSG:3035 metres to EPSG:4326 degrees (lon, lat)."""
    lon, lat = _TO_4326.transform(x, y)
    return float(lon), float(lat)


@dataclass(frozen=True)
class Window:
    """A block of grid cells to simulate: rows ``row0 .. row1 - 1``, cols ``col0 .. col1 - 1``."""

    row0: int
    row1: int
    col0: int
    col1: int
    name: str = "all"


@dataclass(frozen=True)
class Cell:
    """One tile location of the synthetic data (the same for every year)."""

    nuts_id: str
    row: int
    col: int
    tile_id: int
    bounds: tuple[float, float, float, float]
    window: str

    @property
    def stem(self) -> str:
        """File stem ``{xmin}_{ymin}_0_{id}`` as in the bucket."""
        return format_tile_name(self.bounds[0], self.bounds[1], 0, self.tile_id)


@dataclass(frozen=True)
class SyntheticRegion:
    """A NUTS3 region of the synthetic data: identity, outline, grid and the simulated windows."""

    nuts_id: str
    name: str
    country: str
    outline_lonlat: tuple[tuple[float, float], ...]
    grid: TileGrid
    windows: tuple[Window, ...] | None  # None: every cell of the grid that meets the outline

    @cached_property
    def outline(self) -> Polygon:
        """The outline as a polygon in EPSG:3035 metres."""
        return transform(Polygon(self.outline_lonlat), _project_to_3035)

    @cached_property
    def cells(self) -> tuple[Cell, ...]:
        """The simulated cells that intersect the outline, in tile-id order."""
        windows = self.windows or (Window(0, self.grid.nrows, 0, self.grid.ncols),)
        found: dict[int, Cell] = {}
        for window in windows:
            for row in range(window.row0, window.row1):
                for col in range(window.col0, window.col1):
                    bounds = self.grid.bounds(row, col)
                    if box(*bounds).intersects(self.outline):
                        tile_id = self.grid.tile_id(row, col)
                        found[tile_id] = Cell(self.nuts_id, row, col, tile_id, bounds, window.name)
        return tuple(found[k] for k in sorted(found))


def _project_to_3035(lonlat: np.ndarray) -> np.ndarray:
    """(N, 2) lon/lat array to (N, 2) EPSG:3035 array (shapely.transform callback)."""
    x, y = _TO_3035.transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def grid_for_outline(outline_lonlat: tuple[tuple[float, float], ...]) -> TileGrid:
    """The grid the download script would lay over this outline (lon/lat degrees, EPSG:4326).

    It is anchored at the corner of the outline's EPSG:3035 bounding box,
    snapped outward to 10 m (:func:`~landcover.data.grid.region_grid`).
    """
    return region_grid(transform(Polygon(outline_lonlat), _project_to_3035))


# --- Outlines (lon, lat), clockwise from the north ------------------------------------

_LU000 = (
    (6.0249, 50.1790), (6.0700, 50.1650), (6.1100, 50.1550), (6.1350, 50.1280), (6.1300, 50.0500),
    (6.1600, 49.9950), (6.2100, 49.9350), (6.2900, 49.8750), (6.3600, 49.8500), (6.4300, 49.8100),
    (6.5000, 49.8050), (6.5150, 49.7800), (6.5000, 49.7150), (6.4450, 49.6800), (6.4200, 49.6300),
    (6.3700, 49.5450), (6.3670, 49.4700), (6.2800, 49.5000), (6.1900, 49.5050), (6.1000, 49.4650),
    (6.0300, 49.4530), (5.9800, 49.4900), (5.9000, 49.5050), (5.8400, 49.5450), (5.8180, 49.5460),
    (5.8900, 49.6400), (5.8800, 49.6900), (5.8700, 49.7300), (5.8100, 49.7700), (5.7600, 49.8000),
    (5.7350, 49.8400), (5.7500, 49.8700), (5.7700, 49.9800), (5.8300, 50.0600), (5.8800, 50.1100),
    (5.9600, 50.1700),
)  # fmt: skip
_BE100 = (
    (4.3850, 50.9090), (4.4075, 50.9006), (4.4281, 50.8894), (4.4402, 50.8772), (4.4383, 50.8632),
    (4.4636, 50.8566), (4.4748, 50.8445), (4.4683, 50.8286), (4.4739, 50.8164), (4.4542, 50.8024),
    (4.4496, 50.7884), (4.4355, 50.7790), (4.4168, 50.7724), (4.3934, 50.7743), (4.3794, 50.7678),
    (4.3514, 50.7743), (4.3280, 50.7837), (4.3093, 50.7977), (4.2952, 50.8071), (4.2625, 50.8164),
    (4.2531, 50.8258), (4.2625, 50.8445), (4.2840, 50.8632), (4.3046, 50.8819), (4.3326, 50.8959),
    (4.3560, 50.9053), (4.3701, 50.9100),
)  # fmt: skip
_AT332 = (
    (11.2958, 47.2826), (11.3115, 47.3015), (11.3326, 47.3141), (11.3588, 47.3205), (11.3862, 47.3184),
    (11.4114, 47.3173), (11.4324, 47.3099), (11.4482, 47.3015), (11.4556, 47.2889), (11.4513, 47.2752),
    (11.4587, 47.2616), (11.4429, 47.2490), (11.4345, 47.2300), (11.4272, 47.2122), (11.4061, 47.2038),
    (11.3851, 47.2090), (11.3714, 47.2227), (11.3588, 47.2364), (11.3431, 47.2469), (11.3273, 47.2511),
    (11.3063, 47.2574), (11.2958, 47.2679),
)  # fmt: skip
_PT16I = (
    (-8.47, 39.78), (-8.36, 39.80), (-8.27, 39.78), (-8.17, 39.88), (-8.05, 39.92), (-7.97, 39.86),
    (-7.93, 39.74), (-7.86, 39.65), (-7.84, 39.55), (-7.90, 39.47), (-7.98, 39.42), (-8.08, 39.36),
    (-8.20, 39.33), (-8.30, 39.38), (-8.38, 39.43), (-8.47, 39.42), (-8.58, 39.40), (-8.70, 39.42),
    (-8.75, 39.48), (-8.72, 39.56), (-8.74, 39.65), (-8.68, 39.72), (-8.58, 39.78),
)  # fmt: skip

#: The real LU000 grid of the bucket (reproduces tiles 637, 402 and 354 of the original book).
LU000_GRID = TileGrid(x0=4012000.0, top=3016690.0, ncols=25, nrows=34)

#: The synthetic data, region by region. ~120 locations x 3 years keeps generation under
#: 90 s and 400 MB: LU000 is simulated in two windows (around Luxembourg City,
#: holding tile 637, and in the west, holding 354 and 402); BE100 and AT332 are
#: complete (every cell meeting the outline); PT16I is a 4 x 4 window at Tomar.
SYNTHETIC_REGIONS: tuple[SyntheticRegion, ...] = (
    SyntheticRegion(
        "LU000", "Luxembourg", "LU", _LU000, LU000_GRID,
        windows=(Window(24, 29, 9, 14, "city"), Window(14, 18, 2, 6, "west")),
    ),
    SyntheticRegion("BE100", "Arr. de Bruxelles-Capitale/Arr. Brussel-Hoofdstad", "BE", _BE100,
                 grid_for_outline(_BE100), windows=None),
    SyntheticRegion("AT332", "Innsbruck", "AT", _AT332, grid_for_outline(_AT332), windows=None),
    SyntheticRegion("PT16I", "Médio Tejo", "PT", _PT16I, grid_for_outline(_PT16I),
                 windows=(Window(9, 13, 11, 15, "tomar"),)),
)  # fmt: skip

#: A tiny configuration for tests: four LU000 cells around tile 637.
SMALL_REGIONS: tuple[SyntheticRegion, ...] = (
    SyntheticRegion("LU000", "Luxembourg", "LU", _LU000, LU000_GRID, windows=(Window(25, 27, 11, 13, "city"),)),
)

#: The region whose yearly folders get a ``mosaic.vrt`` in the full synthetic data.
MOSAIC_REGIONS: tuple[str, ...] = ("BE100",)


def region_by_id(nuts_id: str, regions: tuple[SyntheticRegion, ...] = SYNTHETIC_REGIONS) -> SyntheticRegion:
    """The synthetic region with this NUTS3 id."""
    for region in regions:
        if region.nuts_id == nuts_id:
            return region
    known = ", ".join(r.nuts_id for r in regions)
    raise ValueError(f"unknown synthetic region {nuts_id!r}; the synthetic data holds {known}")

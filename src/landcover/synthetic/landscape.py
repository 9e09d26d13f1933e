"""The land-cover simulator: from a recipe to 10 m maps of one simulated window, for each year.

The window (its tiles plus a halo) is built in layers, each a job a reader can
picture: water (meandering rivers, lakes), roads and runways, towns (blocks
separated by streets, each block a mix of roofs, yards and gardens), forests
(smooth-noise blobs cut into stands, needle-leaved or broadleaved), farmland
(elongated Voronoi parcels: arable, grassland, a few shrubs), hedges and
riverside trees, and, in the Alps, an elevation model with the tree line, dwarf
pine, alpine grass, lichens and rock. Between years, towns grow into fields
(construction sites first), stands are clear-cut and regrow, and crops rotate.

The result, per year, is a label map (CLC+ classes 1..10) and a scene: two
materials per pixel with a mixing fraction, a brightness and a SWIR-moisture
factor, which :mod:`landcover.synthetic.spectra` turns into reflectance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rasterio.features import rasterize
from rasterio.transform import from_origin
from scipy import ndimage
from scipy.special import ndtr, ndtri
from shapely import LineString, Polygon, affinity
from shapely.geometry.base import BaseGeometry

from landcover.synthetic.clouds import cloud_fields
from landcover.synthetic.noise import (
    boundaries,
    fractal_noise,
    jittered_voronoi,
    rng_for,
    smooth_noise,
    smoothstep,
    strip_parcels,
)
from landcover.synthetic.regions import PIXEL_M, YEARS, Cell, SyntheticRegion, lonlat_to_3035
from landcover.synthetic.scenarios import Blob, Line, Recipe, Runway
from landcover.synthetic.spectra import MATERIAL_ID as M

#: Extra pixels simulated around a window, so the point-spread blur has real neighbours.
HALO = 12
#: The year whose images carry clouds.
CLOUD_YEAR = 2024

# Cover codes: finer than the classes; each has a label and a way to draw its spectrum.
(
    WATER, ROAD, BUILT, GARDEN_GRASS, GARDEN_TREE, NEEDLE, BROAD, EVERGREEN, SHRUB, GRASS, ARABLE,
    LICHEN, ROCK, SOIL, BURNT, CUT_BARE, CUT_GRASS, RUNWAY, HEDGE, CONSTRUCTION, YOUNG, MOTORWAY,
    BUILT_DARK, BUILT_PAVED,
) = range(1, 25)  # fmt: skip

#: CLC+ class of each cover code.
COVER_CLASS = {
    WATER: 10, ROAD: 1, MOTORWAY: 1, BUILT: 1, BUILT_DARK: 1, BUILT_PAVED: 1, RUNWAY: 1,
    GARDEN_GRASS: 6, GARDEN_TREE: 3, NEEDLE: 2,
    BROAD: 3, EVERGREEN: 4, SHRUB: 5, GRASS: 6, ARABLE: 7, LICHEN: 8, ROCK: 9, SOIL: 9, BURNT: 9,
    CUT_BARE: 9, CUT_GRASS: 6, HEDGE: 5, CONSTRUCTION: 9, YOUNG: 5,
}  # fmt: skip
_LABEL_LUT = np.zeros(256, np.uint8)
for _code, _cls in COVER_CLASS.items():
    _LABEL_LUT[_code] = _cls


@dataclass
class YearScene:
    """One year of a window: labels and the per-pixel description of the surface."""

    label: np.ndarray  # uint8 CLC+ class
    mat1: np.ndarray  # uint8 material id
    mat2: np.ndarray  # uint8 material id
    frac2: np.ndarray  # float16, share of mat2
    bright: np.ndarray  # float16, brightness factor
    swir: np.ndarray  # float16, SWIR moisture factor


@dataclass
class WindowScenes:
    """All years of one simulated window, on a grid with a halo of :data:`HALO` pixels."""

    nuts_id: str
    window: str
    x0: float  # west edge of the halo grid, EPSG:3035 m
    top: float  # north edge of the halo grid
    years: dict[int, YearScene]
    cloud: np.ndarray | None  # float16 opacity for CLOUD_YEAR
    shadow: np.ndarray | None

    def offset(self, cell: Cell) -> tuple[int, int]:
        """(row, col) of a cell's north-west pixel in the halo grid."""
        col = int(round((cell.bounds[0] - self.x0) / PIXEL_M))
        row = int(round((self.top - cell.bounds[3]) / PIXEL_M))
        return row, col


# --- geometry helpers ------------------------------------------------------------------


class _Frame:
    """Pixel grid of a window (with halo) and conversions from lon/lat."""

    def __init__(self, cells: list[Cell]) -> None:
        xmin = min(c.bounds[0] for c in cells) - HALO * PIXEL_M
        ymax = max(c.bounds[3] for c in cells) + HALO * PIXEL_M
        xmax = max(c.bounds[2] for c in cells) + HALO * PIXEL_M
        ymin = min(c.bounds[1] for c in cells) - HALO * PIXEL_M
        self.x0, self.top = xmin, ymax
        self.shape = (int(round((ymax - ymin) / PIXEL_M)), int(round((xmax - xmin) / PIXEL_M)))
        self.transform = from_origin(xmin, ymax, PIXEL_M, PIXEL_M)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return lonlat_to_3035(lon, lat)

    def rc(self, lon: float, lat: float) -> tuple[float, float]:
        """Fractional (row, col) of a lon/lat point (pixel centres at .0)."""
        x, y = self.xy(lon, lat)
        return (self.top - y) / PIXEL_M - 0.5, (x - self.x0) / PIXEL_M - 0.5

    def burn(self, shapes: list[tuple[BaseGeometry, int]], dtype: npt.DTypeLike = np.uint8) -> np.ndarray:
        """Rasterize (geometry, value) pairs; later shapes win."""
        shapes = [(g, v) for g, v in shapes if g is not None and not g.is_empty]
        if not shapes:
            return np.zeros(self.shape, dtype)
        return rasterize(shapes, out_shape=self.shape, transform=self.transform, fill=0, dtype=dtype)


def _meander(frame: _Frame, line: Line, rng: np.random.Generator) -> LineString:
    """The path of a river or road in EPSG:3035, with a sideways wiggle of ``meander_m``."""
    base = LineString([frame.xy(lon, lat) for lon, lat in line.path])
    if line.meander_m <= 0:
        return base
    step = 20.0
    n = max(2, int(base.length / step))
    dist = np.linspace(0, base.length, n)
    pts = np.array([base.interpolate(d).coords[0] for d in dist])
    tangent = np.gradient(pts, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-9
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    wave = np.zeros(n)
    for _ in range(4):
        wavelength = rng.uniform(max(250.0, 4 * line.width_m), max(900.0, 10 * line.width_m))
        wave += rng.uniform(0.4, 1.0) * np.sin(2 * np.pi * dist / wavelength + rng.uniform(0, 2 * np.pi))
    wave *= line.meander_m / (np.abs(wave).max() + 1e-9)
    wave *= np.clip(np.minimum(dist, dist[-1] - dist) / 300.0, 0, 1)  # ends stay on the drawn path
    return LineString(pts + normal * wave[:, None])


def _blob_polygon(frame: _Frame, blob: Blob, rng: np.random.Generator) -> Polygon:
    """An irregular ellipse of about ``radius_m`` around the blob's centre (EPSG:3035)."""
    cx, cy = frame.xy(blob.lon, blob.lat)
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    radius = np.ones_like(angles)
    for k in (2, 3, 5, 7):
        radius += rng.uniform(0.03, 0.16) / (k / 2) * np.sin(k * angles + rng.uniform(0, 2 * np.pi))
    x = blob.radius_m * blob.elongation**0.5 * radius * np.cos(angles)
    y = blob.radius_m / blob.elongation**0.5 * radius * np.sin(angles)
    poly = Polygon(np.column_stack([x, y]))
    poly = affinity.rotate(poly, -blob.angle_deg, origin=(0, 0))
    return affinity.translate(poly, cx, cy)


def _runway_polygons(frame: _Frame, runway: Runway) -> tuple[Polygon, Polygon]:
    """Runway and surrounding airfield rectangles (EPSG:3035)."""
    cx, cy = frame.xy(runway.lon, runway.lat)
    strip = Polygon(
        [
            (-runway.length_m / 2, -runway.width_m / 2),
            (runway.length_m / 2, -runway.width_m / 2),
            (runway.length_m / 2, runway.width_m / 2),
            (-runway.length_m / 2, runway.width_m / 2),
        ]
    )
    field = affinity.scale(strip, (runway.length_m + 500) / runway.length_m, 420 / runway.width_m)
    rotation = 90 - runway.heading_deg  # heading clockwise from north -> angle from east
    return tuple(
        affinity.translate(affinity.rotate(p, rotation, origin=(0, 0)), cx, cy) for p in (strip, field)
    )


def _per_unit_mean(values: np.ndarray, units: np.ndarray, n_units: int) -> np.ndarray:
    """Mean of ``values`` over each unit id (0 where a unit has no pixel)."""
    total = np.bincount(units.ravel(), weights=values.ravel().astype(np.float64), minlength=n_units)
    count = np.bincount(units.ravel(), minlength=n_units)
    return (total / np.maximum(count, 1)).astype(np.float32)


# --- the simulator ---------------------------------------------------------------------


def simulate_window(region: SyntheticRegion, window: str, cells: list[Cell], recipe: Recipe) -> WindowScenes:
    """Simulate every year of one simulated window (deterministic for a given seed)."""
    frame = _Frame(cells)
    rng = rng_for("landscape", region.nuts_id, window)
    layers = _static_layers(frame, recipe, rng)
    covers = _covers_by_year(frame, recipe, layers, rng)
    years = {
        year: _scene(
            frame, recipe, layers, covers[year], year, rng_for("scene", region.nuts_id, window, year)
        )
        for year in YEARS
    }
    cloud = shadow = None
    if CLOUD_YEAR in YEARS:
        opacity, shade = cloud_fields(rng_for("clouds", region.nuts_id, window), frame.shape, len(cells))
        cloud, shadow = opacity.astype(np.float16), shade.astype(np.float16)
    return WindowScenes(region.nuts_id, window, frame.x0, frame.top, years, cloud, shadow)


def _static_layers(frame: _Frame, recipe: Recipe, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Everything that does not change between years (geometry, units, fields).

    The steps below draw from one generator in turn, so their order is part of
    the output: reordering them (or a draw inside one) changes every generated byte.
    """
    relief = _relief(frame, recipe, rng)
    rivers = [(_meander(frame, line, rng), line) for line in recipe.rivers]
    blobs = [(blob, _blob_polygon(frame, blob, rng)) for blob in recipe.blobs]
    water = _water(frame, rivers, blobs, rng)
    transport = _transport(frame, recipe, rng)
    zones = _zones(frame, blobs)
    town = _town(frame, recipe, rng, relief, water, transport, zones)
    forest = _forest(frame, recipe, rng, relief, water, transport, zones, town)
    stands = _stands(frame, recipe, rng, relief, zones)
    fields = _fields(frame, recipe, rng, relief, town)
    cover = _base_cover(frame, rng, relief, water, transport, zones, town, forest, stands, fields)

    units, woods = _units(cover, town, stands, fields)

    layers: dict[str, np.ndarray] = {"illumination": relief.illumination, "turbidity": water.turbidity}
    if forest.treeline is not None:
        layers["treeline"] = forest.treeline
    layers.update(
        cover=cover, units=units, parcels=fields.ids, stands=stands.ids, blocks=town.blocks,
        water=water.mask, town=town.mask, burnt=zones.burnt & ~water.mask, forest=woods,
        parcel_urban=fields.urban,
        n_units=np.array(fields.count + stands.count + town.n_blocks),
        n_parcels=np.array(fields.count),
        n_stands=np.array(stands.count),
    )  # fmt: skip
    layers.update(_pixel_fields(rng, frame.shape))
    return layers


@dataclass
class _Relief:
    """Terrain of a window: elevation (m) and slope (degrees) in the Alps, None elsewhere."""

    elevation: np.ndarray | None
    slope: np.ndarray | None
    illumination: np.ndarray  # float32 factor on brightness, 1 on flat land


@dataclass
class _Water:
    """Rivers and lakes burnt into the grid, and the riverside trees along them."""

    mask: np.ndarray  # bool
    turbidity: np.ndarray  # float32, 0 outside water
    riparian: np.ndarray  # bool: trees along rivers


@dataclass
class _Transport:
    """Roads (1 road, 2 motorway), runways and the grass of their airfields."""

    roads: np.ndarray  # uint8 0, 1 or 2
    runway: np.ndarray  # bool
    airfield: np.ndarray  # bool


@dataclass
class _Zones:
    """Masks of the recipe's named blobs other than lakes (parks, farmland, forests, quarries, burns)."""

    park: np.ndarray
    farmland: np.ndarray
    forced: dict[str, np.ndarray]  # named forests by kind: broadleaf, needle, evergreen
    quarry: np.ndarray
    burnt: np.ndarray

    def named_forest(self) -> np.ndarray:
        """Where any named forest lies."""
        named = np.zeros(self.park.shape, bool)
        for mask in self.forced.values():
            named |= mask
        return named


@dataclass
class _TownLayout:
    """Towns: how built-up each pixel is, where the town is, its blocks and streets."""

    urban: np.ndarray  # float32 0..1
    mask: np.ndarray  # bool
    blocks: np.ndarray  # block id per pixel
    n_blocks: int
    block_urban: np.ndarray  # mean urban intensity per block
    streets: np.ndarray  # bool


@dataclass
class _ForestLayout:
    """Where forest grows, and the tree line (m, Alps only)."""

    mask: np.ndarray  # bool
    treeline: np.ndarray | None


@dataclass
class _Stands:
    """Forest stands: an id per pixel and a cover code (NEEDLE, BROAD or EVERGREEN) per stand."""

    ids: np.ndarray
    count: int
    kind: np.ndarray


@dataclass
class _Fields:
    """Farmland parcels: an id per pixel, a cover code per parcel, and how urban each parcel is."""

    ids: np.ndarray
    count: int
    kind: np.ndarray
    urban: np.ndarray  # mean urban intensity per parcel


def _relief(frame: _Frame, recipe: Recipe, rng: np.random.Generator) -> _Relief:
    """Elevation and illumination of the Alps; elsewhere flat land lit evenly."""
    if recipe.mountains:
        return _Relief(*_terrain(frame, recipe, rng))
    return _Relief(None, None, np.ones(frame.shape, np.float32))


def _water(
    frame: _Frame,
    rivers: list[tuple[LineString, Line]],
    blobs: list[tuple[Blob, Polygon]],
    rng: np.random.Generator,
) -> _Water:
    """Rivers (with their turbidity) and lakes, and riverside trees where the recipe asks for them."""
    water_shapes, turbidity_of = [], [0.0]
    for i, (geom, line) in enumerate(rivers, start=1):
        water_shapes.append((geom.buffer(line.width_m / 2, cap_style="flat"), i))
        turbidity_of.append(line.turbidity)
    for blob, poly in blobs:
        if blob.kind == "lake":
            water_shapes.append((poly, len(turbidity_of)))
            turbidity_of.append(0.12)
    water_id = frame.burn(water_shapes)
    water = water_id > 0
    riparian = np.zeros(frame.shape, bool)
    for i, (_, line) in enumerate(rivers, start=1):
        if line.riparian > 0:
            near = ndimage.binary_dilation(water_id == i, iterations=2) & ~water
            riparian |= near & (smooth_noise(rng, frame.shape, 6) < ndtr_inv(line.riparian))
    return _Water(water, np.asarray(turbidity_of, np.float32)[water_id], riparian)


def _transport(frame: _Frame, recipe: Recipe, rng: np.random.Generator) -> _Transport:
    """Roads and runways (motorways, 25 m wide or more, are kept apart for their spectra)."""
    road_shapes = [(_meander(frame, line, rng).buffer(line.width_m / 2, cap_style="flat"),
                    2 if line.width_m >= 25 else 1) for line in recipe.roads]  # fmt: skip
    roads = frame.burn(road_shapes)
    runway = np.zeros(frame.shape, bool)
    airfield = np.zeros(frame.shape, bool)
    for rw in recipe.runways:
        strip, field = _runway_polygons(frame, rw)
        runway |= frame.burn([(strip, 1)]) > 0
        airfield |= frame.burn([(field, 1)]) > 0
    return _Transport(roads, runway, airfield)


def _zones(frame: _Frame, blobs: list[tuple[Blob, Polygon]]) -> _Zones:
    """Masks of the named blobs, by kind (lakes are water, see :func:`_water`)."""

    def blob_mask(kind: str) -> np.ndarray:
        polys = [(poly, 1) for blob, poly in blobs if blob.kind == kind]
        return frame.burn(polys) > 0 if polys else np.zeros(frame.shape, bool)

    return _Zones(
        park=blob_mask("park"),
        farmland=blob_mask("farmland"),
        forced={kind: blob_mask(kind) for kind in ("broadleaf_forest", "needle_forest", "evergreen_forest")},
        quarry=blob_mask("quarry"),
        burnt=blob_mask("burnt"),
    )


def _town(
    frame: _Frame,
    recipe: Recipe,
    rng: np.random.Generator,
    relief: _Relief,
    water: _Water,
    transport: _Transport,
    zones: _Zones,
) -> _TownLayout:
    """Towns: urban intensity (damped on farmland, airfields, named forests and steep slopes), blocks, streets."""
    urban = _urban_intensity(frame, recipe, rng)
    urban[zones.farmland | transport.airfield] *= 0.15
    for mask in zones.forced.values():
        urban[mask] *= 0.1
    if relief.slope is not None:
        urban *= 1.0 - smoothstep(8.0, 16.0, relief.slope)  # no city on steep slopes
    town = (urban > 0.22) & ~water.mask
    spacing = recipe.block_m / PIXEL_M
    blocks = jittered_voronoi(
        rng, frame.shape, spacing * 1.15, spacing * 0.85, rng.uniform(0, 90), merge_prob=0.15
    )
    n_blocks = int(blocks.max()) + 1
    block_urban = _per_unit_mean(urban, blocks, n_blocks)
    streets = boundaries(blocks) & town
    return _TownLayout(urban, town, blocks, n_blocks, block_urban, streets)


def _forest(
    frame: _Frame,
    recipe: Recipe,
    rng: np.random.Generator,
    relief: _Relief,
    water: _Water,
    transport: _Transport,
    zones: _Zones,
    town: _TownLayout,
) -> _ForestLayout:
    """Forest: the highest ``forest_share`` of a smooth-noise field over open land, plus the named forests.

    In the Alps the field is lowered on the valley floor, raised on the slopes
    and cut at the tree line.
    """
    shape = frame.shape
    field = fractal_noise(rng, shape, 170, octaves=4, gain=0.55)
    for mask in zones.forced.values():
        field += 2.2 * ndimage.uniform_filter(mask.astype(np.float32), 15)
    field -= 3.0 * ndimage.uniform_filter((zones.farmland | transport.airfield).astype(np.float32), 9)
    open_land = ~(town.mask | water.mask | zones.park | (transport.roads > 0) | transport.runway)
    treeline = None
    elevation = relief.elevation
    if elevation is not None:
        treeline = 1750 + 90 * smooth_noise(rng, shape, 40)
        field -= 3.0 * (1 - smoothstep(610, 700, elevation))  # valley floor: farms and town
        field += 1.2 * smoothstep(700, 900, elevation) * (1 - smoothstep(treeline - 150, treeline, elevation))
        field[elevation > treeline] = -9
    named = zones.named_forest()
    threshold = np.quantile(field[open_land], 1 - recipe.forest_share) if open_land.any() else 0.0
    forest = open_land & ((field > threshold) | (named & (smooth_noise(rng, shape, 8) > -1.6)))
    return _ForestLayout(forest, treeline)


def _stands(
    frame: _Frame, recipe: Recipe, rng: np.random.Generator, relief: _Relief, zones: _Zones
) -> _Stands:
    """Forest stands and their type: the recipe's shares, nudged by the named forests and, in the Alps, by height."""
    shape = frame.shape
    stands = jittered_voronoi(rng, shape, 22, 15, rng.uniform(0, 180), merge_prob=0.3)
    n_stands = int(stands.max()) + 1
    stand_zone = _per_unit_mean(smooth_noise(rng, shape, 90), stands, n_stands)
    p_needle = np.clip(recipe.needle_share + 0.25 * np.tanh(stand_zone), 0.02, 0.98)
    p_evergreen = np.clip(np.full(n_stands, recipe.evergreen_share, np.float32), 0, 1)
    for kind, mask in zones.forced.items():
        share = _per_unit_mean(mask.astype(np.float32), stands, n_stands) > 0.5
        if kind == "broadleaf_forest":
            p_needle[share] *= 0.35
            p_evergreen[share] *= 0.2
        elif kind == "needle_forest":
            p_needle[share] = 0.92
            p_evergreen[share] *= 0.2
        else:
            p_evergreen[share] = 0.85
    if relief.elevation is not None:
        stand_elev = _per_unit_mean(relief.elevation, stands, n_stands)
        p_needle = np.clip(
            p_needle
            + 0.25 * smoothstep(900, 1300, stand_elev)
            - 0.45 * (1 - smoothstep(620, 850, stand_elev)),
            0,
            1,
        )
    draw = rng.random(n_stands)
    stand_type = np.where(
        draw < p_evergreen,
        EVERGREEN,
        np.where(draw < p_evergreen + (1 - p_evergreen) * p_needle, NEEDLE, BROAD),
    )
    return _Stands(stands, n_stands, stand_type)


def _fields(
    frame: _Frame, recipe: Recipe, rng: np.random.Generator, relief: _Relief, town: _TownLayout
) -> _Fields:
    """Farmland parcels and their use: bare soil, shrubs, arable or grass (grass on steep and urban parcels)."""
    parcels = _parcels(rng, frame.shape, recipe)
    n_parcels = int(parcels.max()) + 1
    zone = _per_unit_mean(smooth_noise(rng, frame.shape, 160), parcels, n_parcels)
    p_arable = np.clip(recipe.arable_share + 0.22 * np.tanh(zone), 0.03, 0.95)
    if relief.slope is not None:
        parcel_slope = _per_unit_mean(relief.slope, parcels, n_parcels)
        p_arable[parcel_slope > 8] = 0.02
    draw = rng.random(n_parcels)
    parcel_urban = _per_unit_mean(town.urban, parcels, n_parcels)
    p_arable[parcel_urban > 0.16] *= 0.15  # open land inside the city: lawns, sports grounds, wasteland
    parcel_type = np.where(draw < recipe.bare_share, SOIL,
                           np.where(draw < recipe.bare_share + recipe.shrub_share, SHRUB,
                                    np.where(rng.random(n_parcels) < p_arable, ARABLE, GRASS)))  # fmt: skip
    return _Fields(parcels, n_parcels, parcel_type, parcel_urban)


def _base_cover(
    frame: _Frame,
    rng: np.random.Generator,
    relief: _Relief,
    water: _Water,
    transport: _Transport,
    zones: _Zones,
    town: _TownLayout,
    forest: _ForestLayout,
    stands: _Stands,
    fields: _Fields,
) -> np.ndarray:
    """Cover codes of 2018, painted from the background up: fields, hedges, forest, then what lies on top."""
    shape = frame.shape
    cover = fields.kind[fields.ids].astype(np.uint8)
    hedges = boundaries(fields.ids) & (smooth_noise(rng, shape, 25) > 1.0)
    cover[hedges & (cover != SOIL)] = HEDGE
    cover[forest.mask] = stands.kind[stands.ids][forest.mask]
    edge = (
        ndimage.binary_dilation(forest.mask, iterations=2)
        & ~forest.mask
        & (smooth_noise(rng, shape, 5) > 0.7)
    )
    cover[edge] = SHRUB
    if relief.elevation is not None:
        cover = _alpine(cover, relief.elevation, relief.slope, forest.treeline, forest.mask, rng)
    cover[water.riparian] = BROAD
    cover[transport.airfield] = GRASS
    cover[zones.quarry] = SOIL
    cover[zones.burnt & ~water.mask] = BURNT
    town_cover = _town_cover(frame, rng, town.mask, town.blocks, town.block_urban, town.streets, zones.park)
    cover[town.mask] = town_cover[town.mask]
    park_cover = np.where(smooth_noise(rng, shape, 4) > 0.25, GARDEN_TREE, GARDEN_GRASS).astype(np.uint8)
    park = zones.park & ~water.mask
    cover[park] = park_cover[park]
    cover[transport.runway] = RUNWAY
    cover[transport.roads == 1] = ROAD
    cover[transport.roads == 2] = MOTORWAY
    cover[water.mask] = WATER
    return cover


def _units(
    cover: np.ndarray, town: _TownLayout, stands: _Stands, fields: _Fields
) -> tuple[np.ndarray, np.ndarray]:
    """Unit ids that carry the per-year random draws, and the mask of the woods.

    Ids run over parcels first, then stands (inside woods), then blocks (inside towns).
    """
    units = fields.ids.copy()
    woods = np.isin(cover, (NEEDLE, BROAD, EVERGREEN))
    units[woods] = fields.count + stands.ids[woods]
    units[town.mask] = fields.count + stands.count + town.blocks[town.mask]
    return units, woods


def _pixel_fields(rng: np.random.Generator, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Per-pixel noise of the scenes: texture, a smooth gradient, and the draws of per-pixel looks."""
    return {
        "texture": (
            0.7 * smooth_noise(rng, shape, 1.6) + 0.7 * rng.standard_normal(shape, np.float32)
        ).astype(np.float32),
        "gradient": smooth_noise(rng, shape, 14),
        "pixel_draw": ndtr(smooth_noise(rng, shape, 1.3)).astype(np.float32),
        "pixel_mix": ndtr(smooth_noise(rng, shape, 1.6)).astype(np.float32),
    }


def _parcels(rng: np.random.Generator, shape: tuple[int, int], recipe: Recipe) -> np.ndarray:
    """Field parcels: zones of strip fields (two orientations) and of irregular Voronoi parcels."""
    length, width = (recipe.parcel_m[0] / PIXEL_M, recipe.parcel_m[1] / PIXEL_M)
    angle = rng.uniform(0, 180)
    first = strip_parcels(rng, shape, length, width, angle, warp_px=6)
    second = strip_parcels(rng, shape, length * 1.2, width * 0.9, angle + rng.uniform(50, 130), warp_px=6)
    third = jittered_voronoi(rng, shape, length * 0.8, width * 1.1, angle + 45, jitter=0.6, merge_prob=0.3)
    zone = smooth_noise(rng, shape, 110)
    offset2 = int(first.max()) + 1
    offset3 = offset2 + int(second.max()) + 1
    parcels = np.where(zone > 0.35, first, np.where(zone > -0.6, second + offset2, third + offset3))
    return parcels.astype(np.int32)


def ndtr_inv(p: float) -> float:
    """Normal quantile (so that ``noise < ndtr_inv(p)`` holds on a share ``p`` of pixels)."""
    return float(ndtri(min(max(p, 1e-6), 1 - 1e-6)))


def _terrain(
    frame: _Frame, recipe: Recipe, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elevation (m), slope (degrees) and illumination for an Alpine valley running west-east.

    The valley axis follows ``recipe.tags['valley_path']``; north of it the slope
    climbs to a 2,300 m ridge (the Nordkette), south of it a terrace at ~870 m
    (Igls) rises towards the Patscherkofel. Sun from the south-south-east at 55°.
    """
    height, width = frame.shape
    path = [frame.rc(lon, lat) for lon, lat in recipe.tags["valley_path"]]
    path_rows = np.array([p[0] for p in path])
    path_cols = np.array([p[1] for p in path])
    order = np.argsort(path_cols)
    axis = np.interp(np.arange(width), path_cols[order], path_rows[order])
    north_m = (axis[None, :] - np.arange(height)[:, None]) * PIXEL_M  # distance north of the valley axis
    gullies = smooth_noise(rng, (height, width), 25)
    rough = fractal_noise(rng, (height, width), 60, octaves=3)
    up = np.clip((north_m - 450.0) / 5000.0, 0, 1)
    north = 575 + 1780 * up**1.1 + 110 * rough * np.clip(north_m / 1500, 0, 1) + 90 * gullies * up
    north -= 0.6 * np.clip(north_m - 5600.0, 0, None)  # down the far side of the ridge
    south_m = -north_m
    south = 575 + 300 * smoothstep(500, 2300, south_m) + 650 * smoothstep(3800, 8500, south_m) + 25 * rough
    elevation = np.where(north_m >= 0, north, south).astype(np.float32)
    elevation = np.minimum(elevation, 2330 + 40 * rough)
    elevation = ndimage.gaussian_filter(elevation, 2.0)
    dz_drow, dz_dcol = np.gradient(elevation, PIXEL_M)
    dz_dx, dz_dy = dz_dcol, -dz_drow  # east, north
    slope = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy))).astype(np.float32)
    azimuth, altitude = np.deg2rad(155.0), np.deg2rad(55.0)
    sun = np.array([np.sin(azimuth) * np.cos(altitude), np.cos(azimuth) * np.cos(altitude), np.sin(altitude)])
    norm = np.sqrt(dz_dx**2 + dz_dy**2 + 1)
    cos_i = (-dz_dx * sun[0] - dz_dy * sun[1] + sun[2]) / norm
    illumination = np.clip(cos_i / sun[2], 0.25, 1.5).astype(np.float32)
    return elevation, slope, illumination


def _alpine(
    cover: np.ndarray,
    elevation: np.ndarray,
    slope: np.ndarray,
    treeline: np.ndarray,
    forest: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Zonation above the valley: dwarf pine, alpine grass, lichens and mosses, rock."""
    shape = cover.shape
    n1, n2, n3 = (smooth_noise(rng, shape, s) for s in (8, 12, 20))
    high = elevation > treeline - 60
    cover = cover.copy()
    cover[high & ~forest] = GRASS
    krumm = (elevation > treeline - 80) & (elevation < treeline + 260) & (n1 > -0.2)
    cover[krumm] = SHRUB
    lichen = (elevation > 1950 + 60 * n3) & (n2 > -0.2)
    cover[lichen] = LICHEN
    rock = (
        (elevation > 2200 + 80 * n3)
        | ((slope > 44) & (elevation > 1500))
        | ((elevation > 2050) & (n2 < -1.2))
    )
    cover[rock] = ROCK
    return cover


def _urban_intensity(frame: _Frame, recipe: Recipe, rng: np.random.Generator) -> np.ndarray:
    """0..1 field: how built-up a place is (max over towns, with ragged edges)."""
    shape = frame.shape
    ragged = fractal_noise(rng, shape, 45, octaves=3)
    fine = fractal_noise(rng, shape, 14, octaves=2)
    urban = np.full(shape, recipe.urban_floor, np.float32) * (1 + 0.5 * ragged)
    for town in recipe.towns:
        r0, c0 = frame.rc(town.lon, town.lat)
        reach = 1.6 * town.radius_m / PIXEL_M
        rows = slice(max(0, int(r0 - reach)), min(shape[0], int(r0 + reach) + 1))
        cols = slice(max(0, int(c0 - reach)), min(shape[1], int(c0 + reach) + 1))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            continue
        rr = np.arange(rows.start, rows.stop, dtype=np.float32)[:, None]
        cc = np.arange(cols.start, cols.stop, dtype=np.float32)[None, :]
        dist = np.hypot(rr - r0, cc - c0) * PIXEL_M / town.radius_m
        small = np.clip(400.0 / town.radius_m, 0.0, 1.0)  # villages: more ragged, less round
        q = dist / np.clip(1 + 0.28 * ragged[rows, cols] + 0.35 * small * fine[rows, cols], 0.3, None)
        value = town.density * np.clip(1 - q**2, 0, 1) ** 1.2
        urban[rows, cols] = np.maximum(urban[rows, cols], value)
    return np.clip(urban, 0, 1)


def _town_cover(
    frame: _Frame,
    rng: np.random.Generator,
    town: np.ndarray,
    blocks: np.ndarray,
    block_urban: np.ndarray,
    streets: np.ndarray,
    park: np.ndarray,
) -> np.ndarray:
    """Cover inside towns: a street grid, blocks of houses lining their streets, industry, green blocks.

    At 10 m a town reads as a grid: dark streets around blocks, built-up block
    edges (houses face the street) and greener block interiors (back gardens),
    solid blocks downtown and in industrial estates, and whole blocks of park.
    Every fourth-or-so block boundary is a wider avenue (2 px, 20 m).
    """
    shape = frame.shape
    n_blocks = block_urban.size
    u = block_urban
    draw = rng.random(n_blocks)
    p_dense = np.clip((u - 0.35) * 1.7, 0, 0.85)
    p_industry = np.where(u > 0.25, 0.08, 0.03)
    p_green = np.full(n_blocks, 0.09)
    industry = (draw >= p_dense) & (draw < p_dense + p_industry)
    green = (draw >= p_dense + p_industry) & (draw < p_dense + p_industry + p_green)
    # How deep (px from the street) the built-up band of each block reaches.
    depth = np.where(draw < p_dense, rng.uniform(3.0, 6.0, n_blocks),
                     np.where(industry, rng.uniform(4.0, 8.0, n_blocks),
                              np.where(green, 0.0, rng.uniform(1.0, 2.2, n_blocks)))).astype(np.float32)  # fmt: skip
    from_street = ndimage.distance_transform_edt(~streets).astype(np.float32)
    sealed = (from_street + 0.6 * smooth_noise(rng, shape, 1.5)) < depth[blocks]
    trees = smooth_noise(rng, shape, 3.5) > np.where(green[blocks], -0.3, 0.35)
    roofs = _roofs(rng, shape, blocks, industry=industry)
    cover = np.where(sealed, roofs, np.where(trees, GARDEN_TREE, GARDEN_GRASS)).astype(np.uint8)
    districts = jittered_voronoi(rng, shape, 48.0, 40.0, rng.uniform(0, 90))
    avenues = ndimage.binary_dilation(boundaries(districts), iterations=1) & town
    paved = u[blocks] > 0.12
    cover[(streets | avenues) & paved & ~green[blocks]] = MOTORWAY  # asphalt and pavement, no verge
    cover[park] = GARDEN_GRASS
    return cover


def _roofs(
    rng: np.random.Generator, shape: tuple[int, int], blocks: np.ndarray, industry: np.ndarray
) -> np.ndarray:
    """Sealed cover per pixel: tiled roofs, dark roofs, pavement; industry mostly flat bright roofs.

    Each block has a dominant roof (houses of one period look alike), so
    blocks read as patches of one tone rather than a salt-and-pepper mixture.
    """
    n_blocks = industry.size
    dominant = rng.choice(3, n_blocks, p=[0.5, 0.35, 0.15])
    shares = np.full((n_blocks, 3), 0.12, np.float32)
    shares[np.arange(n_blocks), dominant] = 0.76
    shares[industry] = (0.05, 0.25, 0.70)
    pick = ndtr(smooth_noise(rng, shape, 2.5))
    red, dark = shares[:, 0][blocks], shares[:, 1][blocks]
    return np.where(pick < red, BUILT, np.where(pick < red + dark, BUILT_DARK, BUILT_PAVED)).astype(np.uint8)


def _covers_by_year(
    frame: _Frame, recipe: Recipe, layers: dict[str, np.ndarray], rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """Cover maps per year: urban growth, clear-cuts and regrowth, ploughing, burnt land recovery."""
    base = layers["cover"]
    parcels, stands = layers["parcels"], layers["stands"]
    n_parcels, n_stands = int(layers["n_parcels"]), int(layers["n_stands"])
    farm = np.isin(base, (ARABLE, GRASS, HEDGE))
    parcel_urban = layers["parcel_urban"]
    # Parcels on the edge of towns get built on; the first year they are a construction site half the time.
    candidate = (parcel_urban > 0.06) & (parcel_urban < 0.24)
    period = np.zeros(n_parcels, np.int8)  # 0 never, 1 built 2018->2021, 2 built 2021->2024
    draw = rng.random(n_parcels)
    period[candidate & (draw < recipe.growth)] = 1
    period[candidate & (draw >= recipe.growth) & (draw < 2 * recipe.growth)] = 2
    site_first = rng.random(n_parcels) < 0.5
    # Forest stands: cut in period 1 or 2, or young regrowth in 2018 that closes by 2024.
    sdraw = rng.random(n_stands)
    cut = np.zeros(n_stands, np.int8)
    cut[sdraw < recipe.clearcut] = 1
    cut[(sdraw >= recipe.clearcut) & (sdraw < 2 * recipe.clearcut)] = 2
    young = (sdraw >= 2 * recipe.clearcut) & (sdraw < 2.6 * recipe.clearcut)
    cut_grassy = rng.random(n_stands) < 0.45
    # Grassland ploughed up, arable sown to grass (each ~2.5% of parcels per period).
    flip = np.zeros(n_parcels, np.int8)
    fdraw = rng.random(n_parcels)
    flip[fdraw < 0.025] = 1
    flip[(fdraw >= 0.025) & (fdraw < 0.05)] = 2

    houses = smooth_noise(rng, frame.shape, 2.2)
    roofs = _roofs(
        rng, frame.shape, layers["blocks"], industry=rng.random(int(layers["blocks"].max()) + 1) < 0.1
    )
    new_built = np.where(
        ndtr(houses) < 0.55, roofs, np.where(houses > 1.2, GARDEN_TREE, GARDEN_GRASS)
    ).astype(np.uint8)
    new_built[boundaries(layers["blocks"])] = ROAD

    covers: dict[int, np.ndarray] = {}
    for index, year in enumerate(YEARS):
        cover = base.copy()
        # crop rotation/grass conversions: applied from the period they happen in onwards
        fp = flip[parcels]
        flipping = farm & (fp > 0) & (fp <= index) & np.isin(base, (ARABLE, GRASS))
        cover[flipping] = np.where(base[flipping] == ARABLE, GRASS, ARABLE)
        # urban growth
        pp = period[parcels]
        growing = farm & (pp > 0) & (pp <= index)
        fresh = growing & (pp == index) & site_first[parcels]
        cover[growing] = new_built[growing]
        cover[fresh] = CONSTRUCTION
        # forest stands
        sp = cut[stands]
        woods = layers["forest"]
        felled = woods & (sp > 0) & (sp <= index)
        regrown = felled & (sp < index)  # cut in an earlier period: shrubs now
        bare_now = felled & ~regrown
        cover[bare_now] = np.where(cut_grassy[stands][bare_now], CUT_GRASS, CUT_BARE)
        cover[regrown] = YOUNG
        if index < 2:
            cover[woods & young[stands]] = YOUNG
        # burnt land recovers to shrubs
        if index >= 1:
            cover[layers["burnt"]] = SHRUB
        covers[year] = cover
    return covers


# --- scenes: materials per pixel -------------------------------------------------------

#: How each cover code looks: variants of (material 1, material 2, mix range), brightness range, texture.
#: Variants are drawn per unit (parcel, stand or block); ``annual`` covers draw again every year.
_LOOKS: dict[int, dict] = {
    WATER: dict(variants=[("water_clear", "water_turbid", (0.0, 0.0))], bright=(0.92, 1.08), texture=0.03),
    ROAD: dict(variants=[("asphalt", "grass", (0.2, 0.6)), ("asphalt", "broadleaf", (0.15, 0.55)),
                         ("asphalt", "paved", (0.1, 0.5))],
               bright=(0.88, 1.05), texture=0.08, per_pixel=True),
    MOTORWAY: dict(variants=[("asphalt", "paved", (0.0, 0.3)), ("asphalt", "grass", (0.05, 0.3))],
                   bright=(0.95, 1.1), texture=0.05),
    BUILT: dict(variants=[("roof_red", "paved", (0.1, 0.6)), ("roof_red", "asphalt", (0.1, 0.5)),
                          ("roof_red", "grass", (0.1, 0.5)), ("roof_red", "soil", (0.1, 0.5))],
                bright=(0.92, 1.08), texture=0.07, per_pixel=True),
    BUILT_DARK: dict(variants=[("roof_dark", "paved", (0.1, 0.6)), ("roof_dark", "grass", (0.1, 0.5)),
                               ("roof_dark", "broadleaf", (0.1, 0.45))], bright=(0.92, 1.08), texture=0.07,
                     per_pixel=True),
    BUILT_PAVED: dict(variants=[("paved", "asphalt", (0.25, 0.75)), ("paved", "roof_dark", (0.25, 0.7)),
                                ("paved", "grass", (0.1, 0.45)), ("soil", "paved", (0.3, 0.8))],
                      bright=(0.88, 1.0), texture=0.07, per_pixel=True),
    RUNWAY: dict(variants=[("paved", "asphalt", (0.2, 0.6))], bright=(0.95, 1.05), texture=0.03),
    GARDEN_GRASS: dict(variants=[("grass", "paved", (0.1, 0.5)), ("grass", "dry_vegetation", (0.1, 0.5)),
                                 ("grass", "roof_dark", (0.1, 0.45)), ("grass", "broadleaf", (0.1, 0.5))],
                       bright=(0.88, 1.1), texture=0.08, per_pixel=True),
    GARDEN_TREE: dict(variants=[("broadleaf", "paved", (0.1, 0.45)), ("broadleaf", "grass", (0.1, 0.5)),
                                ("broadleaf", "roof_dark", (0.1, 0.4))], bright=(0.85, 1.1), texture=0.1,
                      per_pixel=True),
    NEEDLE: dict(variants=[("conifer", "broadleaf", (0.0, 0.55)), ("conifer", "shrub", (0.0, 0.45)),
                           ("conifer", "grass", (0.0, 0.35))], bright=(0.78, 1.22), texture=0.1),
    BROAD: dict(variants=[("broadleaf", "conifer", (0.0, 0.55)), ("broadleaf", "shrub", (0.0, 0.5)),
                          ("broadleaf", "grass", (0.0, 0.4))], bright=(0.75, 1.12), texture=0.09),
    EVERGREEN: dict(variants=[("evergreen", "dry_vegetation", (0.0, 0.5)), ("evergreen", "shrub", (0.0, 0.5)),
                              ("evergreen", "broadleaf", (0.0, 0.45)), ("evergreen", "conifer", (0.0, 0.4))],
                    bright=(0.8, 1.15), texture=0.09),
    SHRUB: dict(variants=[("shrub", "grass", (0.0, 0.6)), ("shrub", "dry_vegetation", (0.0, 0.5)),
                          ("shrub", "broadleaf", (0.0, 0.5)), ("shrub", "conifer", (0.0, 0.45))],
                bright=(0.82, 1.15), texture=0.07),
    HEDGE: dict(variants=[("shrub", "grass", (0.2, 0.6)), ("broadleaf", "grass", (0.3, 0.7))],
                bright=(0.9, 1.1), texture=0.06),
    YOUNG: dict(variants=[("shrub", "conifer", (0.1, 0.5)), ("shrub", "broadleaf", (0.1, 0.5)),
                          ("shrub", "grass", (0.1, 0.5))], bright=(0.9, 1.1), texture=0.07),
    GRASS: dict(variants=[("grass", "dry_vegetation", (0.0, 0.6)), ("grass", "crop", (0.0, 0.7)),
                          ("grass", "soil", (0.0, 0.35)), ("grass", "shrub", (0.0, 0.35))],
                bright=(0.85, 1.15), texture=0.035, annual=True),
    CUT_GRASS: dict(variants=[("grass", "dry_vegetation", (0.3, 0.6)), ("grass", "shrub", (0.2, 0.5))],
                    bright=(0.9, 1.1), texture=0.08),
    CUT_BARE: dict(variants=[("soil", "dry_vegetation", (0.35, 0.7)),
                             ("dry_vegetation", "shrub", (0.1, 0.4))], bright=(0.8, 1.05), texture=0.1),
    LICHEN: dict(variants=[("lichen", "rock", (0.05, 0.45)), ("lichen", "grass", (0.05, 0.45)),
                           ("lichen", "shrub", (0.05, 0.35))], bright=(0.85, 1.12), texture=0.08),
    ROCK: dict(variants=[("rock", "lichen", (0.0, 0.4)), ("rock", "soil", (0.0, 0.4)),
                         ("rock", "grass", (0.0, 0.3))], bright=(0.8, 1.15), texture=0.12),
    SOIL: dict(variants=[("soil", "rock", (0.0, 0.5)), ("sand", "soil", (0.0, 0.6)),
                         ("soil", "dry_vegetation", (0.0, 0.5))], bright=(0.8, 1.15), texture=0.08),
    CONSTRUCTION: dict(variants=[("soil", "paved", (0.1, 0.5)), ("sand", "soil", (0.2, 0.7)),
                                 ("soil", "dry_vegetation", (0.1, 0.5))], bright=(0.85, 1.15), texture=0.1),
    BURNT: dict(variants=[("burnt", "soil", (0.1, 0.45)), ("burnt", "dry_vegetation", (0.1, 0.5))],
                bright=(0.85, 1.1), texture=0.08),
}  # fmt: skip

#: Crop states of arable parcels on the acquisition date, with their looks and probabilities
#: (temperate July scene; the dry-summer recipe shifts them towards harvested and bare).
_CROP_STATES = (
    ("green", ("crop", "soil", (0.0, 0.6)), (0.88, 1.12)),
    ("leafy", ("crop", "grass", (0.2, 0.9)), (0.85, 1.1)),  # young cereals, leys: look like grassland
    ("ripe", ("dry_vegetation", "crop", (0.0, 0.45)), (0.92, 1.15)),
    ("bare", ("soil", "dry_vegetation", (0.0, 0.35)), (0.7, 1.12)),
    ("stubble", ("dry_vegetation", "soil", (0.2, 0.7)), (0.88, 1.1)),
)
_CROP_P = np.array([0.3, 0.18, 0.24, 0.16, 0.12])
_CROP_P_DRY = np.array([0.14, 0.06, 0.12, 0.36, 0.32])


def _scene(
    frame: _Frame,
    recipe: Recipe,
    layers: dict[str, np.ndarray],
    cover: np.ndarray,
    year: int,
    rng: np.random.Generator,
) -> YearScene:
    """Materials, mixing fraction, brightness and SWIR factor for every pixel of one year."""
    shape = frame.shape
    units, n_units = layers["units"], int(layers["n_units"])
    static = rng_for("units", *_frame_key(frame)).random((3, n_units), dtype=np.float32)
    yearly = rng.random((4, n_units), dtype=np.float32)
    texture, gradient = layers["texture"], layers["gradient"]
    mat1 = np.zeros(shape, np.uint8)
    mat2 = np.zeros(shape, np.uint8)
    frac2 = np.zeros(shape, np.float32)
    bright = np.ones(shape, np.float32)
    wet = 1.0 + 0.07 * (2 * yearly[3][units] - 1)
    drought = 0.12 if year == 2018 and not recipe.dry_summer else 0.0

    for code, look in _LOOKS.items():
        mask = cover == code
        if not mask.any():
            continue
        draws = yearly if look.get("annual") else static
        u = units[mask]
        variants = look["variants"]
        pick = layers["pixel_draw"][mask] if look.get("per_pixel") else draws[0][u]
        choice = np.minimum((pick * len(variants)).astype(np.int32), len(variants) - 1)
        m1 = np.array([M[v[0]] for v in variants], np.uint8)[choice]
        m2 = np.array([M[v[1]] for v in variants], np.uint8)[choice]
        lo = np.array([v[2][0] for v in variants], np.float32)[choice]
        hi = np.array([v[2][1] for v in variants], np.float32)[choice]
        if look.get("per_pixel"):
            position = np.clip(0.5 * draws[1][u] + 0.5 * layers["pixel_mix"][mask], 0, 1)
        else:
            position = np.clip(draws[1][u] + 0.12 * gradient[mask], 0, 1)
        f = lo + (hi - lo) * position
        if code in (GRASS, GARDEN_GRASS, CUT_GRASS) and recipe.dry_summer:
            m2 = np.where(m2 == M["crop"], M["dry_vegetation"], m2)
            f = np.clip(0.45 + 0.45 * position, 0, 1)
            m2[:] = M["dry_vegetation"]
        elif code == GRASS and drought:
            f = np.where(m2 == M["dry_vegetation"], np.clip(f + drought, 0, 1), f)
        b_lo, b_hi = look["bright"]
        b = (b_lo + (b_hi - b_lo) * draws[2][u]) * (1 + look["texture"] * texture[mask])
        mat1[mask], mat2[mask], frac2[mask], bright[mask] = m1, m2, f, b

    mask = cover == ARABLE
    if mask.any():
        probabilities = _CROP_P_DRY if recipe.dry_summer else _CROP_P
        state = np.searchsorted(np.cumsum(probabilities), yearly[0][units[mask]], side="right")
        state = np.minimum(state, len(_CROP_STATES) - 1)
        m1 = np.array([M[s[1][0]] for s in _CROP_STATES], np.uint8)[state]
        m2 = np.array([M[s[1][1]] for s in _CROP_STATES], np.uint8)[state]
        lo = np.array([s[1][2][0] for s in _CROP_STATES], np.float32)[state]
        hi = np.array([s[1][2][1] for s in _CROP_STATES], np.float32)[state]
        b_lo = np.array([s[2][0] for s in _CROP_STATES], np.float32)[state]
        b_hi = np.array([s[2][1] for s in _CROP_STATES], np.float32)[state]
        position = np.clip(yearly[1][units[mask]] + 0.1 * gradient[mask], 0, 1)
        mat1[mask], mat2[mask] = m1, m2
        frac2[mask] = lo + (hi - lo) * position
        bright[mask] = (b_lo + (b_hi - b_lo) * yearly[2][units[mask]]) * (1 + 0.03 * texture[mask])

    water = cover == WATER
    frac2[water] = np.clip(layers["turbidity"][water] + 0.05 * gradient[water], 0, 1)
    land = ~water
    bright[land] *= layers["illumination"][land]
    return YearScene(
        label=_generalise(cover),
        mat1=mat1,
        mat2=mat2,
        frac2=frac2.astype(np.float16),
        bright=bright.astype(np.float16),
        swir=wet.astype(np.float16),
    )


def _generalise(cover: np.ndarray) -> np.ndarray:
    """Labels from covers, smoothed like a mapping product: a 3 x 3 majority filter.

    The reference map is not the image: isolated pixels (a garden among roofs, a
    lone tree) take their neighbourhood's class, as they do in CLC+. Water and
    roads keep their own class so thin rivers and streets stay in the labels.
    """
    label = _LABEL_LUT[cover]
    counts = np.stack([ndimage.uniform_filter((label == k).astype(np.float32), 3, mode="nearest")
                       for k in range(1, 11)])  # fmt: skip
    majority = (np.argmax(counts, axis=0) + 1).astype(np.uint8)
    own = np.take_along_axis(counts, (label.astype(np.int64) - 1)[None].clip(0), axis=0)[0]
    smoothed = np.where(own >= counts.max(axis=0) - 1e-6, label, majority)
    keep = np.isin(cover, (WATER, ROAD, MOTORWAY, RUNWAY))
    return np.where(keep, label, smoothed).astype(np.uint8)


def _frame_key(frame: _Frame) -> tuple[int, int]:
    return int(frame.x0), int(frame.top)

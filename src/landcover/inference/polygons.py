"""Class masks turned into polygons: one per patch of pixels, dissolved by class, simplified, as GeoJSON.

The polygons follow the pixel edges of the mask on the image's own grid
(EPSG:3035 for the tiles, an equal-area CRS), so their areas are exact: a
class's polygons cover exactly its pixels. Dissolving and simplifying happen
in EPSG:3035 metres too; only the finished polygons go to EPSG:4326 for web
maps and GeoJSON (RFC 7946).

For a region, :func:`class_polygons_for_region` is the one way from patches
to class polygons (the API uses it too): it merges only the patches cut by
tile edges, simplifies all patches as one coverage and gathers each class
into a MultiPolygon without a union, which takes seconds, not tens of them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from landcover.classes import CLASS_IDS, CLASS_NAMES, N_CLASSES, NODATA

if TYPE_CHECKING:
    import geopandas as gpd
    from affine import Affine
    from pyproj import CRS

#: CRS of GeoJSON (RFC 7946) and of web maps: longitude, latitude on WGS84.
WGS84 = "EPSG:4326"
#: The equal-area CRS of the tiles, in which areas are measured.
AREA_CRS = "EPSG:3035"
#: Pixel size of the tiles in metres: the grid the polygon vertices sit on.
TILE_PIXEL_M = 10.0
#: Decimal places of longitude and latitude in GeoJSON output (1e-6 degree is about 0.1 m).
WGS84_DECIMALS = 6

POLYGON_COLUMNS = ("class_id", "class_name", "area_km2")


def image_grid(image: Mapping[str, Any]) -> tuple[Affine, CRS, tuple[int, int]]:
    """``(transform, crs, (rows, cols))`` of an image dict as ``get_satellite_image`` returns it."""
    from affine import Affine
    from pyproj import CRS

    if not isinstance(image, Mapping):
        raise TypeError(f"image must be the dict get_satellite_image returns, got {type(image).__name__}")
    missing = [key for key in ("array", "transform", "crs") if key not in image]
    if missing:
        raise ValueError(f"image lacks the key(s) {missing}: pass the dict get_satellite_image returns")
    transform = image["transform"]
    if not isinstance(transform, Affine):
        raise ValueError(f"image['transform'] must be an affine.Affine, got {type(transform).__name__}")
    if image["crs"] is None:
        raise ValueError("image['crs'] is None: the image has no CRS, so its polygons cannot be placed")
    crs = CRS.from_user_input(image["crs"])
    epsg = crs.to_epsg()
    crs = CRS.from_epsg(epsg) if epsg is not None else crs  # "EPSG:3035" rather than a WKT1 string
    if not crs.is_projected:
        raise ValueError(f"image['crs'] is {crs.to_string()}, not projected: areas need metres (EPSG:3035)")
    shape = np.shape(image["array"])
    if len(shape) not in (2, 3):
        raise ValueError(f"image['array'] must be (bands, rows, cols) or (rows, cols), got shape {shape}")
    return transform, crs, (int(shape[-2]), int(shape[-1]))


def check_mask(mask: np.ndarray, shape: tuple[int, int] | None = None, name: str = "mask") -> np.ndarray:
    """A class mask as uint8 (rows, cols) with values 0..10, or a ``ValueError`` naming ``name``.

    ``shape`` is the (rows, cols) the mask must have (the image's).
    """
    values = np.asarray(mask)
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 2:
        raise ValueError(f"{name} must be a (rows, cols) array of class ids, got shape {np.shape(mask)}")
    if shape is not None and values.shape != tuple(shape):
        raise ValueError(f"{name} has shape {values.shape} but the image is {tuple(shape)} pixels")
    if not (np.issubdtype(values.dtype, np.integer) or values.dtype == bool):
        raise ValueError(f"{name} must hold integer class ids, got dtype {values.dtype}")
    if values.size and (values.min() < NODATA or values.max() > N_CLASSES):
        found = sorted(set(np.unique(values).tolist()) - {NODATA, *CLASS_IDS})
        raise ValueError(f"{name} holds values {found[:10]} outside {NODATA}..{N_CLASSES} (0 = nodata)")
    return values.astype(np.uint8, copy=False)


def pixel_area_m2(transform: Affine) -> float:
    """Area of one pixel in square units of the CRS (m² in EPSG:3035): |det(transform)|."""
    return float(abs(transform.a * transform.e - transform.b * transform.d))


def class_areas_km2(mask: np.ndarray, transform: Affine) -> dict[int, float]:
    """Area of each class present in a mask, in km²: pixel count x pixel area (equal-area grid)."""
    values = check_mask(mask)
    counts = np.bincount(values.ravel(), minlength=N_CLASSES + 1)
    area = pixel_area_m2(transform) / 1e6
    return {class_id: float(counts[class_id]) * area for class_id in CLASS_IDS if counts[class_id]}


def sieve_mask(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """The mask with every patch smaller than ``min_pixels`` merged into its largest neighbour.

    A *minimum mapping unit* for display: a 10 m map is speckled with patches
    of a pixel or two (mixed pixels, noise), each of which becomes a polygon,
    which makes maps of whole regions heavy to draw and to send. Sieving
    (GDAL's algorithm, 4-connected) removes them; nodata (0) is neither merged
    nor grown. Areas for statistics should come from the unsieved mask: this
    moves a few per cent of the pixels between classes.

    Raises
    ------
    ValueError
        When ``min_pixels`` is negative.
    """
    from rasterio.features import sieve

    values = check_mask(mask)
    if int(min_pixels) < 0:
        raise ValueError(f"min_pixels={min_pixels} must be 0 (no sieving) or a number of pixels")
    if int(min_pixels) <= 1:
        return values.copy()
    sieved = sieve(values, int(min_pixels), connectivity=4, mask=values != NODATA)
    sieved[values == NODATA] = NODATA
    return sieved


def create_geojson_from_mask(image: Mapping[str, Any], mask: np.ndarray) -> gpd.GeoDataFrame:
    """One polygon per patch of same-class pixels of ``mask``, on the image's grid and in its CRS.

    The polygons are traced by ``rasterio.features.shapes`` with the image's own
    transform (pixel size and origin come from the file; nothing is assumed) and
    4-connectivity: pixels touching only at a corner make separate polygons.
    Nodata (0) makes no polygon. The name is the original book's; the result is
    a GeoDataFrame, not GeoJSON text (see :func:`to_geojson` for that).

    Parameters
    ----------
    image : Mapping
        The dict :func:`landcover.data.get_satellite_image` returns: ``array``
        (bands, rows, cols), ``transform`` (pixel -> EPSG:3035 metres), ``crs``.
    mask : numpy.ndarray
        uint8 (rows, cols) class ids 1..10 on the image's grid, 0 = nodata.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``class_id`` (int), ``class_name`` (str), ``area_km2`` (float)
        and ``geometry`` (Polygon, possibly with holes), CRS of the image
        (EPSG:3035). Sorted by class id; empty (with those columns) when the
        mask is all nodata.

    Raises
    ------
    ValueError
        If the image dict lacks its georeferencing, or the mask's shape,
        dtype or values do not fit (the message names the parameter).
    """
    import geopandas as gpd
    import shapely
    from rasterio.features import shapes

    transform, crs, shape = image_grid(image)
    values = check_mask(mask, shape)
    ids: list[int] = []
    vertices: list[tuple[float, float]] = []
    ring_sizes: list[int] = []
    ring_owner: list[int] = []
    for number, (geometry, value) in enumerate(
        shapes(values, mask=values != NODATA, connectivity=4, transform=transform)
    ):
        ids.append(int(value))
        for ring in geometry["coordinates"]:  # the outline first, then the holes
            vertices.extend(ring)
            ring_sizes.append(len(ring))
            ring_owner.append(number)
    # Built in two vectorised calls: a polygon at a time would cost as much again as tracing.
    geometries: Any = []
    if ids:
        rings = shapely.linearrings(
            np.asarray(vertices, dtype=float), indices=np.repeat(np.arange(len(ring_sizes)), ring_sizes)
        )
        geometries = shapely.polygons(rings, indices=np.asarray(ring_owner))
    frame = gpd.GeoDataFrame(
        {
            "class_id": np.asarray(ids, dtype=np.int64),
            "class_name": [CLASS_NAMES[i] for i in ids],
        },
        geometry=gpd.GeoSeries(geometries, crs=crs),
        crs=crs,
    )
    frame["area_km2"] = frame.geometry.area / 1e6
    frame = frame.sort_values("class_id", kind="stable").reset_index(drop=True)
    return frame[[*POLYGON_COLUMNS, "geometry"]]


def _as_one_frame(polygons: gpd.GeoDataFrame | Iterable[gpd.GeoDataFrame]) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """One GeoDataFrame from one or several (tiles of a region), all in the same CRS, and each row's frame number."""
    import geopandas as gpd
    import pandas as pd

    if isinstance(polygons, gpd.GeoDataFrame):
        frames = [polygons]
    else:
        frames = list(polygons)
        if not frames:
            raise ValueError("polygons is an empty list: nothing to dissolve")
        for number, frame in enumerate(frames):
            if not isinstance(frame, gpd.GeoDataFrame):
                raise ValueError(f"polygons[{number}] is a {type(frame).__name__}, not a GeoDataFrame")
    crs_set = {None if f.crs is None else f.crs.to_string() for f in frames}
    if len(crs_set) != 1 or None in crs_set:
        raise ValueError(f"polygons must all have the same CRS, got {sorted(map(str, crs_set))}")
    for frame in frames:
        if "class_id" not in frame.columns:
            raise ValueError(f"polygons need a 'class_id' column, got columns {list(frame.columns)}")
    origin = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
    if len(frames) == 1:
        return frames[0], origin
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs), origin


def _merge_groups(geometries: np.ndarray, ids: np.ndarray, origin: np.ndarray) -> tuple[np.ndarray, bool]:
    """Which patches to merge (a group number per patch) and whether the patches form a coverage.

    Patches of one class that share a border line or overlap (a patch cut by
    a tile edge, tiles that overlap) belong to one group. Patches traced from
    one mask never do, so only neighbours are compared: same-class pairs
    whose boxes meet, and, between different frames (tiles), every pair
    whose boxes meet, where a different-class overlap means the patches are
    no coverage (overlapping tiles that disagree).
    """
    import shapely
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(geometries)
    first, second = shapely.STRtree(geometries).query(geometries)
    wanted = (first < second) & ((ids[first] == ids[second]) | (origin[first] != origin[second]))
    first, second = first[wanted], second[wanted]
    if not len(first):
        return np.arange(n), True
    matrices = shapely.relate(geometries[first], geometries[second]).astype("S9")
    cells = np.frombuffer(matrices.tobytes(), dtype="S1").reshape(-1, 9)
    inside = cells[:, 0] != b"F"  # the interiors meet: the patches overlap
    same = ids[first] == ids[second]
    merge = same & (inside | (cells[:, 4] == b"1"))  # or their borders share a line
    links = coo_matrix((np.ones(int(merge.sum())), (first[merge], second[merge])), shape=(n, n))
    _, groups = connected_components(links, directed=False)
    return groups, not (inside & ~same).any()


class _Patches(NamedTuple):
    """Patches of a region once those cut by tile edges are merged (see :func:`_merge_patches`)."""

    geometries: np.ndarray  # Polygons, EPSG:3035 (or the input's CRS)
    class_ids: np.ndarray  # class of each geometry
    crs: CRS
    n_input: dict[int, int]  # patches given per class, before merging
    coverage: bool  # no two classes overlap (as far as looked: between tiles)


def _merge_patches(polygons: gpd.GeoDataFrame | Iterable[gpd.GeoDataFrame]) -> _Patches:
    """Check the patches, then merge those of one class that share a border line or overlap."""
    import shapely

    frame, origin = _as_one_frame(polygons)
    ids = frame["class_id"].to_numpy()
    if len(ids) and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"polygons' 'class_id' must hold integer class ids, got dtype {ids.dtype}")
    ids = ids.astype(np.int64)
    unknown = sorted(set(np.unique(ids).tolist()) - set(CLASS_IDS))
    if unknown:
        raise ValueError(f"polygons hold class_id values {unknown} that are not classes 1..{N_CLASSES}")
    geometries = frame.geometry.to_numpy()
    kinds = shapely.get_type_id(geometries)
    wrong = np.flatnonzero((kinds != 3) & (kinds != 6))  # Polygon, MultiPolygon
    if len(wrong):
        raise ValueError(
            f"polygons hold {len(wrong)} geometries that are not polygons (rows {wrong[:5].tolist()}): "
            "pass the polygons create_geojson_from_mask returns"
        )
    n_input = {int(i): int(n) for i, n in zip(*np.unique(ids, return_counts=True), strict=True)}
    if not len(ids):
        return _Patches(geometries, ids, frame.crs, n_input, True)
    groups, coverage = _merge_groups(geometries, ids, origin)
    # A group of one patch keeps it; a larger one is unioned (the few patches along tile edges).
    order = np.argsort(groups, kind="stable")
    starts = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1]])
    members = np.split(order, starts[1:])
    merged = np.array(
        [geometries[m[0]] if len(m) == 1 else shapely.union_all(geometries[m]) for m in members], dtype=object
    )
    parts, part_group = shapely.get_parts(merged, return_index=True)
    return _Patches(parts, ids[order[starts]][part_group], frame.crs, n_input, coverage)


def _areas_m2(patches: _Patches) -> np.ndarray:
    """Area of each class's patches (index = class id), before any simplification: the pixels' area."""
    import shapely

    return np.bincount(patches.class_ids, weights=shapely.area(patches.geometries), minlength=N_CLASSES + 1)


def _gather(patches: _Patches, areas_m2: np.ndarray, multi: bool, check: bool = False) -> gpd.GeoDataFrame:
    """One row per class: its patches gathered into a MultiPolygon, without a union.

    Patches of one class meet at most at corners once merged (4-connected
    patches of a mask), which a MultiPolygon allows. ``areas_m2`` (by class
    id, from :func:`_areas_m2`) become ``area_km2``. ``check`` repairs the
    MultiPolygons that are invalid, which only patches simplified one by one
    (no coverage) or repaired can make.
    """
    import geopandas as gpd
    import shapely

    columns = ["class_id", "class_name", "area_km2", "n_polygons", "geometry"]
    geometries, class_ids = patches.geometries, patches.class_ids
    if len(geometries) and ((shapely.get_type_id(geometries) != 3) | shapely.is_empty(geometries)).any():
        parts, index = shapely.get_parts(geometries, return_index=True)  # a repaired patch: its polygons
        keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
        geometries, class_ids = parts[keep], class_ids[index[keep]]
    by_class = np.argsort(class_ids, kind="stable")
    classes, counts = np.unique(class_ids, return_counts=True)
    gathered = shapely.multipolygons(geometries[by_class], indices=np.repeat(np.arange(len(classes)), counts))
    if not multi and len(classes):
        single = counts == 1
        gathered[single] = geometries[by_class][np.r_[0, np.cumsum(counts)[:-1]][single]]
    if check:
        bad = ~shapely.is_valid(gathered)
        if bad.any():
            gathered[bad] = shapely.make_valid(gathered[bad])
    result = gpd.GeoDataFrame(
        {
            "class_id": classes.astype(np.int64),
            "class_name": [CLASS_NAMES[int(i)] for i in classes],
            "area_km2": areas_m2[classes] / 1e6,
            "n_polygons": np.array([patches.n_input[int(i)] for i in classes], dtype=np.int64),
        },
        geometry=gpd.GeoSeries(gathered, crs=patches.crs),
        crs=patches.crs,
    )
    return result[columns]


def dissolve_by_class(
    polygons: gpd.GeoDataFrame | Iterable[gpd.GeoDataFrame], multi: bool = False
) -> gpd.GeoDataFrame:
    """One (multi)polygon per class, from the polygons of one tile or of many (a region).

    Patches of one class that share a border (a patch cut by a tile edge)
    are merged; the others are only gathered into a MultiPolygon, since
    patches traced from one mask touch at most at a corner. That keeps a
    region of ten thousand patches to a fraction of a second, where a union
    of every patch per class would take seconds. Work in the tiles' CRS
    (EPSG:3035): areas in degrees would be neither exact nor equal-area.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or iterable of geopandas.GeoDataFrame
        Patches from :func:`create_geojson_from_mask` (a ``class_id`` column,
        polygon geometries), of one mask or of several tiles, in one CRS.
    multi : bool
        Make every geometry a MultiPolygon, even of one part (one geometry
        type for API clients); by default a class of one part is a Polygon.

    Returns
    -------
    geopandas.GeoDataFrame
        ``class_id``, ``class_name``, ``area_km2`` (area of the class's
        pixels, km²), ``n_polygons`` (patches merged) and ``geometry``; CRS
        of the input; sorted by class id; empty when there are no patches.

    Raises
    ------
    ValueError
        If the frames differ in CRS, lack ``class_id``, hold ids outside
        1..10 or geometries that are not polygons, or none are given.
    """
    patches = _merge_patches(polygons)
    return _gather(patches, _areas_m2(patches), multi)


def _on_pixel_grid(geometries: np.ndarray, grid_m: float) -> bool:
    """Whether every vertex lies on one grid of ``grid_m`` and every edge is horizontal or vertical.

    Polygons traced from masks on one grid pass; once each gets a vertex at
    every pixel corner, neighbours then have the same vertices along every
    shared border, which ``coverage_simplify`` needs.
    """
    import shapely

    rings = shapely.get_rings(shapely.get_parts(geometries))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    if not len(coords):
        return True
    steps = (coords - coords[0]) / grid_m
    if not np.allclose(steps, np.round(steps), rtol=0.0, atol=1e-6):
        return False
    edges = np.diff(coords, axis=0)[ring[1:] == ring[:-1]]
    return bool((np.isclose(edges[:, 0], 0.0, atol=1e-6) | np.isclose(edges[:, 1], 0.0, atol=1e-6)).all())


def _check_simplify_args(tolerance_m: float, grid_m: float, crs: CRS | None | bool = False) -> None:
    """Raise a ``ValueError`` naming the parameter when a tolerance, a pixel size or the CRS (if given) is wrong."""
    if not isinstance(tolerance_m, int | float) or isinstance(tolerance_m, bool) or not tolerance_m >= 0:
        raise ValueError(f"tolerance_m={tolerance_m!r} must be a distance in metres >= 0")
    if not isinstance(grid_m, int | float) or isinstance(grid_m, bool) or not grid_m > 0:
        raise ValueError(f"grid_m={grid_m!r} must be the pixel size in metres (> 0)")
    if crs is not False and (crs is None or not crs.is_projected):
        raise ValueError(
            f"polygons are in {crs}: simplify in a projected CRS (EPSG:3035), before reprojecting"
        )


def _simplify_coverage(
    geometries: np.ndarray, tolerance_m: float, grid_m: float, simplify_boundary: bool, coverage: bool = True
) -> tuple[np.ndarray, bool]:
    """Polygons simplified as one coverage, or one by one (with a warning) when they are none.

    ``coverage=False`` (overlaps found between tiles) forces the fallback.
    Also says whether the result is a clean coverage (no fallback, no repair).
    """
    import shapely

    if tolerance_m == 0 or not len(geometries):
        return geometries.copy(), True
    clean = coverage and _on_pixel_grid(geometries, float(grid_m))
    if clean:
        dense = shapely.segmentize(geometries, float(grid_m))
        simplified = shapely.coverage_simplify(dense, float(tolerance_m), simplify_boundary=simplify_boundary)
    else:
        warnings.warn(
            "the polygons are not a coverage on one pixel grid (they overlap, or their edges are not "
            "pixel edges): each is simplified alone, so small gaps or overlaps may appear between classes",
            stacklevel=3,
        )
        simplified = shapely.simplify(geometries, float(tolerance_m), preserve_topology=True)
    bad = ~shapely.is_valid(simplified)
    if bad.any():
        simplified[bad] = shapely.make_valid(simplified[bad])
    return simplified, clean and not bad.any()


def simplify_polygons(
    polygons: gpd.GeoDataFrame,
    tolerance_m: float,
    grid_m: float = TILE_PIXEL_M,
    simplify_boundary: bool = True,
) -> gpd.GeoDataFrame:
    """Simplify class polygons by ``tolerance_m`` metres, keeping neighbours glued together.

    The polygons are treated as one *coverage* (``shapely.coverage_simplify``):
    a border shared by two classes is simplified once, so no gap or overlap
    opens between them, as it would if each polygon were simplified alone.
    Pixel polygons first get a vertex at every pixel corner (``grid_m``, the
    pixel size in metres) so both sides of a border have the same vertices,
    which the coverage algorithm requires. Rather than the slow
    ``shapely.coverage_is_valid``, a cheap test checks that every edge is a
    pixel edge on one grid, as for polygons traced from masks; should that
    fail, each polygon is simplified alone (topology kept within each polygon
    only) with a warning. Overlaps are not searched for here
    (:func:`class_polygons_for_region` looks for them between tiles).

    The ``area_km2`` column is kept as it was: the pixel-exact area, not the
    area of the simplified outline. Simplify in EPSG:3035, *before*
    reprojecting to EPSG:4326, so the tolerance is in metres everywhere.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Class polygons in a projected CRS (metres), e.g. from
        :func:`dissolve_by_class`.
    tolerance_m : float
        Simplification tolerance in metres (``0`` returns a copy).
    grid_m : float
        Pixel size of the mask the polygons came from, in metres (10 for the tiles).
    simplify_boundary : bool
        Whether the outer edge of the coverage (a tile's or region's outline)
        is simplified too.

    Returns
    -------
    geopandas.GeoDataFrame
        The same rows and columns, with simplified geometries.

    Raises
    ------
    ValueError
        If ``tolerance_m`` or ``grid_m`` is negative (or not a number), or the
        polygons are not in a projected CRS.
    """
    _check_simplify_args(tolerance_m, grid_m, polygons.crs)
    result = polygons.copy()
    result["geometry"] = _simplify_coverage(result.geometry.to_numpy(), tolerance_m, grid_m, simplify_boundary)[0]
    return result


def class_polygons_for_region(
    polygons: gpd.GeoDataFrame | Iterable[gpd.GeoDataFrame],
    tolerance_m: float = 0.0,
    grid_m: float = TILE_PIXEL_M,
    multi: bool = False,
) -> gpd.GeoDataFrame:
    """Dissolve the polygons of one or more tiles (or a region's mosaic) by class, then simplify them.

    The steps, all in EPSG:3035 metres: patches of one class cut apart by a
    tile edge are merged first, so no tile edge survives; then every patch
    is simplified at once as one coverage (a border between two classes
    moves once: no gap, no overlap); last, each class's patches are gathered
    into one (multi)polygon, without a union. ``area_km2`` is measured
    before simplifying, and reprojecting (:func:`to_geojson`) comes after.
    No union of whole classes and no full coverage check are run, which
    keeps the 12,000 patches of a region to about a second of work.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or iterable of geopandas.GeoDataFrame
        :func:`create_geojson_from_mask` output of a region's mosaic, or of
        each of its tiles, in EPSG:3035.
    tolerance_m : float
        Simplification tolerance in metres; ``0`` keeps the pixel edges.
    grid_m : float
        Pixel size of the masks, in metres (10 for the tiles).
    multi : bool
        Every geometry a MultiPolygon (see :func:`dissolve_by_class`).

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`dissolve_by_class`: ``class_id``, ``class_name``,
        ``area_km2`` (pixel-exact, before simplification), ``n_polygons``,
        ``geometry``.

    Raises
    ------
    ValueError
        On the bad input :func:`dissolve_by_class` and
        :func:`simplify_polygons` refuse.
    """
    _check_simplify_args(tolerance_m, grid_m)
    patches = _merge_patches(polygons)
    _check_simplify_args(tolerance_m, grid_m, patches.crs)
    areas_m2 = _areas_m2(patches)  # pixel-exact, before simplifying
    simplified, clean = _simplify_coverage(patches.geometries, tolerance_m, grid_m, True, patches.coverage)
    return _gather(patches._replace(geometries=simplified), areas_m2, multi, check=not clean)


def to_geojson(
    polygons: gpd.GeoDataFrame, crs: str = WGS84, decimals: int | None = None
) -> dict[str, Any]:
    """Class polygons as a GeoJSON FeatureCollection (a dict, ready for ``json.dumps`` or an API).

    By default the coordinates are longitude, latitude in EPSG:4326, as RFC 7946
    requires, rounded to ``decimals`` places (6: about 0.1 m). Pass
    ``crs="EPSG:3035"`` for coordinates in metres (to measure areas); the
    collection then carries a ``crs`` member naming it, as RFC 7946 readers
    would otherwise assume WGS84. Properties are every non-geometry column
    (``class_id``, ``class_name``, ``area_km2``, ...), areas being those
    computed in EPSG:3035 before reprojection.

    Raises
    ------
    ValueError
        If ``crs`` is neither EPSG:4326 nor EPSG:3035, or the polygons have no CRS.
    """
    import shapely
    from pyproj import CRS

    if polygons.crs is None:
        raise ValueError("polygons have no CRS: set it (EPSG:3035 for the tiles) before exporting")
    target = CRS.from_user_input(crs)
    epsg = target.to_epsg()
    if epsg not in (4326, 3035):
        raise ValueError(f"crs={crs!r}: GeoJSON is written in EPSG:4326 (RFC 7946) or EPSG:3035 (areas)")
    frame = polygons.to_crs(target) if not polygons.crs.equals(target) else polygons.copy()
    places = (WGS84_DECIMALS if epsg == 4326 else 2) if decimals is None else int(decimals)
    if places >= 0 and not frame.empty:
        # Rounding vertex by vertex is cheap; the rare outline it breaks is snapped and repaired.
        geometries = frame.geometry.to_numpy()
        rounded = shapely.transform(geometries, lambda xy: np.round(xy, places))
        bad = ~shapely.is_valid(rounded)
        if bad.any():
            rounded[bad] = shapely.make_valid(shapely.set_precision(geometries[bad], 10.0**-places))
        frame["geometry"] = rounded
        frame = frame[~frame.geometry.is_empty]
    # RFC 7946 right-hand rule: exterior rings counter-clockwise, holes clockwise.
    frame["geometry"] = shapely.orient_polygons(frame.geometry.values, exterior_cw=False)
    # Python numbers in the properties; coordinates as tuples, which json.dumps writes as arrays.
    collection: dict[str, Any] = frame.to_geo_dict(na="drop", drop_id=True)
    if epsg != 4326:
        collection["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    return collection


def mask_to_geojson(
    image: Mapping[str, Any],
    mask: np.ndarray,
    tolerance_m: float = 0.0,
    crs: str = WGS84,
    dissolve: bool = True,
) -> dict[str, Any]:
    """The classes of a mask as a GeoJSON FeatureCollection dict, in one call.

    Vectorise (:func:`create_geojson_from_mask`), dissolve by class (unless
    ``dissolve=False``), simplify by ``tolerance_m`` metres in EPSG:3035, then
    write EPSG:4326 (RFC 7946) or, on request, EPSG:3035 (:func:`to_geojson`).
    """
    polygons = create_geojson_from_mask(image, mask)
    if dissolve:
        polygons = class_polygons_for_region(polygons, tolerance_m)
    else:
        polygons = simplify_polygons(polygons, tolerance_m)
    return to_geojson(polygons, crs=crs)

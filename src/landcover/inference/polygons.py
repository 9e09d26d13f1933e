"""Class masks turned into polygons: one per patch of pixels, dissolved by class, simplified, as GeoJSON.

The polygons follow the pixel edges of the mask on the image's own grid
(EPSG:3035 for the tiles, an equal-area CRS), so their areas are exact: a
class's polygons cover exactly its pixels. Dissolving and simplifying happen
in EPSG:3035 metres too; only the finished polygons go to EPSG:4326 for web
maps and GeoJSON (RFC 7946).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

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
    geometries: list[Any] = []
    for geometry, value in shapes(values, mask=values != NODATA, connectivity=4, transform=transform):
        ids.append(int(value))
        geometries.append(shapely.geometry.shape(geometry))
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


def _as_one_frame(polygons: gpd.GeoDataFrame | Iterable[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """One GeoDataFrame from one or several (tiles of a region), all in the same CRS."""
    import geopandas as gpd
    import pandas as pd

    if isinstance(polygons, gpd.GeoDataFrame):
        frames = [polygons]
    else:
        frames = list(polygons)
        if not frames:
            raise ValueError("polygons is an empty list: nothing to dissolve")
    crs_set = {None if f.crs is None else f.crs.to_string() for f in frames}
    if len(crs_set) != 1 or None in crs_set:
        raise ValueError(f"polygons must all have the same CRS, got {sorted(map(str, crs_set))}")
    for frame in frames:
        if "class_id" not in frame.columns:
            raise ValueError(f"polygons need a 'class_id' column, got columns {list(frame.columns)}")
    if len(frames) == 1:
        return frames[0]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def dissolve_by_class(polygons: gpd.GeoDataFrame | Iterable[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """One (multi)polygon per class, from the polygons of one tile or of many (a region).

    Patches that touch across tile edges merge. Work in the tiles' CRS
    (EPSG:3035): a union in degrees would be neither exact nor equal-area.

    Returns
    -------
    geopandas.GeoDataFrame
        ``class_id``, ``class_name``, ``area_km2`` (area of the union, km²),
        ``n_polygons`` (patches merged) and ``geometry``; CRS of the input.
    """
    import geopandas as gpd
    import shapely

    frame = _as_one_frame(polygons)
    ids = sorted(int(i) for i in frame["class_id"].unique())
    unknown = [i for i in ids if i not in CLASS_NAMES]
    if unknown:
        raise ValueError(f"polygons hold class_id values {unknown} that are not classes 1..{N_CLASSES}")
    class_ids = frame["class_id"].to_numpy()
    merged = [shapely.union_all(frame.geometry.values[class_ids == i]) for i in ids]
    result = gpd.GeoDataFrame(
        {
            "class_id": np.asarray(ids, dtype=np.int64),
            "class_name": [CLASS_NAMES[i] for i in ids],
            "n_polygons": [int((class_ids == i).sum()) for i in ids],
        },
        geometry=gpd.GeoSeries(merged, crs=frame.crs),
        crs=frame.crs,
    )
    result["area_km2"] = result.geometry.area / 1e6
    return result[["class_id", "class_name", "area_km2", "n_polygons", "geometry"]]


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
    which the coverage algorithm requires. Should the input still not be a
    valid coverage, each polygon is simplified alone (topology kept within
    each polygon only) with a warning.

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
    import shapely

    if not isinstance(tolerance_m, int | float) or isinstance(tolerance_m, bool) or not tolerance_m >= 0:
        raise ValueError(f"tolerance_m={tolerance_m!r} must be a distance in metres >= 0")
    if not isinstance(grid_m, int | float) or isinstance(grid_m, bool) or not grid_m > 0:
        raise ValueError(f"grid_m={grid_m!r} must be the pixel size in metres (> 0)")
    if polygons.crs is None or not polygons.crs.is_projected:
        raise ValueError(
            f"polygons are in {polygons.crs}: simplify in a projected CRS (EPSG:3035), before reprojecting"
        )
    result = polygons.copy()
    if tolerance_m == 0 or result.empty:
        return result
    geometries = shapely.segmentize(result.geometry.values, float(grid_m))
    if shapely.coverage_is_valid(geometries):
        simplified = shapely.coverage_simplify(geometries, float(tolerance_m), simplify_boundary=simplify_boundary)
    else:
        warnings.warn(
            "the polygons are not a valid coverage (they overlap or their borders do not match): "
            "each is simplified alone, so small gaps or overlaps may appear between classes",
            stacklevel=2,
        )
        simplified = shapely.simplify(geometries, float(tolerance_m), preserve_topology=True)
    result["geometry"] = shapely.make_valid(simplified)
    return result


def class_polygons_for_region(
    polygons: gpd.GeoDataFrame | Iterable[gpd.GeoDataFrame],
    tolerance_m: float = 0.0,
    grid_m: float = TILE_PIXEL_M,
) -> gpd.GeoDataFrame:
    """Dissolve the polygons of one or more tiles by class, then simplify them (EPSG:3035 metres).

    The order matters: dissolving first removes the tile edges, and
    simplifying a coverage in metres, before any reprojection, keeps borders
    shared and the tolerance meaningful.
    """
    return simplify_polygons(dissolve_by_class(polygons), tolerance_m, grid_m=grid_m)


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
        frame["geometry"] = shapely.make_valid(shapely.set_precision(frame.geometry.values, 10.0**-places))
        frame = frame[~frame.geometry.is_empty]
    # RFC 7946 right-hand rule: exterior rings counter-clockwise, holes clockwise.
    frame["geometry"] = shapely.orient_polygons(frame.geometry.values, exterior_cw=False)
    # Through JSON text: plain lists and Python numbers, as json.dumps and web frameworks want.
    collection: dict[str, Any] = json.loads(frame.to_json(drop_id=True, na="drop"))
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
        polygons = dissolve_by_class(polygons)
    polygons = simplify_polygons(polygons, tolerance_m)
    return to_geojson(polygons, crs=crs)

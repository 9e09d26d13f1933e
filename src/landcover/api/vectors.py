"""Region polygons fast enough for a web answer: patches gathered by class, simplified as one coverage.

The patches come from :func:`landcover.inference.polygons.create_geojson_from_mask`
(one polygon per patch of same-class pixels, EPSG:3035, pixel-exact areas).
For a region of thousands of patches, a union per class and the coverage
check before simplifying take tens of seconds; here they are skipped because
the patches of one mask never overlap and share their edges exactly:

- simplifying: all patches at once with ``shapely.coverage_simplify``, so a
  border between two classes moves once and no gap or overlap opens;
- dissolving: the patches of a class gathered into one MultiPolygon (patches
  of one class touch at most at corners, which a MultiPolygon allows).

The output has the columns and GeoJSON form of
:func:`landcover.inference.polygons.to_geojson` (``class_id``,
``class_name``, ``area_km2``, ``n_polygons``), so a client reads tile and
region answers alike.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from landcover.classes import CLASS_NAMES

#: CRS of GeoJSON by RFC 7946, and the other one a client may ask for (metres, equal-area).
GEOJSON_CRS = "EPSG:4326"
AREA_CRS = "EPSG:3035"
#: Decimal places of the coordinates: degrees (1e-6 is about 0.1 m) and metres.
DECIMALS = {GEOJSON_CRS: 6, AREA_CRS: 2}


def simplify_patches(geometries: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Simplify the patches of a class mask together, as a coverage, with a tolerance in metres.

    A patch that comes out invalid or empty is simplified on its own instead
    (topology kept within it), so no patch is lost.
    """
    simplified = shapely.coverage_simplify(geometries, float(tolerance_m))
    bad = ~shapely.is_valid(simplified) | shapely.is_empty(simplified)
    if bad.any():
        simplified[bad] = shapely.simplify(geometries[bad], float(tolerance_m), preserve_topology=True)
    return simplified


def dissolve_patches(patches: gpd.GeoDataFrame, simplify_m: float = 0.0) -> gpd.GeoDataFrame:
    """One (multi)polygon per class from the patches of one mask, simplified by ``simplify_m`` metres.

    Parameters
    ----------
    patches : geopandas.GeoDataFrame
        :func:`~landcover.inference.polygons.create_geojson_from_mask` output
        (``class_id``, ``area_km2``, ``geometry``) in EPSG:3035.
    simplify_m : float
        Tolerance in metres; 0 keeps the pixel edges.

    Returns
    -------
    geopandas.GeoDataFrame
        ``class_id``, ``class_name``, ``area_km2`` (pixel-exact, before
        simplification), ``n_polygons`` and ``geometry``, sorted by class id.
    """
    columns = ["class_id", "class_name", "area_km2", "n_polygons", "geometry"]
    if patches.empty:
        return gpd.GeoDataFrame({c: [] for c in columns[:-1]}, geometry=[], crs=patches.crs)
    ids = patches["class_id"].to_numpy()
    geometries = patches.geometry.to_numpy()
    if simplify_m > 0:
        geometries = simplify_patches(geometries, simplify_m)
    order = np.argsort(ids, kind="stable")
    classes, starts, counts = np.unique(ids[order], return_index=True, return_counts=True)
    merged = shapely.multipolygons(geometries[order], indices=np.repeat(np.arange(len(classes)), counts))
    areas = np.bincount(np.searchsorted(classes, ids), weights=patches["area_km2"].to_numpy(), minlength=len(classes))
    frame = gpd.GeoDataFrame(
        {
            "class_id": classes.astype(np.int64),
            "class_name": [CLASS_NAMES[int(i)] for i in classes],
            "area_km2": areas,
            "n_polygons": counts.astype(np.int64),
        },
        geometry=merged, crs=patches.crs,
    )
    return frame[~frame.geometry.is_empty].reset_index(drop=True)[columns]


def feature_collection(frame: gpd.GeoDataFrame, crs: str = GEOJSON_CRS) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (a dict) of ``frame`` reprojected to ``crs`` (EPSG:4326 or EPSG:3035).

    Coordinates are rounded (:data:`DECIMALS`) point by point, which is
    cheap; in EPSG:3035 the collection names its CRS in a ``crs`` member, as
    RFC 7946 readers would otherwise assume WGS84.
    """
    target = frame.to_crs(crs) if not frame.empty else frame.copy()
    if not target.empty:
        decimals = DECIMALS.get(crs, 6)
        target["geometry"] = shapely.transform(target.geometry.to_numpy(), lambda xy: np.round(xy, decimals))
    collection: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [] if target.empty else target.to_geo_dict(drop_id=True)["features"],
    }
    if crs != GEOJSON_CRS:
        collection["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs.split(':')[-1]}"}}
    return collection

"""Zonal statistics: the area of each class of a class raster inside each NUTS3 region.

A pixel on a region's border is partly inside. Two rules decide how much of it
counts:

- the *pixel-centre* rule (:func:`pixel_centre_counts`) counts a pixel wholly
  when its centre is inside (``rasterio.features.rasterize``, ``all_touched=False``),
  so border errors mostly cancel out;
- the *exact* rule (:func:`exact_coverage_counts`, with ``exactextract``)
  counts the fraction of the pixel's area inside the polygon, so the areas add
  up to the polygon's area exactly.

The two differ by less than one strip of border pixels. Rasters are on the
tiles' grid: EPSG:3035, 10 m pixels, north-up; regions are GeoDataFrames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from rasterio.features import rasterize

from landcover.classes import CLASS_IDS, NODATA
from landcover.stats._validation import PIXEL_AREA_M2, as_class_raster, class_ids, north_up_transform
from landcover.stats.change import transition_matrix

#: CRS of the rasters and of every area (ETRS89-LAEA Europe, equal-area, metres).
AREA_CRS = "EPSG:3035"
M2_PER_KM2 = 1e6


def _regions(regions: object, id_column: str) -> gpd.GeoDataFrame:
    """``regions`` checked and in EPSG:3035 (reprojected with ``to_crs`` when in another CRS)."""
    if not isinstance(regions, gpd.GeoDataFrame):
        raise ValueError(f"regions must be a GeoDataFrame of polygons; got {type(regions).__name__}")
    if regions.crs is None:
        raise ValueError("regions has no CRS; set it first, e.g. regions.set_crs('EPSG:3035')")
    if id_column not in regions.columns:
        raise ValueError(f"regions has no column {id_column!r} (id_column); columns: {list(regions.columns)}")
    if regions[id_column].duplicated().any():
        raise ValueError(f"regions has repeated ids in {id_column!r}: {sorted(regions[id_column][regions[id_column].duplicated()])}")
    invalid = regions.loc[~regions.geometry.is_valid, id_column].tolist()
    if invalid:
        raise ValueError(f"regions has invalid geometries for {invalid}; repair them with shapely.make_valid")
    return regions if regions.crs.to_epsg() == 3035 else regions.to_crs(AREA_CRS)


def _window(bounds: tuple[float, float, float, float], transform: Affine, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows and columns of the raster that a box (EPSG:3035 m) touches, clipped to the raster."""
    xmin, ymin, xmax, ymax = bounds
    c0 = max(0, math.floor((xmin - transform.c) / transform.a))
    c1 = min(shape[1], math.ceil((xmax - transform.c) / transform.a))
    r0 = max(0, math.floor((transform.f - ymax) / -transform.e))
    r1 = min(shape[0], math.ceil((transform.f - ymin) / -transform.e))
    return slice(r0, max(r0, r1)), slice(c0, max(c0, c1))


def region_masks(
    regions: gpd.GeoDataFrame, transform: Affine, shape: tuple[int, ...], id_column: str = "NUTS_ID"
) -> Iterator[tuple[str, tuple[slice, slice], np.ndarray]]:
    """``(region id, window, mask)`` per region: the pixels whose centre lies in the region.

    Each region is rasterised once, on the window of the raster its bounds
    touch, so the cost grows with the region, not with the raster.
    """
    transform = north_up_transform(transform)
    frame = _regions(regions, id_column)
    for region, geometry in zip(frame[id_column], frame.geometry):
        rows, cols = _window(geometry.bounds, transform, shape)
        height, width = rows.stop - rows.start, cols.stop - cols.start
        if height == 0 or width == 0 or geometry.is_empty:
            yield str(region), (rows, cols), np.zeros((height, width), dtype=bool)
            continue
        window_transform = transform @ Affine.translation(cols.start, rows.start)
        burnt = rasterize([(geometry, 1)], out_shape=(height, width), transform=window_transform,
                          fill=0, all_touched=False, dtype="uint8")
        yield str(region), (rows, cols), burnt.astype(bool)


def _tidy(regions: list[str], pixels: np.ndarray, classes: tuple[int, ...], pixel_area_m2: float) -> pd.DataFrame:
    """Long table ``region, class, pixels, area_km2`` from a ``(regions, classes)`` array."""
    return pd.DataFrame(
        {
            "region": np.repeat(regions, len(classes)),
            "class": np.tile(classes, len(regions)),
            "pixels": pixels.ravel(),
            "area_km2": pixels.ravel() * pixel_area_m2 / M2_PER_KM2,
        }
    )


def _check_values(values: np.ndarray, classes: tuple[int, ...], nodata: int, where: str) -> None:
    """Error when ``values`` hold a value that is neither a class nor nodata."""
    unknown = sorted(set(np.unique(values).tolist()) - set(classes) - {nodata})
    if unknown:
        raise ValueError(f"class_raster holds values {unknown} in {where} that are neither in classes {classes} nor nodata={nodata}")


def pixel_centre_counts(
    class_raster: object,
    transform: Affine,
    regions: gpd.GeoDataFrame,
    id_column: str = "NUTS_ID",
    classes: Iterable[int] = CLASS_IDS,
    nodata: int = NODATA,
    pixel_area_m2: float = PIXEL_AREA_M2,
) -> pd.DataFrame:
    """Pixels of each class whose centre lies in each region: ``region, class, pixels, area_km2``.

    ``class_raster`` is a 2-D class map on the grid ``transform`` (EPSG:3035,
    north-up); ``regions`` a GeoDataFrame with an ``id_column`` (reprojected to
    EPSG:3035 when in another CRS; an error when it has none). Every class of
    ``classes`` gets a row, 0 when absent; ``nodata`` pixels are left out (see
    :func:`region_coverage`). Areas are ``pixels x pixel_area_m2`` (1e-4 km²).
    """
    raster = as_class_raster(class_raster, "class_raster")
    ids = class_ids(classes, nodata)
    length = max(int(raster.max(initial=0)), *ids, nodata) + 1
    names, counts = [], []
    for region, window, mask in region_masks(regions, transform, raster.shape, id_column):
        per_value = np.bincount(raster[window][mask], minlength=length)
        _check_values(np.flatnonzero(per_value), ids, nodata, f"region {region}")
        counts.append(per_value[list(ids)])
        names.append(region)
    return _tidy(names, np.array(counts).reshape(len(names), len(ids)), ids, pixel_area_m2)


def exact_coverage_counts(
    class_raster: object,
    transform: Affine,
    regions: gpd.GeoDataFrame,
    id_column: str = "NUTS_ID",
    classes: Iterable[int] = CLASS_IDS,
    nodata: int = NODATA,
    pixel_area_m2: float = PIXEL_AREA_M2,
) -> pd.DataFrame:
    """Covered pixels of each class in each region, border pixels counted by the fraction inside.

    Same inputs and output as :func:`pixel_centre_counts`, but ``pixels`` is
    fractional: ``exactextract`` computes, for every pixel the polygon touches,
    the share of its area inside the polygon, and sums it per class value
    (operations ``unique``, ``frac`` and ``count``). The areas of all values,
    nodata included, add up to the area of the polygon within the raster.
    """
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    raster = as_class_raster(class_raster, "class_raster")
    ids = class_ids(classes, nodata)
    t = north_up_transform(transform)
    checked = _regions(regions, id_column)
    # a fresh frame: exactextract treats a column named "id" as its own feature id
    frame = gpd.GeoDataFrame({"region": checked[id_column].astype(str).to_numpy()},
                             geometry=checked.geometry.to_numpy(), crs=checked.crs)
    height, width = raster.shape
    source = NumPyRasterSource(raster, t.c, t.f + t.e * height, t.c + t.a * width, t.f)
    result = exact_extract(source, frame, ["unique", "frac", "count"], include_cols=["region"], output="pandas")
    counts = np.zeros((len(result), len(ids)))
    position = {c: k for k, c in enumerate(ids)}
    for r, (region, values, fractions, covered) in enumerate(result[["region", "unique", "frac", "count"]].itertuples(index=False)):
        _check_values(np.asarray(values, dtype=np.int64), ids, nodata, f"region {region}")
        for value, fraction in zip(values, fractions):
            if int(value) in position:
                counts[r, position[int(value)]] = fraction * covered
    return _tidy(result["region"].tolist(), counts, ids, pixel_area_m2)


def region_coverage(
    class_raster: object,
    transform: Affine,
    regions: gpd.GeoDataFrame,
    footprint: object | None = None,
    id_column: str = "NUTS_ID",
    nodata: int = NODATA,
    pixel_area_m2: float = PIXEL_AREA_M2,
) -> pd.DataFrame:
    """How much of each region the statistics describe, by the pixel-centre rule.

    ``footprint`` is a boolean raster, True where a tile exists (a region's
    mosaic is nodata both outside the tiles and on nodata labels); by default the
    whole raster counts as inside tiles. Returns one row per region:
    ``region_area_km2`` (of the polygon), ``in_tiles_km2``, ``valid_km2`` and
    ``nodata_km2`` (region pixels inside tiles that are nodata), ``coverage``
    = valid / region area and ``nodata_share`` = nodata / in tiles.
    """
    raster = as_class_raster(class_raster, "class_raster")
    inside = np.ones(raster.shape, dtype=bool) if footprint is None else np.asarray(footprint, dtype=bool)
    if inside.shape != raster.shape:
        raise ValueError(f"footprint has shape {inside.shape} but class_raster has shape {raster.shape}")
    frame = _regions(regions, id_column)
    km2 = pixel_area_m2 / M2_PER_KM2
    rows = []
    for (region, window, mask), geometry in zip(region_masks(frame, transform, raster.shape, id_column), frame.geometry):
        in_tiles = inside[window] & mask
        nodata_px = int((in_tiles & (raster[window] == nodata)).sum())
        rows.append({"region": region, "region_area_km2": geometry.area / M2_PER_KM2, "in_tiles_km2": in_tiles.sum() * km2,
                     "valid_km2": (in_tiles.sum() - nodata_px) * km2, "nodata_km2": nodata_px * km2})
    table = pd.DataFrame(rows, columns=["region", "region_area_km2", "in_tiles_km2", "valid_km2", "nodata_km2"])
    table["coverage"] = table["valid_km2"] / table["region_area_km2"]
    table["nodata_share"] = table["nodata_km2"] / table["in_tiles_km2"].where(table["in_tiles_km2"] > 0)
    return table


def transitions_by_region(
    map_a: object,
    map_b: object,
    transform: Affine,
    regions: gpd.GeoDataFrame,
    id_column: str = "NUTS_ID",
    classes: Iterable[int] = CLASS_IDS,
    nodata: int = NODATA,
    unit: str = "km2",
) -> dict[str, pd.DataFrame]:
    """One :func:`landcover.stats.transition_matrix` per region (pixel-centre rule), keyed by region id."""
    first = as_class_raster(map_a, "map_a")
    second = as_class_raster(map_b, "map_b")
    if first.shape != second.shape:
        raise ValueError(f"map_a has shape {first.shape} but map_b has shape {second.shape}; they must share a grid")
    out = {}
    for region, window, mask in region_masks(regions, transform, first.shape, id_column):
        a = np.where(mask, first[window], nodata)
        b = np.where(mask, second[window], nodata)
        out[region] = transition_matrix(a, b, classes, nodata, unit)
        out[region].attrs["excluded_pixels"] -= int((~mask).sum())  # count only region pixels left out
    return out

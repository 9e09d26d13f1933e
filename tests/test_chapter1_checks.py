"""The checks of chapter 1: the solution passes, and each usual mistake gets its own hint.

Runs on the tiny dataset (it holds the chapter's tile for 2021 and 2024, its 2021
label, the LU000 tile index and NUTS outline), so no synthetic data are needed. Each case
asserts the hint names the mistake, and that no hint carries code of the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject
from shapely.geometry import Point, box

from landcover.exercises import evaluate

STEM = "4042000_2951690_0_637"
ANSWER_CODE = ("read([", "np.divide(", "to_crs(", "Resampling.", "np.transpose(", "/ 1e6", "sjoin(")


@pytest.fixture
def root(tiny_data: Any, use_data_root: Callable[[Any], str]) -> Any:
    use_data_root(tiny_data.root)
    return tiny_data


@pytest.fixture
def tile(root: Any) -> dict[str, Any]:
    from landcover.data import read_tile

    return read_tile("LU000", 2024, STEM)


def assert_hint(result: Any, expected: str) -> None:
    assert result.status == "incorrect", result
    assert expected in result.message, result.message
    for code in ANSWER_CODE:
        assert code not in result.message, result.message


def stretch(chw: np.ndarray, q: float = 98) -> np.ndarray:
    hwc = np.transpose(chw, (1, 2, 0)).astype(np.float32)
    return np.clip(hwc / np.percentile(hwc, q), 0, 1)


# --- false colour --------------------------------------------------------------------------------


def test_false_colour(tile: dict[str, Any]) -> None:
    from landcover.data import image_path
    from landcover.storage import open_raster

    with open_raster(image_path("LU000", 2024, STEM)) as src:
        profile = src.profile
    bands = tile["array"]
    fc_data = bands[[7, 3, 2]]
    assert evaluate("acq-false-colour", profile, fc_data, stretch(fc_data)).passed
    assert_hint(
        evaluate("acq-false-colour", profile["crs"], fc_data, stretch(fc_data)), "one entry of the metadata"
    )
    assert_hint(evaluate("acq-false-colour", {"count": 14}, fc_data, stretch(fc_data)), "has no driver")
    b8a = bands[[8, 3, 2]]  # channel 9 is B8A, not B8
    assert_hint(
        evaluate("acq-false-colour", profile, b8a, stretch(b8a)),
        "B8A (channel 9) is not the near-infrared band B8",
    )
    rgb = bands[[3, 2, 1]]
    assert_hint(
        evaluate("acq-false-colour", profile, rgb, stretch(rgb)), "False colour needs the near-infrared"
    )
    assert_hint(evaluate("acq-false-colour", profile, fc_data, fc_data), "still bands-first")


# --- NDVI ----------------------------------------------------------------------------------------


def good_ndvi_of(nir: Any, red: Any) -> np.ndarray:
    nir = np.asarray(nir, dtype=np.float64)
    red = np.asarray(red, dtype=np.float64)
    total = nir + red
    ndvi = np.zeros_like(total)
    np.divide(nir - red, total, out=ndvi, where=total != 0)
    return ndvi


def test_ndvi_solution_passes(tile: dict[str, Any]) -> None:
    bands = tile["array"]
    assert evaluate("acq-ndvi", good_ndvi_of, good_ndvi_of(bands[7], bands[3])).passed


def test_ndvi_mistakes(tile: dict[str, Any]) -> None:
    bands = tile["array"]
    ndvi = good_ndvi_of(bands[7], bands[3])

    def with_where(nir: Any, red: Any) -> np.ndarray:  # np.where still divides everywhere
        nir, red = np.asarray(nir, float), np.asarray(red, float)
        return np.where(nir + red == 0, 0.0, (nir - red) / (nir + red))

    def naive(nir: Any, red: Any) -> np.ndarray:
        return (nir - red) / (nir + red)

    def integer_wraps(nir: Any, red: Any) -> np.ndarray:  # guards the zero but subtracts uint16
        total = nir.astype(float) + red
        out = np.zeros(np.shape(total))
        np.divide(nir - red, total, out=out, where=total != 0)
        return out

    def flipped(nir: Any, red: Any) -> np.ndarray:
        return good_ndvi_of(red, nir)

    assert_hint(evaluate("acq-ndvi", with_where, ndvi), "np.where computes both of its branches")
    assert_hint(evaluate("acq-ndvi", naive, ndvi), "divides by zero")
    assert_hint(evaluate("acq-ndvi", integer_wraps, ndvi), "unsigned integers wrap around")
    assert_hint(evaluate("acq-ndvi", flipped, ndvi), "sign flipped")
    assert_hint(evaluate("acq-ndvi", ndvi, ndvi), "should be the function you wrote")
    assert_hint(
        evaluate("acq-ndvi", good_ndvi_of, good_ndvi_of(bands[8], bands[3])), "computed from B8A and B4"
    )
    assert_hint(
        evaluate("acq-ndvi", good_ndvi_of, good_ndvi_of(bands[8], bands[4])), "Array positions count from 0"
    )
    if not np.allclose(bands[12], ndvi, atol=1e-9):  # the synthetic data stores NDVI rounded; the tiny data exactly
        assert_hint(evaluate("acq-ndvi", good_ndvi_of, bands[12].copy()), "stored in channel 13")
    assert_hint(evaluate("acq-ndvi", good_ndvi_of, ndvi.astype(np.float32).astype(int)), "dtype")


# --- regions and tiles ---------------------------------------------------------------------------


def region_answer(place: str = "Eurostat") -> tuple[Any, ...]:
    from landcover.data import geocode, images_prefix, load_nuts3

    lon, lat = geocode(place)
    nuts3 = load_nuts3()
    point = gpd.GeoDataFrame({"place": [place]}, geometry=[Point(lon, lat)], crs="EPSG:4326").to_crs(
        nuts3.crs
    )
    code = gpd.sjoin(point, nuts3, predicate="within")["NUTS_ID"].iloc[0]
    return place, point, code, images_prefix(code, 2024), (lon, lat)


def test_find_region(root: Any) -> None:
    from landcover.data import images_prefix

    place, point, code, folder, (lon, lat) = region_answer()
    assert evaluate("acq-find-region", place, point, code, folder).passed
    in_degrees = gpd.GeoDataFrame(geometry=[Point(lon, lat)], crs="EPSG:4326")
    assert_hint(evaluate("acq-find-region", place, in_degrees, code, folder), "still in EPSG:4326")
    swapped = gpd.GeoDataFrame(geometry=[Point(lat, lon)], crs="EPSG:4326").to_crs(3035)
    assert_hint(evaluate("acq-find-region", place, swapped, code, folder), "longitude and latitude swapped")
    no_crs = gpd.GeoDataFrame(geometry=[point.geometry.iloc[0]])
    assert_hint(evaluate("acq-find-region", place, no_crs, code, folder), "has no CRS")
    assert_hint(evaluate("acq-find-region", place, point, "BE100", folder), "not the region that contains")
    assert_hint(evaluate("acq-find-region", place, point, point["place"], folder), "take the one code")
    assert_hint(evaluate("acq-find-region", place, point, code, images_prefix(code, 2021)), "folder of 2021")
    assert_hint(evaluate("acq-find-region", place, point, code, f"images/{code}/2024"), "relative")
    assert_hint(evaluate("acq-find-region", "Atlantis", point, code, folder), "cannot be geocoded")


def test_find_tile(root: Any) -> None:
    import pandas as pd

    from landcover.data import index_path
    from landcover.storage import open_binary

    _, point, code, _, _ = region_answer()
    with open_binary(index_path(code, 2024)) as handle:
        index = pd.read_parquet(handle)
    boxes = np.stack(index["bbox"].to_numpy())
    x, y = point.geometry.iloc[0].x, point.geometry.iloc[0].y
    inside = (boxes[:, 0] <= x) & (x < boxes[:, 2]) & (boxes[:, 1] <= y) & (y < boxes[:, 3])
    name = index.loc[inside, "filename"].iloc[0]
    assert evaluate("acq-find-tile", code, x, y, inside, name).passed
    assert evaluate("acq-find-tile", code, x, y, pd.Series(inside), name).passed  # a Series is fine too
    wrong_columns = (boxes[:, 1] <= x) & (x < boxes[:, 3]) & (boxes[:, 0] <= y) & (y < boxes[:, 2])
    assert_hint(evaluate("acq-find-tile", code, x, y, wrong_columns, name), "false for every tile")
    assert_hint(evaluate("acq-find-tile", code, 6.17, 49.63, inside, name), "look like degrees")
    assert_hint(evaluate("acq-find-tile", code, x, y, inside.astype(int), name), "booleans")
    assert_hint(evaluate("acq-find-tile", code, x, y, inside[:0], name), "one value each")
    assert_hint(evaluate("acq-find-tile", code, x, y, inside, name.removesuffix(".tif")), "lacks its .tif")
    assert_hint(evaluate("acq-find-tile", code, x, y, inside, f"images/{code}/2024/{name}"), "is a path")


# --- GeoPandas -----------------------------------------------------------------------------------


def test_tile_crs(tile: dict[str, Any]) -> None:
    tile_box = box(*tile["bounds"])
    gdf = gpd.GeoDataFrame({"tile": [STEM]}, geometry=[tile_box], crs=tile["crs"])
    assert evaluate("acq-tile-crs", gdf, gdf.to_crs("EPSG:4326")).passed
    relabelled = gdf.set_crs("EPSG:4326", allow_override=True)
    assert_hint(evaluate("acq-tile-crs", gdf, relabelled), "set_crs only relabels")
    assert_hint(
        evaluate("acq-tile-crs", relabelled, gdf.to_crs("EPSG:4326")), "says its coordinates are degrees"
    )
    assert_hint(
        evaluate("acq-tile-crs", gpd.GeoDataFrame(geometry=[tile_box]), gdf.to_crs(4326)), "has no CRS"
    )
    shifted = gpd.GeoDataFrame(geometry=[box(0, 0, 2500, 2500)], crs=3035)
    assert_hint(evaluate("acq-tile-crs", shifted, shifted.to_crs(4326)), "rectangle has bounds")


def test_tile_nuts(tile: dict[str, Any]) -> None:
    from landcover.data import load_nuts3

    nuts3 = load_nuts3()
    tile_box = box(*tile["bounds"])
    border = gpd.GeoDataFrame({"tile": [STEM]}, geometry=[tile_box], crs="EPSG:3035")
    joined = gpd.sjoin(border, nuts3, predicate="intersects")
    outline = nuts3.loc[nuts3["NUTS_ID"] == joined["NUTS_ID"].iloc[0], "geometry"].iloc[0]
    part = tile_box.intersection(outline)
    area, share = part.area / 1e6, 100 * part.area / tile_box.area
    assert evaluate("acq-tile-nuts", joined, area, share).passed
    assert_hint(evaluate("acq-tile-nuts", joined, part.area, share), "square metres")
    degrees = gpd.GeoSeries([part], crs=3035).to_crs(4326).iloc[0].area  # square degrees: meaningless
    assert_hint(evaluate("acq-tile-nuts", joined, degrees, share), "in degrees")
    assert_hint(evaluate("acq-tile-nuts", joined, area, share / 100), "a fraction")
    empty = gpd.sjoin(border.set_crs(4326, allow_override=True).to_crs(3035), nuts3, predicate="intersects")
    assert_hint(evaluate("acq-tile-nuts", empty, area, share), "`joined` is empty")
    assert_hint(
        evaluate("acq-tile-nuts", joined.drop(columns="tile"), area, share), "keep the tile's columns"
    )


def test_tile_nuts_on_a_border_tile(root: Any) -> None:
    """A tile half outside its region: the whole tile's area is not the answer."""
    from landcover.data import load_nuts3

    nuts3 = load_nuts3()
    outline = nuts3.loc[nuts3["NUTS_ID"] == "LU000", "geometry"].iloc[0]
    corner_x, corner_y = (
        outline.exterior.coords[0] if outline.geom_type == "Polygon" else outline.geoms[0].exterior.coords[0]
    )
    x0, y0 = 10 * round((corner_x - 1250) / 10), 10 * round((corner_y - 1250) / 10)
    stem = f"{int(x0)}_{int(y0)}_0_1"  # a tile centred on a vertex of the outline: partly outside
    tile_box = box(x0, y0, x0 + 2500, y0 + 2500)
    border = gpd.GeoDataFrame({"tile": [stem]}, geometry=[tile_box], crs="EPSG:3035")
    joined = gpd.sjoin(border, nuts3, predicate="intersects")
    if joined.empty:
        pytest.skip("the tiny outline has no tile across its corner")
    part = tile_box.intersection(nuts3.loc[nuts3["NUTS_ID"] == joined["NUTS_ID"].iloc[0], "geometry"].iloc[0])
    assert 0 < part.area < tile_box.area
    assert evaluate("acq-tile-nuts", joined, part.area / 1e6, 100 * part.area / tile_box.area).passed
    assert_hint(evaluate("acq-tile-nuts", joined, 6.25, 100.0), "whole tile")
    within = gpd.sjoin(border, nuts3, predicate="within")
    if within.empty:
        assert_hint(evaluate("acq-tile-nuts", within, 6.25, 100.0), "`joined` is empty")


# --- web maps ------------------------------------------------------------------------------------


def warp(tile: dict[str, Any], resampling: Resampling, fill: float = np.nan) -> tuple[np.ndarray, Any]:
    data = tile["array"][[3, 2, 1]]
    height, width = data.shape[1:]
    transform, dst_w, dst_h = calculate_default_transform(
        tile["crs"], "EPSG:4326", width, height, *tile["bounds"]
    )
    out = np.full((3, dst_h, dst_w), fill, dtype=np.float32)
    reproject(
        source=data.astype(np.float32),
        destination=out,
        src_transform=tile["transform"],
        src_crs=tile["crs"],
        dst_transform=transform,
        dst_crs="EPSG:4326",
        dst_nodata=fill,
        resampling=resampling,
    )
    return out, transform


def build_map(rgb_wgs84: np.ndarray, transform: Any, stretched_over: Any = None, control: bool = True) -> Any:
    from landcover.viz import chw_to_hwc, percentile_stretch
    from landcover.webmaps import WarpedRaster, add_image_layer, finish_map, new_map, rgba_image

    warped = WarpedRaster(rgb_wgs84, transform)
    m = new_map(warped.bounds)
    if stretched_over is None:
        image = rgba_image(percentile_stretch(chw_to_hwc(rgb_wgs84)), warped.valid)
        add_image_layer(m, image, warped, "Sentinel-2 true colour")
    else:  # the tile's own pixels stretched over the envelope: the mistake the chapter warns about
        add_image_layer(m, rgba_image(stretched_over), warped, "Sentinel-2 true colour")
    return finish_map(m) if control else m


def folium_map(rgb_wgs84: np.ndarray, transform: Any, corners_lon_first: bool = False) -> Any:
    """The map as the chapter's solution builds it, with folium's own calls."""
    import folium
    from rasterio.transform import array_bounds

    from landcover.viz import chw_to_hwc, percentile_stretch
    from landcover.webmaps import rgba_image

    west, south, east, north = array_bounds(*rgb_wgs84.shape[1:], transform)
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=14)
    corners = [[west, south], [east, north]] if corners_lon_first else [[south, west], [north, east]]
    picture = rgba_image(percentile_stretch(chw_to_hwc(rgb_wgs84)))
    folium.raster_layers.ImageOverlay(image=picture, bounds=corners, name="Sentinel-2 true colour").add_to(m)
    folium.LayerControl().add_to(m)
    return m


def test_tile_map_built_with_folium(tile: dict[str, Any]) -> None:
    rgb_wgs84, transform = warp(tile, Resampling.bilinear)
    assert evaluate("acq-tile-map", rgb_wgs84, transform, folium_map(rgb_wgs84, transform)).passed
    swapped = folium_map(rgb_wgs84, transform, corners_lon_first=True)
    assert_hint(evaluate("acq-tile-map", rgb_wgs84, transform, swapped), "latitude first")


def test_tile_map(tile: dict[str, Any]) -> None:
    rgb_wgs84, transform = warp(tile, Resampling.bilinear)
    good_map = build_map(rgb_wgs84, transform)
    assert evaluate("acq-tile-map", rgb_wgs84, transform, good_map).passed
    nearest, _ = warp(tile, Resampling.nearest)
    assert_hint(evaluate("acq-tile-map", nearest, transform, good_map), "nearest neighbour")
    zeros, _ = warp(tile, Resampling.bilinear, fill=0.0)
    assert_hint(evaluate("acq-tile-map", zeros, transform, good_map), "has no NaN")
    raw = tile["array"][[3, 2, 1]].astype(np.float32)
    assert_hint(evaluate("acq-tile-map", raw, transform, good_map), "tile's own 250 x 250 grid")
    assert_hint(
        evaluate("acq-tile-map", np.moveaxis(rgb_wgs84, 0, -1), transform, good_map), "keep the bands first"
    )
    stretched = build_map(rgb_wgs84, transform, stretched_over=stretch(raw))
    assert_hint(evaluate("acq-tile-map", rgb_wgs84, transform, stretched), "stretched over the corners")
    assert_hint(
        evaluate("acq-tile-map", rgb_wgs84, transform, build_map(rgb_wgs84, transform, control=False)),
        "layer control",
    )
    assert_hint(evaluate("acq-tile-map", rgb_wgs84, tile["transform"], good_map), "`dst_transform`")


def label_map_answer(
    root: Any, label_resampling: str = "nearest", grid_of_image: bool = True
) -> tuple[Any, ...]:
    from landcover.data import load_label, read_tile
    from landcover.viz import chw_to_hwc, classes_present, percentile_stretch
    from landcover.webmaps import (
        add_class_legend,
        add_class_tooltips,
        add_image_layer,
        class_rgba,
        finish_map,
        new_map,
        reproject_to_wgs84,
        rgba_image,
        wgs84_grid,
    )

    pair = read_tile("LU000", 2021, STEM)
    label = load_label("LU000", 2021, STEM)
    data = pair["array"][[3, 2, 1]]
    grid = wgs84_grid(pair["crs"], pair["transform"], 250, 250)
    image = reproject_to_wgs84(data, pair["transform"], pair["crs"], "bilinear", grid=grid)
    source = label if label_resampling == "nearest" else label.astype(np.float32)
    warped = reproject_to_wgs84(
        source, pair["transform"], pair["crs"], label_resampling, grid=grid if grid_of_image else None
    )
    m = new_map(image.bounds)
    add_image_layer(m, rgba_image(percentile_stretch(chw_to_hwc(image.array)), image.valid), image, "Image")
    if label_resampling == "nearest":
        add_image_layer(m, class_rgba(warped.array[0]), warped, "Label", opacity=0.75)
    add_class_tooltips(m, label, pair["transform"], pair["crs"])
    add_class_legend(m, classes_present(label))
    return image.array, warped.array, finish_map(m)


def test_label_map(root: Any) -> None:
    image, label, m = label_map_answer(root)
    assert evaluate("acq-label-map", image, label, m).passed
    assert evaluate("acq-label-map", image, label[0], m).passed
    _, bilinear, _ = label_map_answer(root, "bilinear")
    assert_hint(evaluate("acq-label-map", image, bilinear, m), "interpolated")
    _, _, image_only = label_map_answer(root, "bilinear")
    assert_hint(evaluate("acq-label-map", image, label, image_only), "two image layers")
    assert_hint(
        evaluate("acq-label-map", image, label[:, :-3, :], m), "resample the label on the image's grid"
    )
    assert_hint(
        evaluate("acq-label-map", image, np.zeros_like(label), m), "differs from the nearest-neighbour"
    )


# --- labels --------------------------------------------------------------------------------------


def test_label(root: Any) -> None:
    import io

    from landcover.data import image_path, label_path
    from landcover.storage import read_bytes

    path = label_path("LU000", 2021, STEM)
    label = np.load(io.BytesIO(read_bytes(path)))
    assert evaluate("acq-label", path, label).passed
    assert_hint(evaluate("acq-label", label_path("LU000", 2024, STEM), label), "there is no 2024 label")
    assert_hint(evaluate("acq-label", image_path("LU000", 2021, STEM), label), "is the image")
    raw = label.copy()
    raw[:5] = 254
    assert_hint(evaluate("acq-label", path, raw), "not remapped")
    assert_hint(evaluate("acq-label", path, label.astype(float)), "integer class ids")


def test_pair(root: Any) -> None:
    from landcover.data import load_label, read_tile
    from landcover.viz import classes_present, false_colour, true_colour

    label = load_label("LU000", 2021, STEM)
    pair = read_tile("LU000", 2021, STEM)
    ndvi = pair["array"][12]
    means = {k: float(ndvi[label == k].mean()) for k in classes_present(label)}
    rgb = true_colour(pair["array"])
    assert evaluate("acq-pair", pair["path"], rgb, means).passed
    later = read_tile("LU000", 2024, STEM)
    assert_hint(
        evaluate("acq-pair", later["path"], true_colour(later["array"]), means), "the label describes 2021"
    )
    assert_hint(evaluate("acq-pair", pair["path"], false_colour(pair["array"]), means), "false-colour")
    with_nodata = {0: 0.1, **means}
    assert_hint(evaluate("acq-pair", pair["path"], rgb, with_nodata), "leave it out")
    missing = dict(list(means.items())[1:])
    assert_hint(evaluate("acq-pair", pair["path"], rgb, missing), "misses class")
    other_ndvi = later["array"][12]
    other_means = {k: float(other_ndvi[label == k].mean()) for k in means}
    if not np.allclose(list(other_means.values()), list(means.values()), atol=1e-3):
        assert_hint(evaluate("acq-pair", pair["path"], rgb, other_means), "computed on the 2024 image")


# --- clouds (the cloudy tile is in the synthetic data, not in the tiny dataset) -------------------


def test_clouds(synthetic_dir: Any, use_data_root: Callable[[Any], str]) -> None:
    from landcover.bands import band_index
    from landcover.clouds import HOT_THRESHOLD
    from landcover.data import read_tile
    from landcover.exercises.acquisition import CLOUDY_TILE

    use_data_root(synthetic_dir)
    bands = read_tile(*CLOUDY_TILE)["array"]
    blue, green, red = (bands[band_index(name) - 1] for name in ("B2", "B3", "B4"))
    hot = blue - 0.5 * red
    flags = hot > HOT_THRESHOLD
    share = float(flags.mean())
    assert 0.05 < share < 0.4
    assert evaluate("acq-clouds", hot, flags, share).passed
    assert_hint(evaluate("acq-clouds", red - 0.5 * blue, flags, share), "blue minus half of red")
    assert_hint(evaluate("acq-clouds", green - 0.5 * red, flags, share), "green band")
    assert_hint(evaluate("acq-clouds", blue - red, flags, share), "half of it")
    assert_hint(evaluate("acq-clouds", hot, ~flags, share), "flags the clear pixels")
    assert_hint(evaluate("acq-clouds", hot, hot > 0.2, share), "exactly where")
    assert_hint(evaluate("acq-clouds", hot, flags, 100 * share), "percentage")
    assert_hint(evaluate("acq-clouds", hot, flags, int(flags.sum())), "number of cloudy pixels")
    assert_hint(evaluate("acq-clouds", hot, flags.astype(float), share), "boolean")

"""landcover.webmaps: rasters resampled onto a longitude/latitude grid, and complete folium maps.

The geometry tests place a marker pixel in EPSG:3035 and find it where pyproj says
it is in WGS84; the map tests look at what a map holds. Drawing maps in a real
browser is tested in test_chapter1_execution.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer

from landcover import webmaps
from landcover.classes import CLASS_COLOURS, CLASS_IDS

# Tile 4042000_2951690_0_637 of LU000: 250 x 250 pixels of 10 m in EPSG:3035.
TRANSFORM = Affine(10.0, 0.0, 4042000.0, 0.0, -10.0, 2954190.0)
CRS = "EPSG:3035"
TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def marker_image(row: int = 60, col: int = 180) -> np.ndarray:
    """Three bands of 0.1 with a bright 5 x 5 square centred on (row, col)."""
    image = np.full((3, 250, 250), 0.1, dtype=np.float64)
    image[:, row - 2 : row + 3, col - 2 : col + 3] = 0.9
    return image


def test_grid_covers_the_tile_at_about_its_resolution() -> None:
    transform, width, height = webmaps.wgs84_grid(CRS, TRANSFORM, 250, 250)
    lon_step, lat_step = transform.a, -transform.e
    # 10 m is about 0.00014° of longitude and 0.00009° of latitude at 49.6° N: square cells sit between.
    assert 0.00008 < lon_step < 0.00015 and lon_step == pytest.approx(lat_step)
    corners = [
        TO_LONLAT.transform(x, y)
        for x, y in [(4042000, 2951690), (4044500, 2954190), (4042000, 2954190), (4044500, 2951690)]
    ]
    west, north = transform.c, transform.f
    east, south = west + width * lon_step, north - height * lat_step
    for lon, lat in corners:  # calculate_default_transform's grid covers the tile to within one cell
        assert west - lon_step <= lon <= east + lon_step and south - lat_step <= lat <= north + lat_step


def test_reprojection_puts_a_pixel_where_it_belongs() -> None:
    row, col = 60, 180
    warped = webmaps.reproject_to_wgs84(marker_image(row, col), TRANSFORM, CRS, "bilinear")
    assert warped.array.dtype == np.float32 and warped.array.shape[0] == 3
    x, y = TRANSFORM @ (col + 0.5, row + 0.5)
    lon, lat = TO_LONLAT.transform(x, y)
    c, r = ~warped.transform @ (lon, lat)
    assert warped.array[0, int(r), int(c)] == pytest.approx(0.9, abs=0.05)
    bright = np.argwhere(warped.array[0] > 0.5)
    centre_row, centre_col = bright.mean(axis=0) + 0.5
    assert abs(centre_row - r) < 1.0 and abs(centre_col - c) < 1.0
    # A picture stretched over the envelope would put the marker elsewhere: more than 3 cells away.
    west, south, east, north = warped.bounds
    rows, cols = warped.shape
    stretched_col = (col + 0.5) / 250 * cols
    stretched_row = (row + 0.5) / 250 * rows
    assert np.hypot(stretched_col - c, stretched_row - r) > 3


def test_empty_corners_are_nan_then_transparent() -> None:
    warped = webmaps.reproject_to_wgs84(marker_image(), TRANSFORM, CRS)
    valid = warped.valid
    assert 0.8 < valid.mean() < 0.97  # the turned tile leaves the corners empty
    assert not valid[0, 0] and not valid[-1, -1] and valid[warped.shape[0] // 2, warped.shape[1] // 2]
    rgba = webmaps.rgba_image(np.moveaxis(warped.array, 0, -1), warped.valid)
    assert rgba.dtype == np.uint8 and rgba.shape == (*warped.shape, 4)
    assert (rgba[..., 3] == np.where(valid, 255, 0)).all()


def test_labels_keep_their_classes_and_share_the_image_grid() -> None:
    label = np.zeros((250, 250), dtype=np.uint8)
    label[:, :125] = 1
    label[:, 125:] = 5
    grid = webmaps.wgs84_grid(CRS, TRANSFORM, 250, 250)
    image = webmaps.reproject_to_wgs84(marker_image(), TRANSFORM, CRS, "bilinear", grid=grid)
    warped = webmaps.reproject_to_wgs84(label, TRANSFORM, CRS, "nearest", grid=grid)
    assert warped.array.dtype == np.uint8 and warped.shape == image.shape
    assert set(np.unique(warped.array).tolist()) == {0, 1, 5}  # never 3, the average of 1 and 5
    assert warped.bounds == image.bounds
    with pytest.raises(ValueError, match="nearest"):
        webmaps.reproject_to_wgs84(label, TRANSFORM, CRS, "bilinear")


def test_class_colours_come_from_the_class_table() -> None:
    label = np.array([[0, 1], [6, 10]], dtype=np.uint8)
    rgba = webmaps.class_rgba(label)
    assert tuple(rgba[0, 0]) == (0, 0, 0, 0)  # nodata is transparent
    for (r, c), class_id in {(0, 1): 1, (1, 0): 6, (1, 1): 10}.items():
        hex_colour = "#" + "".join(f"{v:02x}" for v in rgba[r, c, :3])
        assert hex_colour == CLASS_COLOURS[class_id] and rgba[r, c, 3] == 255
    with pytest.raises(ValueError, match="integer"):
        webmaps.class_rgba(label.astype(float))


def test_legend_names_every_class_with_its_colour() -> None:
    html = webmaps.class_legend_html()
    for class_id in CLASS_IDS:
        assert CLASS_COLOURS[class_id] in html
    assert "Woody needle leaved trees" in html and webmaps.LEGEND_CLASS in html
    assert "Water" not in webmaps.class_legend_html([1, 2])


def test_class_polygons_name_the_classes_and_keep_the_areas() -> None:
    label = np.zeros((250, 250), dtype=np.uint8)
    label[:100] = 6  # 25,000 pixels of 100 m², less the nodata one: 2.4999 km²
    label[100:] = 2  # 37,500 pixels: 3.75 km²
    label[0, 0] = 0
    polygons = webmaps.class_polygons(label, TRANSFORM, CRS)
    assert polygons.crs.to_epsg() == 4326
    assert list(polygons["class_name"]) == ["Woody needle leaved trees", "Permanent herbaceous"]
    assert polygons.set_index("class_id")["area_km2"].to_dict() == {2: 3.75, 6: pytest.approx(2.4999)}


def test_tile_map_has_every_part_a_map_needs() -> None:
    rgb = np.moveaxis(marker_image(), 0, -1)
    label = np.ones((250, 250), dtype=np.uint8)
    label[:, 100:] = 7
    m = webmaps.tile_map(rgb, TRANSFORM, CRS, label=label, title="Test map - synthetic data")
    parts = webmaps.map_layers(m)
    assert len(parts["tiles"]) == 1 and len(parts["controls"]) == 1 and len(parts["legends"]) == 1
    assert [layer.layer_name for layer in parts["images"]] == [
        "Sentinel-2 true colour",
        "CLC+ Backbone label",
    ]
    assert {layer.layer_name for layer in parts["geojson"]} == {"Class names (hover)", "Tile outline"}
    label_pixels = webmaps.overlay_image(parts["images"][1])
    opaque = {tuple(int(v) for v in p) for p in label_pixels[label_pixels[..., 3] > 0][:, :3]}
    assert opaque == {tuple(int(CLASS_COLOURS[c][k : k + 2], 16) for k in (1, 3, 5)) for c in (1, 7)}
    html = m.get_root().render()
    assert "Periodically herbaceous" in html and "Test map - synthetic data" in html
    tooltip = next(layer for layer in parts["geojson"] if layer.layer_name == "Class names (hover)")
    names = {
        feature["properties"]["class_name"] for feature in json.loads(json.dumps(tooltip.data))["features"]
    }
    assert names == {"Sealed", "Periodically herbaceous"}
    with pytest.raises(ValueError, match="label shape"):
        webmaps.tile_map(rgb, TRANSFORM, CRS, label=label[:100])

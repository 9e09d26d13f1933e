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


# --- predictions and polygons ---------------------------------------------------------------------


def tile_image(bands: int = 3) -> dict:
    """An image dict as ``get_satellite_image`` returns it, for the LU000 tile's grid."""
    names = ["B4", "B3", "B2"] if bands == 3 else None
    return {"array": marker_image(), "transform": TRANSFORM, "crs": CRS, "band_names": names}


def two_class_mask(left: int, right: int, split: int = 100) -> np.ndarray:
    mask = np.full((250, 250), left, dtype=np.uint8)
    mask[:, split:] = right
    return mask


def test_prediction_map_has_a_layer_for_each_raster_and_names_the_classes() -> None:
    prediction = two_class_mask(2, 10)
    label = two_class_mask(2, 6, split=140)
    probability = np.linspace(0.2, 1.0, 250 * 250).reshape(250, 250)
    m = webmaps.prediction_map(
        tile_image(), prediction, label=label, probability=probability, title="Prediction - synthetic data"
    )
    parts = webmaps.map_layers(m)
    assert len(parts["tiles"]) == 1 and len(parts["controls"]) == 1
    assert len(parts["legends"]) == 1 and len(parts["colorbars"]) == 1
    images = {layer.layer_name: layer for layer in parts["images"]}
    assert list(images) == [
        "Sentinel-2 true colour",
        "CLC+ Backbone label",
        "Predicted classes",
        "Probability of the predicted class",
    ]
    assert images["Predicted classes"].show and not images["CLC+ Backbone label"].show
    # Nearest resampling: only the two predicted colours, never a blend of them.
    pixels = webmaps.overlay_image(images["Predicted classes"])
    opaque = {tuple(int(v) for v in p) for p in pixels[pixels[..., 3] > 0][:, :3]}
    assert opaque == {tuple(int(CLASS_COLOURS[c][k : k + 2], 16) for k in (1, 3, 5)) for c in (2, 10)}
    # The probability is continuous: many colours, dark (viridis 0.2) to yellow (1.0).
    chance = webmaps.overlay_image(images["Probability of the predicted class"])
    assert len({tuple(p) for p in chance[chance[..., 3] > 0][:, :3]}) > 50
    tooltips = {layer.layer_name: layer for layer in parts["geojson"]}
    assert set(tooltips) == {"Predicted class (hover)", "Label class (hover)", "Image outline"}
    names = {f["properties"]["class_name"] for f in tooltips["Predicted class (hover)"].data["features"]}
    assert names == {"Woody needle leaved trees", "Water"}
    page = m.get_root().render()
    for text in ("Permanent herbaceous", "Water", "Prediction - synthetic data", webmaps.COLORBAR_CLASS):
        assert text in page
    with pytest.raises(ValueError, match="probability must lie in"):
        webmaps.prediction_map(tile_image(), prediction, probability=probability * 2)
    with pytest.raises(ValueError, match="label has shape"):
        webmaps.prediction_map(tile_image(), prediction, label=label[:10])
    with pytest.raises(ValueError, match="B4, B3, B2"):
        webmaps.prediction_map({**tile_image(), "array": np.zeros((2, 250, 250)), "band_names": None}, prediction)


def test_prediction_map_without_extras_and_from_a_real_tile(synthetic_dir) -> None:  # noqa: ANN001
    from landcover.data import get_satellite_image, load_label

    stem = "4042000_2951690_0_637"
    image = get_satellite_image(synthetic_dir / "images" / "LU000" / "2021" / f"{stem}.tif")
    label = load_label(synthetic_dir / "labels" / "LU000" / "2021" / f"{stem}.npy")
    m = webmaps.prediction_map(image, label)  # 14 bands: true colour from B4, B3, B2
    parts = webmaps.map_layers(m)
    assert [layer.layer_name for layer in parts["images"]] == ["Sentinel-2 true colour", "Predicted classes"]
    assert not parts["colorbars"]
    legend = parts["legends"][0].fragment
    from landcover.viz import classes_present

    assert all(webmaps.CLASS_NAMES[i] in legend for i in classes_present(label))


def test_polygon_map_colours_each_class_and_tells_its_area() -> None:
    import folium
    import geopandas as gpd
    import shapely

    polygons = gpd.GeoDataFrame(
        {"class_id": [1, 10]},
        geometry=[shapely.box(4042000, 2951690, 4043000, 2952690), shapely.box(4043000, 2951690, 4043500, 2951890)],
        crs=CRS,
    )
    m = webmaps.polygon_map(polygons, title="Polygons - synthetic data")
    parts = webmaps.map_layers(m)
    assert len(parts["tiles"]) == 1 and len(parts["controls"]) == 1 and len(parts["legends"]) == 1
    (layer,) = parts["geojson"]
    assert layer.layer_name == "Predicted polygons"
    features = {f["properties"]["class_name"]: f for f in layer.data["features"]}
    assert set(features) == {"Sealed", "Water"}
    assert features["Sealed"]["properties"]["area_km2"] == 1.0  # 1 km x 1 km, measured in EPSG:3035
    assert features["Water"]["properties"]["area_km2"] == 0.1
    lon, lat = features["Water"]["geometry"]["coordinates"][0][0]
    assert 6.1 < lon < 6.2 and 49.6 < lat < 49.7  # reprojected to WGS84, longitude first
    for name, class_id in (("Sealed", 1), ("Water", 10)):
        style = layer.style_function(features[name])
        assert style["fillColor"] == CLASS_COLOURS[class_id]
    page = m.get_root().render()
    tooltip = next(child for child in layer._children.values() if isinstance(child, folium.GeoJsonTooltip))
    assert tooltip.fields == ["class_name", "area_km2"] and tooltip.aliases == ["Class", "Area (km²)"]
    assert '"class_name", "area_km2"' in page and "Polygons - synthetic data" in page
    with pytest.raises(ValueError, match="class_id values \\[12\\]"):
        webmaps.polygon_map(polygons.assign(class_id=[1, 12]))


@pytest.mark.slow
@pytest.mark.network
def test_prediction_map_draws_each_predicted_class_where_it_is(synthetic_dir, tmp_path) -> None:  # noqa: ANN001
    """In headless Chromium (helpers of test_chapter1_execution.py): the prediction layer's colours sit
    where WGS84 puts the pixels, so nearest resampling and the layer's bounds are right."""
    from landcover.data import get_satellite_image, load_label
    from tests.test_chapter1_execution import class_match_rate, screenshot, tile_center, uniform_label_points

    stem = "4042000_2951690_0_637"
    image = get_satellite_image(synthetic_dir / "images" / "LU000" / "2021" / f"{stem}.tif")
    prediction = load_label(synthetic_dir / "labels" / "LU000" / "2021" / f"{stem}.npy")
    page = webmaps.prediction_map(image, prediction).get_root().render()
    center = tile_center(image)
    pixels = screenshot(page, "Predicted classes", center, tmp_path, "prediction-map")
    lon, lat, classes = uniform_label_points(prediction, image["transform"])
    assert len(classes) >= 100
    assert class_match_rate(pixels, lon, lat, classes, center) >= 0.98

"""The checks of chapter 3 accept the chapter's solutions and name the usual mistakes.

They run on the synthetic data with the pre-trained model published under it (``make model``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from landcover.exercises import evaluate


@pytest.fixture(scope="module")
def chapter(synthetic_dir: Path) -> dict:
    from landcover.data import label_path, load_label, read_tile
    from landcover.inference import load_model, load_params, published_model_location

    try:
        published = published_model_location(str(synthetic_dir))
    except FileNotFoundError:
        pytest.skip("no pre-trained model under the synthetic data: run `make model`")
    loaded = load_model(published.model_location)
    tile = read_tile("LU000", 2024, "4042000_2951690_0_637")
    return {
        "published": published,
        "params": load_params(published.params_location),
        "loaded": loaded,
        "tile": tile,
        "tile_2021": read_tile("LU000", 2021, "4042000_2951690_0_637"),
        "label": load_label(label_path("LU000", 2021, "4042000_2951690_0_637")),
    }


def test_load(chapter: dict) -> None:
    assert evaluate("inf-load", chapter["params"], chapter["loaded"]).passed
    text = Path(chapter["published"].params_location).read_text()
    assert "is text" in evaluate("inf-load", text, chapter["loaded"]).message
    as_tuple = (chapter["loaded"].model, chapter["loaded"].params)
    assert "what the package's loader returns" in evaluate("inf-load", chapter["params"], as_tuple).message


def test_steps(chapter: dict) -> None:
    from landcover.inference import logits_to_labels, model_logits, preprocess

    loaded, array = chapter["loaded"], chapter["tile"]["array"]
    batch = preprocess(array, loaded.params)
    logits = model_logits(loaded.model, batch)
    classes = logits_to_labels(logits[0], array.shape[1:])
    assert evaluate("inf-steps", batch, logits, classes).passed
    assert "k + 1" in evaluate("inf-steps", batch, logits, classes - 1).message
    coarse = (logits[0].argmax(axis=0) + 1).astype(np.uint8)
    assert "quarter of the network's size" in evaluate("inf-steps", batch, logits, coarse).message
    raw = array[None].astype(np.float32)
    assert "500-pixel" in evaluate("inf-steps", raw, logits, classes).message
    assert "three axes" in evaluate("inf-steps", batch[0], logits, classes).message
    # Upsampling the chosen classes instead of the scores: staircase borders.
    blocky = np.kron(coarse, np.ones((2, 2), dtype=np.uint8))
    assert "upsample the logits" in evaluate("inf-steps", batch, logits, blocky).message


def test_predict(chapter: dict) -> None:
    from landcover.inference import predict

    result = predict(chapter["tile"], chapter["loaded"])
    assert evaluate("inf-predict", result).passed
    assert "k + 1" in evaluate("inf-predict", {"mask": result["mask"] - 1}).message
    assert "dictionary holding a `mask`" in evaluate("inf-predict", result["mask"]).message


def test_windows() -> None:
    def right(length, size, overlap):
        if length <= size:
            return [0]
        return list(range(0, length - size, size - overlap)) + [length - size]

    def no_edge_window(length, size, overlap):
        return list(range(0, max(length - size, 0) + 1, size - overlap))

    def past_the_edge(length, size, overlap):
        return list(range(0, length, size - overlap))

    assert evaluate("inf-windows", right).passed
    assert "in no window" in evaluate("inf-windows", no_edge_window).message
    assert "past the edge" in evaluate("inf-windows", past_the_edge).message


def test_agreement(chapter: dict) -> None:
    from landcover.inference import predict

    predicted = predict(chapter["tile_2021"], chapter["loaded"])["mask"]
    label = chapter["label"]
    valid = label > 0
    overall = float(np.mean(predicted[valid] == label[valid]))
    producers = pd.Series({int(k): float(np.mean(predicted[valid & (label == k)] == k)) for k in np.unique(label[valid])})
    users = pd.Series({int(k): float(np.mean(label[valid & (predicted == k)] == k)) for k in np.unique(predicted[valid])})
    assert evaluate("inf-agreement", overall, producers, users).passed
    if (~valid).any():
        everywhere = float(np.mean(predicted == label))
        assert "no-data pixels" in evaluate("inf-agreement", everywhere, producers, users).message
    assert "percentage" in evaluate("inf-agreement", 100 * overall, producers, users).message
    common = sorted(set(producers.index) & set(users.index))
    result = evaluate("inf-agreement", overall, users[common].reindex(producers.index).fillna(0), users)
    assert not result.passed


def test_region(chapter: dict) -> None:
    from landcover.inference import predict_region

    mask = predict_region("BE100", 2024, chapter["loaded"], progress=False)["mask"]
    counts = np.bincount(mask.ravel(), minlength=11)
    areas = pd.Series(counts[1:] * 1e-4, index=range(1, 11))
    covered = float(counts[1:].sum() * 1e-4)
    assert evaluate("inf-region", areas, covered).passed
    assert "pixel counts" in evaluate("inf-region", pd.Series(counts[1:], index=range(1, 11)), covered).message
    assert "hectares" in evaluate("inf-region", areas * 100, covered).message
    assert "one number" in evaluate("inf-region", areas, areas).message
    assert not evaluate("inf-region", areas, covered + 1).passed


def test_polygons(chapter: dict) -> None:
    from landcover.inference import create_geojson_from_mask, predict

    mask = predict(chapter["tile"], chapter["loaded"])["mask"]
    polygons = create_geojson_from_mask(chapter["tile"], mask)
    by_class = polygons.geometry.area.groupby(polygons["class_id"]).sum() / 1e6
    assert evaluate("inf-polygons", polygons, by_class).passed
    assert "m²" in evaluate("inf-polygons", polygons, by_class * 1e6).message
    assert "EPSG:3035" in evaluate("inf-polygons", polygons.to_crs(4326), by_class).message


def test_stac(chapter: dict, tmp_path: Path) -> None:
    import json

    from landcover.inference import predict
    from landcover.inference.export import export_prediction

    mask = predict(chapter["tile"], chapter["loaded"])["mask"]
    exported = export_prediction(chapter["tile"], mask, tmp_path, item_id="t", year=2024)
    item = json.loads(Path(exported.item).read_text())
    crs, shape = item["properties"]["proj:code"], item["properties"]["proj:shape"]
    assert evaluate("inf-stac", item, crs, shape, 10).passed
    assert "nodata" in evaluate("inf-stac", item, crs, shape, 11).message
    assert "text code" in evaluate("inf-stac", item, 3035, shape, 10).message


def test_api_checks_use_the_package_answers(chapter: dict) -> None:
    from landcover.data import find_tile_at, geocode
    from landcover.data import read_tile
    from landcover.inference import create_geojson_from_mask, predict

    lon, lat = geocode("Eurostat")
    stem = find_tile_at(lon, lat, "LU000", 2024, crs="EPSG:4326").stem
    image = f"LU000/2024/{stem}.tif"
    assert evaluate("inf-api-point", "LU000", image).passed
    assert "lon first" in evaluate("inf-api-point", "BE100", image).message
    assert "2024" in evaluate("inf-api-point", "LU000", image.replace("2024", "2021")).message
    tile = read_tile("LU000", 2024, stem)
    mask = predict(tile, chapter["loaded"])["mask"]
    counts = np.bincount(mask.ravel(), minlength=11)
    areas = pd.DataFrame({"id": range(1, 11), "area_km2": counts[1:] * 1e-4})
    polygons = create_geojson_from_mask(tile, mask).to_crs(4326)
    assert evaluate("inf-api-predict", areas, polygons).passed
    assert "no CRS" in evaluate("inf-api-predict", areas, polygons.set_crs(None, allow_override=True)).message
    wrong_crs = polygons.set_crs(3035, allow_override=True)
    assert "EPSG:4326" in evaluate("inf-api-predict", areas, wrong_crs).message

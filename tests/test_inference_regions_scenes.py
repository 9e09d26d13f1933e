"""Region mosaics (geometry, gaps, cache) and scene prediction read window by window from a VRT."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import rasterio

from landcover.clouds import CLOUD_RULES_VERSION
from landcover.data.mosaic import build_mosaic_vrt
from landcover.inference.cache import PredictionStore
from landcover.inference.loading import LoadedModel
from landcover.inference.prediction import predict
from landcover.inference.regions import predict_region
from landcover.inference.scenes import predict_scene
from tests.support.tiny_data import TINY_LAYOUT, write_index
from tests.test_inference_predict_images import RAW, BandZeroModel

STEMS = TINY_LAYOUT["LU000"][2021]  # a 2 x 2 grid of 250 px tiles


@pytest.fixture
def three_tiles(tiny_data, tmp_path, monkeypatch):
    """A copy of the tiny data where LU000/2021 lists three of its four tiles (one gap)."""
    root = tmp_path / "data"
    shutil.copytree(tiny_data.root, root)
    folder = root / "images" / "LU000" / "2021"
    write_index(folder, STEMS[:3])
    (folder / f"{STEMS[3]}.tif").unlink()
    monkeypatch.setenv("LANDCOVER_DATA_ROOT", str(root))
    monkeypatch.delenv("LANDCOVER_PREDICTION_STORE", raising=False)
    return root


def _loaded(model, version="1"):
    return LoadedModel(model, RAW, version=version, model_id="m-test")


def test_the_region_mosaic_puts_each_tile_where_it_is(three_tiles):
    model = BandZeroModel()
    result = predict_region("LU000", 2021, _loaded(model), cache=False, progress=False, batch_size=2)
    transform, mask = result["transform"], result["mask"]
    assert result["crs"] == "EPSG:3035" and mask.shape == (500, 500) and mask.dtype == np.uint8
    assert transform.a == 10.0 and transform.e == -10.0
    assert result["bounds"] == (4042000.0, 2951690.0, 4047000.0, 2956690.0)
    assert model.calls == 2  # three tiles in batches of two
    for entry in result["tiles"]:
        xmin, ymin, xmax, ymax = entry["bbox"]
        window = entry["window"]
        # pixel centres of the tile's first and last pixels map to its own coordinates
        assert transform @ (window.col + 0.5, window.row + 0.5) == (xmin + 5, ymax - 5)
        assert transform @ (window.col + window.width - 0.5, window.row + window.height - 0.5) == (xmax - 5, ymin + 5)
        with rasterio.open(three_tiles / "images" / "LU000" / "2021" / entry["filename"]) as src:
            alone = predict({"array": src.read()}, model, params=RAW)["mask"]
            assert src.transform @ (0.5, 0.5) == (xmin + 5, ymax - 5)
        np.testing.assert_array_equal(mask[window.rows, window.cols], alone)
    # the missing tile (north-east: x >= 4044500, y >= 2954190) is a gap of nodata
    gap_col, gap_row = ~transform @ (4044500 + 5, 2956690 - 5)
    assert (mask[: int(gap_row) + 250, int(gap_col):] == 0).all()
    assert (mask > 0).mean() == pytest.approx(0.75)


def test_region_predictions_are_cached_per_tile_and_per_model_version(three_tiles, tmp_path):
    store = PredictionStore(tmp_path / "store")
    model = BandZeroModel()
    first = predict_region("LU000", 2021, _loaded(model), cache=store, progress=False, return_probability=True)
    assert model.windows == 3 and not any(t["cached"] for t in first["tiles"])
    again = predict_region("LU000", 2021, _loaded(model), cache=store, progress=False, return_probability=True)
    assert model.windows == 3 and all(t["cached"] for t in again["tiles"])  # nothing recomputed
    np.testing.assert_array_equal(again["mask"], first["mask"])
    np.testing.assert_array_equal(again["probability"], first["probability"])
    predict_region("LU000", 2021, _loaded(model, version="2"), cache=store, progress=False)
    assert model.windows == 6  # a new version predicts again
    default = predict_region("LU000", 2021, _loaded(model, version="3"), progress=False)
    assert (three_tiles / "predictions" / "segmentation-sentinel2-model" / "3-m-test" / CLOUD_RULES_VERSION
            / "LU000" / "2021" / f"{STEMS[0]}.npy").is_file()
    assert default["mask"].shape == (500, 500)
    with pytest.raises(TypeError, match="cache=False"):
        predict_region("LU000", 2021, (model, RAW), cache=store, progress=False)
    with pytest.raises(FileNotFoundError, match="LU000"):
        predict_region("LU000", 2030, _loaded(model), cache=False, progress=False)


def test_a_scene_is_predicted_window_by_window_like_the_whole_array(three_tiles, tmp_path):
    vrt = build_mosaic_vrt("LU000", 2021)
    with rasterio.open(vrt) as src:
        whole = src.read()
        transform = src.transform
    model = BandZeroModel()
    expected = predict({"array": whole}, BandZeroModel(), params=RAW, return_probability=True)
    out = tmp_path / "out" / "mask.tif"
    result = predict_scene(vrt, (model, RAW), out_path=out, progress=False, batch_size=3, return_probability=True)
    np.testing.assert_array_equal(result["mask"], expected["mask"])
    np.testing.assert_allclose(result["probability"], expected["probability"], rtol=1e-5)
    assert result["transform"] == transform and result["crs"].to_epsg() == 3035
    assert (result["mask"][:250, 250:] == 0).all()  # the gap of the mosaic is nodata
    assert model.windows == 8  # 3 x 3 windows (rows and columns 0, 188, 250); the all-gap one skipped the model
    with rasterio.open(out) as written:
        assert written.transform == transform and written.nodata == 0 and written.dtypes[0] == "uint8"
        np.testing.assert_array_equal(written.read(1), result["mask"])
        assert written.colormap(1)[10][:3] == (0, 128, 255)
    assert [p.name for p in out.parent.iterdir()] == ["mask.tif"]  # written atomically, nothing else left
    with pytest.raises(FileNotFoundError):
        predict_scene(tmp_path / "missing.vrt", (model, RAW), progress=False)

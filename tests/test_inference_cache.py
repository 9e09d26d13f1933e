"""The prediction store: where it is, keys by model version, atomic files, one computation under concurrency."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from landcover.clouds import CLOUD_RULES_VERSION
from landcover.inference.cache import (
    PREDICTION_STORE_VARIABLE,
    PredictionStore,
    model_key,
    prediction_store_location,
)
from landcover.inference.loading import LoadedModel

PARAMS = {"n_bands": 14, "tiles_size": 250, "augment_size": 250, "module_name": "toy",
          "normalization_mean": [0.1] * 14, "normalization_std": [0.05] * 14}
STEM = "4042000_2951690_0_637"


def _model(version: str, model_id: str | None = None) -> LoadedModel:
    return LoadedModel(object(), PARAMS, version=version, run_id="run1", model_id=model_id)


def test_the_store_follows_the_data_root_and_the_setting(monkeypatch, tmp_path):
    monkeypatch.delenv(PREDICTION_STORE_VARIABLE, raising=False)
    monkeypatch.setenv("LANDCOVER_DATA_ROOT", str(tmp_path / "data"))
    assert prediction_store_location() == str(tmp_path / "data" / "predictions")
    monkeypatch.setenv("LANDCOVER_DATA_ROOT", "https://example.org/bucket/data")
    monkeypatch.setenv("LANDCOVER_CACHE_DIR", str(tmp_path / "cache"))
    assert prediction_store_location() == str(tmp_path / "cache" / "predictions")
    monkeypatch.setenv(PREDICTION_STORE_VARIABLE, "s3://bucket/predictions/")
    assert prediction_store_location() == "s3://bucket/predictions"
    monkeypatch.setenv(PREDICTION_STORE_VARIABLE, "https://example.org/predictions")
    with pytest.raises(ValueError, match=PREDICTION_STORE_VARIABLE):
        prediction_store_location()


def test_a_prediction_round_trips_atomically_under_its_model_version(tmp_path):
    store = PredictionStore(tmp_path / "store")
    model = _model("3", model_id="m-abc")
    mask = np.random.default_rng(0).integers(0, 11, size=(250, 250), dtype=np.uint8)
    proba = np.random.default_rng(1).random((250, 250), dtype=np.float32)
    path = store.save(model, "LU000", 2021, STEM, mask, proba)
    # model name, model version, version of the cloud tests whose pixels the mask holds as nodata
    expected = tmp_path / "store" / "segmentation-sentinel2-model" / "3-m-abc" / CLOUD_RULES_VERSION
    assert Path(path) == expected / "LU000" / "2021" / f"{STEM}.npy"
    assert not [p for p in (tmp_path / "store").rglob("*") if p.name.startswith(".")]  # no temporary left
    found = store.load(model, "LU000", 2021, STEM, probability=True)
    np.testing.assert_array_equal(found.mask, mask)
    np.testing.assert_array_equal(found.probability, proba)
    assert store.load(model, "LU000", 2021, "4044500_2951690_0_638") is None
    with pytest.raises(ValueError, match="uint8"):
        store.save(model, "LU000", 2021, STEM, mask.astype(int))
    with pytest.raises(ValueError, match="nuts"):
        store.path(model, "../x", 2021, STEM)
    with pytest.raises(TypeError, match="load_model"):
        model_key(object())
    with pytest.raises(ValueError, match="model version"):
        model_key(("segmentation-sentinel2-model", "../1"))


def test_a_new_model_version_never_serves_an_old_prediction(tmp_path):
    store = PredictionStore(tmp_path)
    old, new = _model("1", "m-old"), _model("2", "m-new")
    store.save(old, "LU000", 2021, STEM, np.full((4, 4), 5, np.uint8))
    assert store.load(new, "LU000", 2021, STEM) is None
    result, computed = store.get_or_compute(new, "LU000", 2021, STEM, lambda: {"mask": np.full((4, 4), 7, np.uint8)})
    assert computed and (result.mask == 7).all()
    assert (store.load(old, "LU000", 2021, STEM).mask == 5).all()
    # the same version number from another store (another logged model) is another key too
    assert model_key(_model("1", "m-other")) != model_key(old)


def test_a_corrupt_entry_is_recomputed(tmp_path):
    store = PredictionStore(tmp_path)
    model = _model("1")
    target = Path(store.path(model, "LU000", 2021, STEM))
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not numpy")
    with pytest.warns(UserWarning, match="unreadable"):
        result, computed = store.get_or_compute(model, "LU000", 2021, STEM, lambda: {"mask": np.ones((2, 2), np.uint8)})
    assert computed and store.load(model, "LU000", 2021, STEM) is not None


def test_concurrent_requests_for_one_image_compute_it_once(tmp_path):
    store = PredictionStore(tmp_path)
    model = _model("1")
    calls = []

    def compute():
        calls.append(threading.get_ident())
        time.sleep(0.2)
        return {"mask": np.full((8, 8), 3, np.uint8)}

    results = []
    threads = [threading.Thread(target=lambda: results.append(store.get_or_compute(model, "LU000", 2021, STEM, compute)))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(computed for _, computed in results) == [False] * 5 + [True]
    assert all((r.mask == 3).all() for r, _ in results)


@pytest.mark.network
def test_the_store_works_on_s3(s3_env):
    s3_env.create_bucket("predictions-test")
    store = PredictionStore("s3://predictions-test/store")
    model = _model("1")
    mask = np.full((5, 5), 9, np.uint8)
    written = store.save(model, "LU000", 2021, STEM, mask, np.full((5, 5), 0.5, np.float32))
    assert written == f"s3://predictions-test/store/segmentation-sentinel2-model/1-run1/{CLOUD_RULES_VERSION}/LU000/2021/{STEM}.npy"
    found = store.load(model, "LU000", 2021, STEM, probability=True)
    np.testing.assert_array_equal(found.mask, mask)
    assert (found.probability == 0.5).all()
    assert store.load(_model("2"), "LU000", 2021, STEM) is None

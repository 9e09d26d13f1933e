"""load_model(): registry (version, alias), model folder and published layout give one object with name and version."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
from mlflow import MlflowClient

from landcover.data.normalization import Normalization
from landcover.inference.model import load_model
from landcover.inference.predict import predict_tile
from landcover.inference.prediction import predict
from landcover.training.model import build_model
from landcover.training.publish import publish_run
from landcover.training.tracking import MODEL_NAME, ensure_experiment, log_model, model_params

MEAN = [0.05] * 14
STD = [0.04] * 14


@pytest.fixture
def registered(tmp_path, monkeypatch):
    """A tiny SegFormer logged and registered twice in a temporary store; version 2 is the champion."""
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    params = model_params(Normalization(MEAN, STD), tiles_size=64, augment_size=64, module_name="segformer-tiny")
    experiment = ensure_experiment("load-model")
    runs = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.log_params(params)
            info = log_model(build_model("tiny").eval(), params)
        runs.append((run.info.run_id, info))
    MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", "2")
    yield runs
    mlflow.set_tracking_uri(previous)


def test_every_source_gives_the_model_its_params_and_its_identity(registered, tmp_path):
    (run1, _), (run2, info2) = registered
    first = load_model(f"models:/{MODEL_NAME}/1")
    model, params = first  # still unpacks as (model, params)
    assert (first.name, first.version, first.run_id) == (MODEL_NAME, "1", run1)
    assert params["tiles_size"] == 64 and params["normalization_std"] == pytest.approx(STD)
    champion = load_model(f"models:/{MODEL_NAME}@champion")
    assert champion.version == "2" and champion.run_id == run2 and champion.source == f"models:/{MODEL_NAME}/2"
    assert load_model(f"models:/{MODEL_NAME}/latest").version == "2"
    assert champion.cache_version != first.cache_version

    root = tmp_path / "data"
    publish_run(run2, str(root), model_uri=info2.model_uri, model_name=MODEL_NAME, model_version="2")
    published = load_model(str(root))
    assert published.version == "2" and published.run_id == run2
    folder = next((root / "mlflow-artifacts").rglob("MLmodel")).parent
    from_folder = load_model(folder)  # params.json beside the model folder
    assert (from_folder.name, from_folder.version) == (MODEL_NAME, "2")
    assert published.cache_version == champion.cache_version == from_folder.cache_version  # one model, one key
    assert load_model(folder.parent).version == "2"  # the run's artifacts folder
    assert load_model(f"runs:/{run1}/model").run_id == run1

    image = np.array(MEAN)[:, None, None] + np.array(STD)[:, None, None] * np.random.default_rng(0).normal(size=(14, 64, 64))
    expected = predict_tile(champion.model, image, champion.params)
    for loaded in (published, from_folder):
        np.testing.assert_array_equal(predict(image, loaded)["mask"], expected)


def test_unknown_sources_are_named_in_the_error(registered, tmp_path):
    with pytest.raises(LookupError, match="nosuch"):
        load_model("models:/nosuch/1")
    with pytest.raises(LookupError, match="silver"):
        load_model(f"models:/{MODEL_NAME}@silver")
    with pytest.raises(FileNotFoundError, match="missing"):
        load_model(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="MLmodel"):
        load_model(tmp_path / "empty")


def test_a_model_folder_without_params_reads_them_from_its_run(registered, tmp_path):
    (_, _), (run2, _) = registered
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{MODEL_NAME}/2", dst_path=str(tmp_path / "m")))
    assert not (local / "params.json").exists() and not (local.parent / "params.json").exists()
    loaded = load_model(local)
    assert loaded.run_id == run2 and loaded.params["augment_size"] == 64
    assert json.loads(json.dumps(loaded.params))["n_bands"] == 14


def test_the_published_synthetic_model_predicts_a_tile_like_predict_tile(synthetic_dir, use_data_root):
    from landcover.data import load_tile_index, read_tile

    use_data_root(synthetic_dir)
    loaded = load_model()
    latest = json.loads((synthetic_dir / "mlflow-artifacts" / "latest.json").read_text())
    assert loaded.name == latest["model_name"] and loaded.version == str(latest["model_version"])
    stem = load_tile_index("BE100", 2021)["filename"].iloc[0].removesuffix(".tif")
    tile = read_tile("BE100", 2021, stem)
    result = predict(tile, loaded, return_probability=True)
    np.testing.assert_array_equal(result["mask"], predict_tile(loaded.model, tile["array"], loaded.params))
    assert result["image"]["transform"] == tile["transform"] and 0 < result["probability"].min()

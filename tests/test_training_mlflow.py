"""MLflow round trip: log, register, load ``models:/segmentation-sentinel2-model/<version>``, predict;
the published-artifacts form gives the same predictions. Against a local store (temporary SQLite
file and artifact folder) and against a real ``mlflow server`` started on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
import yaml

from landcover.data.normalization import Normalization
from landcover.inference.loading import LATEST_FILENAME, load_published_model, published_model_location
from landcover.inference.params import load_params, params_from_run
from landcover.inference.predict import predict_tile
from landcover.training.model import build_model
from landcover.training.publish import publish_run
from landcover.training.tracking import (
    MODEL_NAME,
    ensure_experiment,
    local_artifact_location,
    log_model,
    model_params,
)

MEAN = [0.05, 0.06, 0.09, 0.08, 0.13, 0.24, 0.28, 0.29, 0.30, 0.30, 0.19, 0.12, 0.61, -0.56]
STD = [0.04, 0.05, 0.05, 0.06, 0.06, 0.07, 0.08, 0.09, 0.09, 0.08, 0.08, 0.06, 0.17, 0.15]


@pytest.fixture(scope="module")
def segformer():
    torch.manual_seed(3)
    return build_model("tiny").eval()


@pytest.fixture(scope="module")
def params() -> dict[str, str]:
    return model_params(Normalization(MEAN, STD), tiles_size=64, augment_size=64,
                        module_name="segformer-tiny")


@pytest.fixture
def tracking(monkeypatch):
    """``tracking(uri)`` makes ``uri`` the active tracking URI for this test only."""
    previous = mlflow.get_tracking_uri()

    def use(uri: str) -> str:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        return uri

    yield use
    mlflow.set_tracking_uri(previous)


def _image(seed: int = 0, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (np.array(MEAN)[:, None, None] + np.array(STD)[:, None, None] * rng.normal(size=(14, size, size)))


def _round_trip(segformer, params, data_root: Path) -> None:
    experiment_id = ensure_experiment("round-trip")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(params)
        info = log_model(segformer, params)
    version = info.registered_model_version
    assert version is not None

    # the registry form
    registered = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{version}")
    batch = np.random.default_rng(1).normal(size=(2, 14, 48, 80)).astype(np.float32)  # any tile size
    logits = registered.predict(batch)
    assert isinstance(logits, np.ndarray) and logits.dtype == np.float32
    assert logits.shape == (2, 10, 12, 20)  # native 1/4 resolution, channel k = class k + 1
    with torch.inference_mode():
        direct = segformer(pixel_values=torch.from_numpy(batch)).logits.numpy()
    np.testing.assert_allclose(logits, direct, rtol=1e-4, atol=1e-5)
    with pytest.raises(Exception):
        registered.predict(np.zeros((1, 3, 32, 32), dtype=np.float32))  # the signature wants 14 bands

    # the run holds the params.json contract as strings, as the inference chapter reads them
    logged = mlflow.get_run(registered.metadata.run_id)
    assert logged.info.run_id == run.info.run_id
    assert logged.data.params["n_bands"] == "14" and logged.data.params["augment_size"] == "64"
    assert json.loads(logged.data.params["normalization_mean"]) == pytest.approx(MEAN)
    typed = params_from_run(logged)
    assert typed["tiles_size"] == 64 and typed["normalization_std"] == pytest.approx(STD)
    model_folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{MODEL_NAME}/{version}"))
    assert "torch==2.13.0" in (model_folder / "requirements.txt").read_text().split()
    signature = yaml.safe_load((model_folder / "MLmodel").read_text())["signature"]
    assert json.loads(signature["inputs"])[0]["tensor-spec"] == {"dtype": "float32", "shape": [-1, 14, -1, -1]}

    # the published form under a data root: same files, same predictions
    published = publish_run(run.info.run_id, str(data_root), model_uri=info.model_uri,
                            model_name=MODEL_NAME, model_version=str(version))
    expected = data_root / "mlflow-artifacts" / experiment_id / run.info.run_id / "artifacts"
    assert Path(published.location) == expected
    assert (expected / "model" / "MLmodel").is_file() and (expected / "params.json").is_file()
    assert published_model_location(str(data_root)) == published
    from_files, file_params = load_published_model(root=str(data_root))
    assert file_params == typed | {k: v for k, v in file_params.items() if k not in typed}
    np.testing.assert_allclose(from_files.predict(batch), logits, rtol=1e-5, atol=1e-6)
    image = _image()
    labels = predict_tile(registered, image, typed)
    assert labels.shape == (64, 64) and labels.dtype == np.uint8 and 1 <= labels.min() <= labels.max() <= 10
    np.testing.assert_array_equal(predict_tile(from_files, image, file_params), labels)
    np.testing.assert_array_equal(predict_tile(segformer, image, typed), labels)


def test_round_trip_with_a_local_store(segformer, params, tmp_path, tracking, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory
    store = tmp_path / "store"
    tracking(f"sqlite:///{store / 'mlflow.db'}")
    assert local_artifact_location(mlflow.get_tracking_uri()) == (store / "artifacts").resolve().as_uri()
    _round_trip(segformer, params, tmp_path / "data")
    assert not (tmp_path / "mlruns").exists()
    assert any((store / "artifacts").rglob("model.safetensors"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """A real ``mlflow server`` on 127.0.0.1 (SQLite backend, proxied artifacts), stopped at the end."""
    port = _free_port()
    executable = Path(sys.executable).with_name("mlflow")
    command = [
        str(executable), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination", str(tmp_path / "server-artifacts"),
    ]
    log = open(tmp_path / "server.log", "wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                               start_new_session=True, env={**os.environ, "MLFLOW_TRACKING_URI": ""})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(tmp_path / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url, tmp_path / "server-artifacts"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.mark.network
@pytest.mark.slow
def test_round_trip_with_a_tracking_server(segformer, params, tmp_path, tracking, mlflow_server):
    url, artifacts = mlflow_server
    tracking(url)
    assert local_artifact_location(url) is None  # the server decides where artifacts go
    _round_trip(segformer, params, tmp_path / "data")
    assert any(artifacts.rglob("model.safetensors"))  # stored by the server, not by the client


@pytest.mark.network
def test_published_model_over_https(segformer, params, tmp_path, tracking, http_server):
    tracking(f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    experiment_id = ensure_experiment("https")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        info = log_model(segformer, params, registered_model_name=None)
    root = tmp_path / "data"
    local = publish_run(run.info.run_id, str(root), model_uri=info.model_uri)
    server = http_server(root)
    remote = published_model_location(server.url)
    assert remote.run_id == run.info.run_id and remote.location.startswith("http://127.0.0.1")
    assert load_params(remote.location + "/") == load_params(local.params_location)
    model, remote_params = load_published_model(remote)
    image = _image(5)
    np.testing.assert_array_equal(predict_tile(model, image, remote_params),
                                  predict_tile(segformer, image, remote_params))


def test_publishing_replaces_older_runs_and_finds_the_newest(segformer, params, tmp_path, tracking):
    tracking(f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    experiment_id = ensure_experiment("publish")
    root = tmp_path / "data"
    runs = []
    for _ in range(2):
        with mlflow.start_run(experiment_id=experiment_id) as run:
            info = log_model(segformer, params, registered_model_name=None)
        runs.append(publish_run(run.info.run_id, str(root), model_uri=info.model_uri))
    assert published_model_location(str(root)) == runs[1]
    assert not Path(runs[0].location).exists()  # only the newest stays
    assert not list((root / "mlflow-artifacts").rglob("*.publishing"))  # nothing half-written
    (root / "mlflow-artifacts" / LATEST_FILENAME).unlink()
    assert published_model_location(str(root)) == runs[1]  # found by listing when the index is gone
    with pytest.raises(FileNotFoundError, match="make model"):
        published_model_location(str(tmp_path / "empty"))


def test_a_tracked_run_logs_the_params_json_contract_and_its_settings(tmp_path, tracking):
    from dataclasses import replace

    from tests.support.toy import write_toy_dataset

    from landcover.training.io import labelled_records
    from landcover.training.loop import TrainConfig
    from landcover.training.pipeline import train_model

    tracking(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    root = write_toy_dataset(tmp_path / "toy", grid=(2, 2), size=32)
    config = replace(TrainConfig(), epochs=1, batch_size=4, crop_size=None, tiles_size=32, augment_size=None,
                     eval_batch_size=4, patience=None)
    run = train_model(labelled_records(str(root)), config=config, val_regions=["BB002"], experiment="params-test",
                      registered_model_name=None, checkpoint_dir=tmp_path / "checkpoints", progress=False)
    logged = mlflow.get_run(run.run_id).data.params
    # augment_size=None in the settings means "the tile size": the run records the size the network saw
    assert logged["augment_size"] == run.params["augment_size"] == "32"
    assert logged["tiles_size"] == "32" and logged["n_bands"] == "14"
    assert logged["lr"] == str(config.lr) and logged["batch_size"] == "4" and logged["epochs"] == "1"
    assert logged["val_regions"] == "BB002" and "BB002" not in logged["train_regions"]
    assert params_from_run(run.run_id)["augment_size"] == 32

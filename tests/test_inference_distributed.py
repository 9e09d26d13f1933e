"""predict_region_distributed(): a Dask cluster gives the serial mosaic, survives a killed worker, reuses the store.

The workers load a cheap stand-in model from a source they can reach on
their own: a real MLflow model folder (a pixel-wise pyfunc saved in a
temporary folder, with its ``params.json``), or a picklable loader defined
in this module. The stand-in's class k + 1 wins where band 0 (normalised) is
closest to k, at 1/4 resolution, as in ``tests/test_inference_predict_images.py``.
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from landcover.inference import distributed as dist
from landcover.inference.cache import PredictionStore
from landcover.inference.loading import LoadedModel
from landcover.inference.model import load_model
from landcover.inference.regions import predict_region

pytest.importorskip("distributed", reason="the `distributed` extra is not installed (pip install -e '.[distributed]')")

NUTS, YEAR = "LU000", 2021  # the tiny data's 2 x 2 grid of 250 px tiles
RAW = {"n_bands": 14, "tiles_size": 250, "augment_size": 250, "module_name": "toy",
       "normalization_mean": [0.1] * 14, "normalization_std": [0.05] * 14}


def toy_logits(batch: np.ndarray) -> np.ndarray:
    """Class k + 1 wins where normalised band 0 is closest to k; logits at 1/4 of the window."""
    x = np.asarray(batch, dtype=np.float32)[:, :1, ::4, ::4]
    centres = np.arange(10, dtype=np.float32).reshape(1, 10, 1, 1)
    return -((x - centres) ** 2)


class ToyModel:
    """The stand-in network; ``kill_marker``: on its second forward pass, the first process to create
    that file dies at once (``os._exit``), as a worker killed by the system would."""

    def __init__(self, kill_marker: str | None = None) -> None:
        self.kill_marker = kill_marker
        self.calls = 0

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.kill_marker is not None and self.calls == 2:
            try:
                fd = os.open(self.kill_marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                os._exit(1)
        return toy_logits(batch)


LOADS: list[str] = []


def toy_loader(kill_marker: str | None = None, version: str = "1") -> LoadedModel:
    """A loader the workers import from this module (pickled by reference)."""
    LOADS.append(version)
    return LoadedModel(ToyModel(kill_marker), RAW, version=version, model_id="m-toy")


@pytest.fixture(scope="module")
def toy_model_folder(tmp_path_factory):
    """A real MLflow model folder (pyfunc) with params.json inside: ``load_model(folder)`` loads it."""
    import mlflow

    folder = tmp_path_factory.mktemp("toy-model") / "model"
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    class ToyPyfunc(mlflow.pyfunc.PythonModel):  # local: cloudpickled by value, workers need not import us
        def predict(self, context, model_input: np.ndarray, params: dict | None = None) -> np.ndarray:
            x = np.asarray(model_input, dtype=np.float32)[:, :1, ::4, ::4]
            return -((x - np.arange(10, dtype=np.float32).reshape(1, 10, 1, 1)) ** 2)

    signature = ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 14, -1, -1))]),
                               outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 10, -1, -1))]))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*input example.*")
        mlflow.pyfunc.save_model(str(folder), python_model=ToyPyfunc(), signature=signature, pip_requirements=[])
    (folder / "params.json").write_text(json.dumps(RAW))
    return folder


@pytest.fixture(scope="module")
def cluster():
    """One 2-worker LocalCluster for the module (workers keep their loaded models between tests)."""
    with dist.local_cluster(2) as client:
        client.wait_for_workers(2, timeout=120)
        yield client


def _serial(model, root):
    return predict_region(NUTS, YEAR, model, cache=False, progress=False, root=str(root))


def _no_temporaries(store_dir: Path) -> list[Path]:
    return [p for p in store_dir.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def _assert_same_region(result, expected, *, cached):
    np.testing.assert_array_equal(result["mask"], expected["mask"])
    assert (result["transform"], result["crs"], result["bounds"]) == (
        expected["transform"], expected["crs"], expected["bounds"])
    strip = [{k: v for k, v in t.items() if k != "cached"} for t in expected["tiles"]]
    assert [{k: v for k, v in t.items() if k != "cached"} for t in result["tiles"]] == strip
    assert [t["cached"] for t in result["tiles"]] == [cached] * len(strip)


# --- without a cluster --------------------------------------------------------------


def test_sources_are_resolved_on_the_client(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert dist.worker_source("models/toy").source == str(tmp_path / "models" / "toy")  # absolute for workers
    assert dist.worker_source(None, str(tiny_data.root)).source == str(tiny_data.root)  # the data root
    assert dist.worker_source("s3://bucket/data").source == "s3://bucket/data"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    registry = dist.worker_source("models:/segmentation-sentinel2-model/1")
    import mlflow

    assert registry.tracking_uri == mlflow.get_tracking_uri()  # the workers resolve it in the client's store
    loader = functools.partial(toy_loader, version="7")
    assert dist.worker_source(loader).key == dist.worker_source(functools.partial(toy_loader, version="7")).key
    assert dist.worker_source(loader).key != dist.worker_source(functools.partial(toy_loader, version="8")).key
    with pytest.raises(TypeError, match="source"):
        dist.worker_source(toy_loader())  # a loaded model is not a source


def test_a_worker_loads_a_model_once_and_a_task_skips_stored_tiles(tiny_data, tmp_path):
    source = dist.worker_source(functools.partial(toy_loader, version="once"))
    store = PredictionStore(tmp_path / "store")
    stems = tiny_data.layout[NUTS][YEAR][:2]
    first = dist.predict_tiles(source, store, NUTS, YEAR, stems, root=str(tiny_data.root), batch_size=2)
    again = dist.predict_tiles(source, store, NUTS, YEAR, stems, root=str(tiny_data.root), batch_size=2)
    assert (first["written"], first["found"]) == (stems, [])
    assert (again["written"], again["found"]) == ([], stems)
    assert LOADS.count("once") == 1  # the second task reused the loaded model
    assert first["key"] == ("segmentation-sentinel2-model", "once-m-toy")
    assert _no_temporaries(tmp_path / "store") == []
    with pytest.raises(TypeError, match="LoadedModel"):
        dist.worker_model(dist.worker_source(lambda: "not a model"))


def test_bad_arguments_fail_before_any_cluster_starts(tiny_data, monkeypatch):
    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(dist, "local_cluster", no_cluster)
    with pytest.raises(ValueError, match="tiles_per_task"):
        dist.predict_region_distributed(NUTS, YEAR, toy_loader, tiles_per_task=0, root=str(tiny_data.root))
    with pytest.raises(FileNotFoundError, match="LU000"):
        dist.predict_region_distributed(NUTS, 2030, toy_loader, root=str(tiny_data.root), progress=False)


# --- on a cluster -------------------------------------------------------------------


@pytest.mark.slow
def test_two_workers_give_the_serial_mosaic(cluster, tiny_data, toy_model_folder, tmp_path):
    expected = _serial(load_model(toy_model_folder), tiny_data.root)
    result = dist.predict_region_distributed(
        NUTS, YEAR, str(toy_model_folder), client=cluster, cache=tmp_path / "store", tiles_per_task=1,
        root=str(tiny_data.root), progress=False,
    )
    _assert_same_region(result, expected, cached=False)
    stats = result["stats"]
    assert (stats["tiles"], stats["tasks"], stats["predicted"], stats["cached"]) == (4, 4, 4, 0)
    assert stats["scheduler"] == cluster.scheduler.address
    assert len(stats["workers"]) == 2  # both workers took tasks
    assert result["dashboard"] == cluster.dashboard_link
    assert sorted(p.name for p in (tmp_path / "store").rglob("*.npy")) == sorted(
        f"{stem}.npy" for stem in tiny_data.layout[NUTS][YEAR])
    # the probability too, and without a store (a temporary one, removed)
    both = dist.predict_region_distributed(NUTS, YEAR, str(toy_model_folder), client=cluster, cache=False,
                                           root=str(tiny_data.root), progress=False, return_probability=True)
    serial = predict_region(NUTS, YEAR, load_model(toy_model_folder), cache=False, progress=False,
                            root=str(tiny_data.root), return_probability=True)
    np.testing.assert_array_equal(both["mask"], serial["mask"])
    np.testing.assert_allclose(both["probability"], serial["probability"], rtol=1e-6)


@pytest.mark.slow
def test_a_second_run_reads_only_the_store(cluster, tiny_data, toy_model_folder, tmp_path):
    store = tmp_path / "store"
    run = functools.partial(dist.predict_region_distributed, NUTS, YEAR, str(toy_model_folder), client=cluster,
                            cache=store, tiles_per_task=2, root=str(tiny_data.root), progress=False)
    first = run()
    written = {p: p.stat().st_mtime_ns for p in store.rglob("*.npy")}
    assert len(written) == 4 and first["stats"]["predicted"] == 4
    second = run()
    assert (second["stats"]["tasks"], second["stats"]["predicted"], second["stats"]["cached"]) == (0, 0, 4)
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*.npy")} == written  # nothing rewritten
    _assert_same_region(second, first, cached=True)
    next(iter(written)).unlink()
    third = run()
    assert (third["stats"]["tasks"], third["stats"]["predicted"], third["stats"]["cached"]) == (1, 1, 3)
    np.testing.assert_array_equal(third["mask"], first["mask"])


@pytest.mark.slow
def test_the_scheduler_address_setting_joins_that_cluster(cluster, tiny_data, toy_model_folder, tmp_path,
                                                          monkeypatch):
    def no_cluster(*args, **kwargs):
        raise AssertionError("started its own cluster instead of joining DASK_SCHEDULER_ADDRESS")

    monkeypatch.setattr(dist, "local_cluster", no_cluster)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler.address)
    result = dist.predict_region_distributed(NUTS, YEAR, str(toy_model_folder), cache=tmp_path / "store",
                                             root=str(tiny_data.root), progress=False)
    assert result["stats"]["scheduler"] == cluster.scheduler.address
    assert set(result["stats"]["workers"]) <= set(cluster.scheduler_info()["workers"])
    _assert_same_region(result, _serial(load_model(toy_model_folder), tiny_data.root), cached=False)
    assert len(cluster.scheduler_info()["workers"]) == 2  # joined, not shut down


@pytest.mark.slow
def test_without_a_client_a_local_cluster_is_started_and_closed(tiny_data, tmp_path):
    from distributed import Client

    result = dist.predict_region_distributed(NUTS, YEAR, functools.partial(toy_loader, version="own"),
                                             cache=tmp_path / "store", root=str(tiny_data.root), progress=False)
    assert result["dashboard"].startswith("http://127.0.0.1:")
    assert result["stats"]["scheduler"].startswith("tcp://127.0.0.1:")
    assert result["stats"]["predicted"] == 4 and result["mask"].shape == (500, 500)
    with pytest.raises(OSError):
        Client(result["stats"]["scheduler"], timeout="2s")  # the call's own cluster is gone


@pytest.mark.slow
def test_a_killed_worker_still_leaves_a_complete_store(cluster, tiny_data, tmp_path):
    """Last: the killed worker is restarted by its nanny, the others tests need not wait for it."""
    marker = tmp_path / "killed"
    store = tmp_path / "store"
    result = dist.predict_region_distributed(
        NUTS, YEAR, functools.partial(toy_loader, str(marker), "kill"), client=cluster, cache=store,
        tiles_per_task=2, batch_size=1, root=str(tiny_data.root), progress=False,
    )
    assert marker.exists()  # a worker did die, on the second tile of its first task
    stats = result["stats"]
    # the dead attempt had stored its first tile; the rerun found it and predicted the other one
    assert (stats["tasks"], stats["predicted"], stats["found"]) == (2, 3, 1)
    expected = _serial(LoadedModel(ToyModel(), RAW, version="kill", model_id="m-toy"), tiny_data.root)
    np.testing.assert_array_equal(result["mask"], expected["mask"])
    reader = PredictionStore(store)
    for stem in tiny_data.layout[NUTS][YEAR]:
        stored = reader.load(("segmentation-sentinel2-model", "kill-m-toy"), NUTS, YEAR, stem)
        assert stored is not None and stored.mask.shape == (250, 250) and stored.mask.dtype == np.uint8
    assert _no_temporaries(store) == []

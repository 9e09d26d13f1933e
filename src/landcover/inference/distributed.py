"""Predict a region on a Dask cluster: one task per batch of tiles, each worker loading the model once.

:func:`predict_region_distributed` gives the same :class:`~landcover.inference.regions.RegionPrediction`
as :func:`~landcover.inference.regions.predict_region`, with the work spread
over the workers of a Dask cluster (``pip install -e ".[distributed]"``):

1. the client reads the region-year's tile index and lays out the mosaic grid;
2. one small task asks a worker for the model's identity (name and cache
   version), so the client can look the tiles up in the prediction store
   (:class:`~landcover.inference.cache.PredictionStore`) without ever loading
   the model itself;
3. the tiles not yet stored go to the cluster, ``tiles_per_task`` per task.
   Each task predicts its tiles that are still missing and writes each mask
   into the store atomically (:func:`landcover.storage.write_bytes_atomic`:
   a temporary name, then a rename; one PUT on S3), then returns only the
   stems it wrote or found: kilobytes, never masks;
4. the client builds the mosaic from the store.

How the model reaches the workers. Workers are separate processes, often on
other machines, so what travels is the model's *source* (a registry URI such
as ``models:/segmentation-sentinel2-model/1``, a model folder, a published
run or a data root; or a picklable zero-argument callable returning a
:class:`~landcover.inference.loading.LoadedModel`), never the model object.
Each worker process keeps the models it loaded in a module-level dictionary
keyed by that source, so it loads a model once, on the first task that needs
it, and reuses it for every later task and every later call. This was
preferred to a :class:`distributed.WorkerPlugin` because it is lazy (a
worker that never gets a task never loads the model), needs no registration
step, and works the same when a worker restarts or joins later. The
client's MLflow tracking URI travels with a registry source, so the workers
resolve ``models:/...`` in the same store.

Resilience. Tasks are submitted with ``retries=2``, which re-runs a task that
raised (a transient S3 or network error). A task whose worker dies
(killed, out of memory) is rescheduled on another worker by the scheduler
itself (``distributed.scheduler.allowed-failures``, 3 by default); because
every mask is written atomically and a task skips the tiles already stored,
the rerun only predicts what is missing and the store never holds a partial
file.

Which cluster. ``client=`` an existing :class:`distributed.Client`; else the
setting ``DASK_SCHEDULER_ADDRESS`` (environment or ``.env``) joins that
cluster; else a :class:`distributed.LocalCluster` of two single-threaded
worker processes, listening on 127.0.0.1 only (dashboard on a free port), is
started for the call and closed after it (:func:`local_cluster`). Dask's
nannies start workers with ``OMP_NUM_THREADS=1``, so each worker's torch uses
one thread per Dask thread and two workers do not fight over two cores. The
dashboard's address is returned under ``dashboard`` (it shows the task
stream when ``bokeh`` is installed). Workers must see the data root and the
store at the same locations as the client: a local folder for a
:class:`~distributed.LocalCluster`, an ``s3://`` prefix for a remote cluster.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from landcover.classes import NODATA
from landcover.config import is_remote
from landcover.data.paths import image_path, validate_nuts, validate_year
from landcover.data.tiles import get_satellite_image
from landcover.errors import DataFileError
from landcover.inference.cache import ModelKey, PredictionStore, model_key, resolve_store
from landcover.inference.loading import LoadedModel, PublishedModel, normalized_root
from landcover.inference.model import load_model
from landcover.inference.prediction import _progress_bar, check_batch_size, predict_images, resolve_model
from landcover.inference.regions import RegionPrediction, TileEntry, place_tile, region_result, region_tiles

if TYPE_CHECKING:
    from distributed import Client

#: Setting naming the scheduler of an existing cluster (``tcp://host:8786``), environment or ``.env``.
SCHEDULER_ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"
#: Tiles per Dask task by default.
DEFAULT_TILES_PER_TASK = 4
#: Re-runs of a task that raised (a killed worker's tasks are rescheduled by the scheduler itself).
TASK_RETRIES = 2

#: What :func:`predict_region_distributed` accepts as the model: a source :func:`load_model`
#: understands (``None``: the model published under the data root), or a picklable loader.
ModelSourceLike = str | os.PathLike[str] | PublishedModel | Callable[[], LoadedModel] | None

logger = logging.getLogger(__name__)

# The models this process loaded, by source key: one load per worker process (see the module docstring).
_MODELS: dict[str, LoadedModel] = {}
_MODELS_GUARD = threading.Lock()


class DistributedStats(TypedDict):
    """The ``stats`` of a distributed region prediction.

    ``tiles``: tiles in the region-year; ``cached``: found in the store by the
    client before anything was submitted; ``tasks``: prediction tasks
    submitted; ``predicted``: tiles predicted (and stored) by the tasks;
    ``found``: tiles a task found stored already (written by a concurrent run
    or by an earlier attempt of a task whose worker died); ``scheduler``: the
    scheduler's address; ``workers``: addresses of the workers that ran
    prediction tasks; ``seconds``: wall time of the call.
    """

    tiles: int
    cached: int
    tasks: int
    predicted: int
    found: int
    scheduler: str
    workers: list[str]
    seconds: float


@dataclass(frozen=True)
class WorkerSource:
    """A model source as sent to the workers: what to load, and the key a worker caches it under.

    ``source`` is what :func:`~landcover.inference.model.load_model` takes (an
    absolute path, a URI, a :class:`PublishedModel`) or a zero-argument loader;
    ``tracking_uri`` the MLflow tracking URI a registry source is resolved in.
    """

    key: str
    source: str | PublishedModel | Callable[[], LoadedModel]
    tracking_uri: str | None = None


def worker_source(model_source: ModelSourceLike, root: str | None = None) -> WorkerSource:
    """The :class:`WorkerSource` for ``model_source``, resolved on the client.

    ``None`` becomes the data root ``root`` (the active one when ``None``), a
    relative folder an absolute one, so workers load the same model whatever
    their environment and working folder. A callable is keyed by a digest of
    its pickled form.

    Raises
    ------
    TypeError
        When ``model_source`` is a model object rather than a source.
    """
    if isinstance(model_source, LoadedModel) or hasattr(model_source, "predict"):
        raise TypeError(
            f"model_source={type(model_source).__name__}: send the model's source (a registry URI, a model "
            "folder or a data root), not the model: each worker loads it once itself"
        )
    if model_source is None:
        text = normalized_root(root)
        return WorkerSource(f"source:{text}", text)
    if isinstance(model_source, PublishedModel):
        return WorkerSource(f"published:{model_source!r}", model_source)
    if isinstance(model_source, (str, os.PathLike)):
        text = os.fspath(model_source)
        if text.startswith(("models:/", "runs:/")):
            mlflow = sys.modules.get("mlflow")
            uri = mlflow.get_tracking_uri() if mlflow is not None else os.environ.get("MLFLOW_TRACKING_URI")
            return WorkerSource(f"source:{text}@{uri}", text, uri)
        if not is_remote(text):
            text = str(Path(text).expanduser().resolve())
        return WorkerSource(f"source:{text}", text)
    if callable(model_source):
        import cloudpickle

        digest = hashlib.sha256(cloudpickle.dumps(model_source)).hexdigest()[:16]
        name = getattr(model_source, "__qualname__", type(model_source).__name__)
        return WorkerSource(f"callable:{name}:{digest}", model_source)
    raise TypeError(
        f"model_source={model_source!r}: expected a registry URI, a model folder, a data root, a "
        "PublishedModel, None or a zero-argument loader"
    )


def worker_model(source: WorkerSource) -> LoadedModel:
    """The model of ``source``, loaded once per process (later calls return the same object).

    Raises
    ------
    TypeError
        When a loader returns something other than a :class:`LoadedModel`.
    """
    with _MODELS_GUARD:
        found = _MODELS.get(source.key)
        if found is not None:
            return found
        if callable(source.source) and not isinstance(source.source, (str, PublishedModel)):
            loaded = source.source()
            if not isinstance(loaded, LoadedModel):
                raise TypeError(
                    f"the model loader {source.key} returned {type(loaded).__name__}, expected a LoadedModel "
                    "(a cache needs the model's name and version)"
                )
        else:
            if source.tracking_uri:
                import mlflow

                mlflow.set_tracking_uri(source.tracking_uri)
            loaded = load_model(source.source)
        _MODELS[source.key] = loaded
        return loaded


def _worker_name() -> str:
    """The address of the worker running this, or ``pid:<n>`` outside a Dask worker."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid:{os.getpid()}"


def model_identity(source: WorkerSource) -> tuple[str, str]:
    """Task: the ``(name, cache version)`` the predictions of ``source`` are stored under."""
    return tuple(model_key(worker_model(source)))  # type: ignore[return-value]


def predict_tiles(
    source: WorkerSource,
    store: PredictionStore,
    nuts: str,
    year: int,
    stems: list[str],
    *,
    root: str,
    batch_size: int,
    return_probability: bool = False,
) -> dict[str, Any]:
    """Task: predict the tiles ``stems`` of a region-year that are not yet in ``store``, and store them.

    Returns a small dict: ``key`` (model name and cache version), ``written``
    (stems predicted and stored now), ``found`` (stems already stored),
    ``worker`` and ``pid``. Each mask is written atomically as soon as it is
    predicted, so a worker that dies mid-task leaves complete files only.
    """
    loaded = worker_model(source)
    key = model_key(loaded)
    network, params = resolve_model(loaded)
    written: list[str] = []
    found: list[str] = []
    with store.locked(key, [(nuts, year, stem) for stem in stems]):
        missing = []
        for stem in stems:
            if store.load(key, nuts, year, stem, probability=return_probability) is None:
                missing.append(stem)
            else:
                found.append(stem)
        if missing:
            n_bands = int(params["n_bands"])
            images = [get_satellite_image(image_path(nuts, year, stem, root), n_bands=n_bands) for stem in missing]

            def finished(position: int, result: dict[str, Any]) -> None:
                stem = missing[position]
                store.save(key, nuts, year, stem, result["mask"], result.get("probability"))
                written.append(stem)

            predict_images(images, network, params, batch_size=batch_size,
                           return_probability=return_probability, on_result=finished)  # type: ignore[arg-type]
    return {"key": tuple(key), "written": written, "found": found, "worker": _worker_name(), "pid": os.getpid()}


@contextlib.contextmanager
def local_cluster(n_workers: int = 2, *, threads_per_worker: int = 1, **options: Any) -> Iterator[Client]:
    """A :class:`distributed.LocalCluster` of worker processes on this machine, and a client of it.

    Everything listens on 127.0.0.1 only; the dashboard takes a free port
    (``client.dashboard_link``). The cluster is closed when the block ends::

        with local_cluster() as client:
            result = predict_region_distributed("LU000", 2024, None, client=client)

    Parameters
    ----------
    n_workers : int
        Worker processes.
    threads_per_worker : int
        Threads (tasks at a time) per worker; Dask gives each worker
        ``OMP_NUM_THREADS=1``, so keep one thread per worker for torch.
    **options
        More :class:`distributed.LocalCluster` arguments (``memory_limit``, ...).
    """
    from distributed import Client, LocalCluster

    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers={n_workers!r} must be a positive integer")
    settings: dict[str, Any] = {
        "n_workers": n_workers, "threads_per_worker": threads_per_worker, "processes": True,
        "host": "127.0.0.1", "dashboard_address": "127.0.0.1:0",
    }
    settings.update(options)
    cluster = LocalCluster(**settings)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def scheduler_address() -> str | None:
    """The scheduler named by ``DASK_SCHEDULER_ADDRESS`` (environment or ``.env``), or ``None``."""
    value = os.environ.get(SCHEDULER_ADDRESS_VARIABLE, "").strip()
    return value or None


@contextlib.contextmanager
def _cluster_client(client: Client | None) -> Iterator[Client]:
    """``client``; else a client of ``DASK_SCHEDULER_ADDRESS``; else a :func:`local_cluster`."""
    if client is not None:
        yield client
        return
    address = scheduler_address()
    if address is not None:
        from distributed import Client

        joined = Client(address)
        try:
            yield joined
        finally:
            joined.close()  # leaves the cluster running: it is not ours
        return
    with local_cluster() as owned:
        yield owned


def predict_region_distributed(
    nuts: str,
    year: int | str,
    model_source: ModelSourceLike = None,
    *,
    client: Client | None = None,
    cache: PredictionStore | str | os.PathLike[str] | bool | None = True,
    tiles_per_task: int = DEFAULT_TILES_PER_TASK,
    root: str | None = None,
    progress: bool = True,
    batch_size: int | None = None,
    return_probability: bool = False,
) -> RegionPrediction:
    """Land cover of every tile of a region and year, predicted on a Dask cluster, as one mosaic.

    Same result as :func:`~landcover.inference.regions.predict_region` (mask,
    transform, CRS, bounds, tiles in index order; ``cached`` is true for the
    tiles read from the store rather than predicted now), plus ``dashboard``
    and ``stats`` (:class:`DistributedStats`). See the module docstring for
    how tasks, the model and the store work together.

    Parameters
    ----------
    nuts : str
        NUTS3 code, e.g. ``"LU000"``.
    year : int or str
        Year of the tiles (2018, 2021, 2024).
    model_source : str, os.PathLike, PublishedModel, callable or None
        Where the workers load the model from (:func:`~landcover.inference.model.load_model`'s
        ``source``): ``None`` for the model published under the data root, a
        registry URI, a model folder, a published run, a data root; or a
        picklable zero-argument function returning a :class:`LoadedModel`.
        Not a loaded model: each worker loads its own copy once.
    client : distributed.Client, optional
        The cluster to use. Default: ``DASK_SCHEDULER_ADDRESS`` when set, else
        a local cluster of two worker processes started for this call.
    cache : PredictionStore, str, os.PathLike, bool or None
        The store the workers write to and the mosaic is read from: ``True``
        the default one, or a store, folder or ``s3://`` prefix. ``False`` or
        ``None``: a temporary folder removed at the end (workers must share
        this machine's disk: a local cluster).
    tiles_per_task : int
        Tiles per Dask task (one model forward pass of up to ``batch_size`` tiles at a time).
    root : str, optional
        Data root (default: the active one), as the workers must see it.
    progress : bool
        Show a tqdm bar over tiles, and print the dashboard's address.
    batch_size : int, optional
        Tiles per forward pass inside a task (default: ``tiles_per_task``).
    return_probability : bool
        Also return (and store) the probability of the chosen class.

    Returns
    -------
    RegionPrediction
        The mosaic and its tiles, with ``dashboard`` and ``stats``.

    Raises
    ------
    FileNotFoundError
        When the region-year has no tile index.
    landcover.errors.DataFileError
        When the index lists no tile, a prediction's size disagrees with its
        box, or a stored mask cannot be read back by the client (a store the
        workers see elsewhere).
    ValueError
        When ``tiles_per_task`` or ``batch_size`` is not a positive integer,
        or the workers' model differs from the one asked for.
    """
    started = time.perf_counter()
    nuts, year = validate_nuts(nuts), validate_year(year)
    if isinstance(tiles_per_task, bool) or not isinstance(tiles_per_task, (int, np.integer)) or tiles_per_task < 1:
        raise ValueError(f"tiles_per_task={tiles_per_task!r} must be a positive integer (tiles per Dask task)")
    tiles_per_task = int(tiles_per_task)
    batch_size = check_batch_size(tiles_per_task if batch_size is None else batch_size)
    root = normalized_root(root)
    source = worker_source(model_source, root)
    transform, shape, tiles = region_tiles(nuts, year, root)  # a bad region fails before any cluster starts
    with contextlib.ExitStack() as stack:
        if cache is None or cache is False:
            store = PredictionStore(stack.enter_context(tempfile.TemporaryDirectory(prefix="landcover-dask-store-")))
        else:
            store = resolve_store(cache, root)  # type: ignore[assignment]
        active = stack.enter_context(_cluster_client(client))
        dashboard = _dashboard(active)
        if progress and dashboard:
            print(f"Dask dashboard: {dashboard}")
        logger.info("predicting %s/%s on %s (dashboard %s)", nuts, year, active.scheduler.address, dashboard)
        identity = active.submit(model_identity, source, pure=False, retries=TASK_RETRIES,
                                 key=f"model-identity-{uuid.uuid4().hex[:8]}").result()
        key = ModelKey(*identity)
        mosaic = np.full(shape, NODATA, dtype=np.uint8)
        probability = np.zeros(shape, dtype=np.float32) if return_probability else None
        by_stem = {entry["stem"]: entry for entry in tiles}

        def place_from_store(entry: TileEntry) -> bool:
            stored = store.load(key, nuts, year, entry["stem"], probability=return_probability)
            if stored is None:
                return False
            place_tile(mosaic, probability, entry, stored.mask, stored.probability, nuts=nuts, year=year)
            return True

        missing = [entry["stem"] for entry in tiles if not place_from_store(entry)]
        for entry in tiles:
            entry["cached"] = entry["stem"] not in missing
        stats: DistributedStats = {
            "tiles": len(tiles), "cached": len(tiles) - len(missing), "tasks": 0, "predicted": 0, "found": 0,
            "scheduler": str(active.scheduler.address), "workers": [], "seconds": 0.0,
        }
        bar = _progress_bar(progress, "tile", len(tiles), f"{nuts} {year} on Dask")
        try:
            if bar is not None:
                bar.update(stats["cached"])
            _run_tasks(active, source, store, key, nuts, year, missing, by_stem, place_from_store, stats,
                       root=root, tiles_per_task=tiles_per_task, batch_size=batch_size,
                       return_probability=return_probability, bar=bar)
        finally:
            if bar is not None:
                bar.close()
    result = region_result(nuts, year, transform, mosaic, probability, tiles)
    stats["seconds"] = round(time.perf_counter() - started, 3)
    result["dashboard"] = dashboard
    result["stats"] = dict(stats)
    return result


def _dashboard(client: Client) -> str | None:
    """The client's dashboard URL, ``None`` when the scheduler serves none."""
    try:
        link = client.dashboard_link
    except (AttributeError, KeyError, ValueError):
        return None
    return str(link) if link else None


def _run_tasks(
    client: Client,
    source: WorkerSource,
    store: PredictionStore,
    key: ModelKey,
    nuts: str,
    year: int,
    missing: list[str],
    by_stem: dict[str, TileEntry],
    place_from_store: Callable[[TileEntry], bool],
    stats: DistributedStats,
    *,
    root: str,
    tiles_per_task: int,
    batch_size: int,
    return_probability: bool,
    bar: Any,
) -> None:
    """Submit the missing tiles, ``tiles_per_task`` per task, and place each task's tiles as it finishes."""
    from distributed import as_completed

    if not missing:
        return
    run = uuid.uuid4().hex[:8]
    futures = [
        client.submit(
            predict_tiles, source, store, nuts, year, missing[start : start + tiles_per_task],
            root=root, batch_size=batch_size, return_probability=return_probability,
            key=f"predict-tiles-{nuts}-{year}-{run}-{number}", pure=False, retries=TASK_RETRIES,
        )
        for number, start in enumerate(range(0, len(missing), tiles_per_task))
    ]
    stats["tasks"] = len(futures)
    workers: set[str] = set()
    try:
        for future in as_completed(futures):
            done = future.result()
            if ModelKey(*done["key"]) != key:
                raise ValueError(
                    f"worker {done['worker']} loaded model {tuple(done['key'])}, not {tuple(key)}: the workers "
                    "do not see the same model source (data root, registry or tracking store)"
                )
            workers.add(str(done["worker"]))
            for stem in [*done["written"], *done["found"]]:
                if not place_from_store(by_stem[stem]):
                    raise DataFileError(
                        f"{stem} of {nuts}/{year}: worker {done['worker']} stored it in {store.location}, but "
                        "this process cannot read it there: use a store the client and the workers share "
                        "(a local folder for a local cluster, an s3:// prefix for a remote one)"
                    )
            for stem in done["found"]:
                by_stem[stem]["cached"] = True  # stored before this task ran: read, as predict_region would
            stats["predicted"] += len(done["written"])
            stats["found"] += len(done["found"])
            if bar is not None:
                bar.update(len(done["written"]) + len(done["found"]))
    except BaseException:
        client.cancel([f for f in futures if not f.done()])
        raise
    stats["workers"] = sorted(workers)

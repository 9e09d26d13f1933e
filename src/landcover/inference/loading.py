"""Find and load a published model: plain files under the data root, no MLflow server needed.

Layout, as on the real bucket (DESIGN section 3)::

    mlflow-artifacts/{experiment_id}/{run_id}/artifacts/model/        an MLflow model folder
    mlflow-artifacts/{experiment_id}/{run_id}/artifacts/params.json   n_bands, tiles_size, ...
    mlflow-artifacts/{experiment_id}/{run_id}/artifacts/manifest.json the files above (for HTTPS)
    mlflow-artifacts/latest.json                                      which run is the newest

:func:`published_model_location` finds the newest published run (local
folder, ``https://`` or ``s3://``); :func:`load_published_model` loads its
model and parameters, copying a remote model once into the download cache
(:func:`landcover.config.cache_dir`). Writing this layout is training's job
(:func:`landcover.training.publish.publish_run`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from landcover.config import REAL_BUCKET_HTTPS, REAL_BUCKET_S3, cache_dir, data_root, is_remote
from landcover.inference.logits import LogitsModel
from landcover.inference.params import PARAMS_FILENAME, ModelParams, load_params
from landcover.storage import get_file_system, read_bytes

PUBLISHED_DIR = "mlflow-artifacts"
LATEST_FILENAME = "latest.json"
MANIFEST_FILENAME = "manifest.json"
MODEL_DIR = "model"

#: The pre-trained model published with the real data (outside the data prefix).
REAL_PUBLISHED_HTTPS = (
    "https://minio.lab.sspcloud.fr/projet-funathon/mlflow-artifacts/1/88138b467a484c54b9935b66460413cd/artifacts"
)
REAL_PUBLISHED_S3 = "s3://projet-funathon/mlflow-artifacts/1/88138b467a484c54b9935b66460413cd/artifacts"


@dataclass(frozen=True)
class PublishedModel:
    """Where a published run lives: ``location`` is its ``.../artifacts`` folder (path or URL)."""

    location: str
    experiment_id: str
    run_id: str

    @property
    def model_location(self) -> str:
        """The MLflow model folder (``mlflow.pyfunc.load_model`` takes it once local)."""
        return join_location(self.location, MODEL_DIR)

    @property
    def params_location(self) -> str:
        """The ``params.json`` file."""
        return join_location(self.location, PARAMS_FILENAME)


class LoadedModel(NamedTuple):
    """A published model ready to predict, with the parameters its predictions need.

    Unpacks as ``model, params = load_published_model()``. ``model`` is the
    MLflow pyfunc (``model.predict`` maps a normalised batch to raw logits);
    ``params`` the checked ``params.json``.
    """

    model: LogitsModel
    params: ModelParams


def join_location(base: str, *parts: str) -> str:
    """``base/part/...`` for a local folder (OS separators) or a URL (``/``)."""
    if is_remote(base):
        return "/".join([base.rstrip("/"), *parts])
    return str(Path(base, *parts))


def normalized_root(root: str | None) -> str:
    """The data root to use: the active one when ``root`` is ``None``, without a trailing ``/``."""
    return data_root() if root is None else (root.rstrip("/") if is_remote(root) else str(Path(root)))


def published_root(root: str | None = None) -> str:
    """The ``mlflow-artifacts`` folder under the data root."""
    return join_location(normalized_root(root), PUBLISHED_DIR)


def local_published_runs(base: Path) -> list[Path]:
    """``artifacts`` folders of the published runs under a local ``mlflow-artifacts`` folder.

    Folders whose name starts with ``.`` (a publication in progress) are skipped.
    """
    if not base.is_dir():
        return []
    return [
        mlmodel.parent.parent
        for mlmodel in base.glob(f"*/*/artifacts/{MODEL_DIR}/MLmodel")
        if not mlmodel.parents[3].name.startswith(".") and not mlmodel.parents[2].name.startswith(".")
    ]


def _created(artifacts: Path) -> str:
    """The ``utc_time_created`` of a local run's ``MLmodel`` (empty when unreadable), to order runs."""
    import yaml

    try:
        return str(yaml.safe_load((artifacts / MODEL_DIR / "MLmodel").read_text()).get("utc_time_created", ""))
    except (OSError, yaml.YAMLError, AttributeError):
        return ""


def published_index(root: str | None = None) -> dict[str, Any] | None:
    """The content of ``mlflow-artifacts/latest.json`` under the data root, or ``None``."""
    try:
        return json.loads(read_bytes(join_location(published_root(normalized_root(root)), LATEST_FILENAME)))
    except (FileNotFoundError, PermissionError, json.JSONDecodeError):
        return None


def published_model_location(root: str | None = None) -> PublishedModel:
    """The newest published run under the data root (local folder, ``https://`` or ``s3://``).

    Reads ``mlflow-artifacts/latest.json`` when present; on a local root
    without it, takes the run whose ``MLmodel`` was created last. On the real
    bucket, whose model is published outside the data prefix, returns that
    model.

    Raises
    ------
    FileNotFoundError
        When no model is published there (the message suggests ``make model``).
    ValueError
        When ``latest.json`` exists but is not a valid index.
    """
    root = normalized_root(root)
    base = published_root(root)
    try:
        latest = json.loads(read_bytes(join_location(base, LATEST_FILENAME)))
        return PublishedModel(
            join_location(base, *latest["path"].split("/")), str(latest["experiment_id"]), latest["run_id"]
        )
    except (FileNotFoundError, PermissionError):
        pass
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(
            f"{join_location(base, LATEST_FILENAME)} is not a valid index of published runs: {error}"
        ) from error
    if not is_remote(root):
        runs = local_published_runs(Path(base))
        if runs:
            newest = max(runs, key=lambda p: (_created(p), p.stat().st_mtime))
            return PublishedModel(str(newest), newest.parent.parent.name, newest.parent.name)
    for real, published in ((REAL_BUCKET_HTTPS, REAL_PUBLISHED_HTTPS), (REAL_BUCKET_S3, REAL_PUBLISHED_S3)):
        if root == real.rstrip("/"):
            parts = published.rstrip("/").split("/")
            return PublishedModel(published, parts[-3], parts[-2])
    raise FileNotFoundError(
        f"no published model under {base}: run `make model` (python -m landcover.training.pretrained)"
    )


def download_model_folder(published: PublishedModel, destination: Path) -> None:
    """Copy a remote published ``model/`` folder to ``destination``.

    Over HTTPS the run's ``manifest.json`` lists the files; without one (the
    real bucket) the folder is listed over S3, since the HTTPS URL of a MinIO
    object is its S3 key (read anonymously from ``AWS_S3_ENDPOINT``, by
    default SSP Cloud's MinIO).
    """
    location = published.location
    try:
        manifest = json.loads(read_bytes(join_location(location, MANIFEST_FILENAME)))
        files = [f for f in manifest["files"] if f.startswith(f"{MODEL_DIR}/")]
    except FileNotFoundError:
        files = None
    if files is not None:
        for relative in files:
            target = destination.parent / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read_bytes(join_location(location, *relative.split("/"))))
        return
    source = published.model_location
    if source.startswith(("http://", "https://")):
        source = "s3://" + urlsplit(source).path.lstrip("/")
    get_file_system(source).get(source.rstrip("/") + "/", str(destination), recursive=True)


def cached_model_folder(published: PublishedModel) -> Path:
    """A local copy of a remote published model: ``published-models/{run_id}/model`` in the download cache.

    Downloaded once, into a temporary folder renamed at the end, so an
    interrupted download never looks like a model.
    """
    cache = cache_dir() / "published-models" / published.run_id / MODEL_DIR
    if not (cache / "MLmodel").exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".download-", dir=cache.parent)) / MODEL_DIR
        try:
            download_model_folder(published, staging)
            if cache.exists():
                shutil.rmtree(cache)
            os.replace(staging, cache)
        finally:
            shutil.rmtree(staging.parent, ignore_errors=True)
    return cache


def load_published_model(published: PublishedModel | None = None, *, root: str | None = None) -> LoadedModel:
    """Load a published model and its parameters: ``model, params = load_published_model()``.

    ``published``: which run (default: :func:`published_model_location` of
    ``root``, itself the active data root by default). Remote models are
    copied once into the download cache (:func:`cached_model_folder`).
    """
    import mlflow

    published = published or published_model_location(root)
    params = load_params(published.params_location)
    folder = published.model_location if not is_remote(published.location) else str(cached_model_folder(published))
    return LoadedModel(mlflow.pyfunc.load_model(folder), params)

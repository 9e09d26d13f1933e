"""The published form of a trained model: plain files under the data root, no MLflow server needed.

Layout, as on the real bucket (DESIGN section 3)::

    mlflow-artifacts/{experiment_id}/{run_id}/artifacts/model/        an MLflow model folder
    mlflow-artifacts/{experiment_id}/{run_id}/artifacts/params.json   n_bands, tiles_size, ...
    mlflow-artifacts/{experiment_id}/{run_id}/artifacts/manifest.json the files above (for HTTPS)
    mlflow-artifacts/latest.json                                      which run is the newest

:func:`publish_run` copies a run's artifacts there (into a temporary folder
renamed at the end, so a reader never sees half a model);
:func:`published_model_location` finds the newest published run;
:func:`load_published_model` loads it with its parameters.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from landcover.config import REAL_BUCKET_HTTPS, REAL_BUCKET_S3, data_root, is_remote
from landcover.storage import write_bytes_atomic

PUBLISHED_DIR = "mlflow-artifacts"
LATEST_FILENAME = "latest.json"
MANIFEST_FILENAME = "manifest.json"

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
        return _join(self.location, "model")

    @property
    def params_location(self) -> str:
        """The ``params.json`` file."""
        return _join(self.location, "params.json")


def _join(base: str, *parts: str) -> str:
    if is_remote(base):
        return "/".join([base.rstrip("/"), *parts])
    return str(Path(base, *parts))


def _root(root: str | None) -> str:
    return data_root() if root is None else (root.rstrip("/") if is_remote(root) else str(Path(root)))


def published_root(root: str | None = None) -> str:
    """The ``mlflow-artifacts`` folder under the data root."""
    return _join(_root(root), PUBLISHED_DIR)


def _file_list(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def logged_model_uri(run_id: str, name: str = "model") -> str:
    """``models:/<model_id>`` of the model logged under ``name`` by run ``run_id`` (MLflow 3)."""
    import mlflow

    run = mlflow.get_run(run_id)
    models = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}' AND name = '{name}'",
        output_format="list",
    )
    if not models:
        raise FileNotFoundError(f"run {run_id} logged no model named {name!r}")
    newest = max(models, key=lambda m: m.creation_timestamp)
    return f"models:/{newest.model_id}"


def publish_run(
    run_id: str,
    root: str | None = None,
    *,
    model_uri: str | None = None,
    model_name: str | None = None,
    model_version: str | None = None,
    keep_older: bool = False,
    extra: dict[str, Any] | None = None,
) -> PublishedModel:
    """Copy the model and ``params.json`` of MLflow run ``run_id`` under a local data root.

    ``model_uri``: the logged model (default: the model named ``model`` of the
    run). Uses the active tracking URI. Older published runs are removed
    unless ``keep_older``. ``extra`` entries are added to ``latest.json``.
    Returns the new :class:`PublishedModel`.
    """
    import mlflow

    root = _root(root)
    if is_remote(root):
        raise ValueError(f"publish_run writes files: the data root must be a local folder, not {root}")
    run = mlflow.get_run(run_id)
    experiment_id = run.info.experiment_id
    model_uri = model_uri or logged_model_uri(run_id)
    base = Path(root, PUBLISHED_DIR)
    target = base / experiment_id / run_id
    staging = base / experiment_id / f".{run_id}.{uuid.uuid4().hex}.publishing"
    artifacts = staging / "artifacts"
    artifacts.mkdir(parents=True)
    try:
        mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(artifacts / "model"))
        mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="params.json", dst_path=str(artifacts))
        for needed in ("model/MLmodel", "params.json"):
            if not (artifacts / needed).is_file():
                raise FileNotFoundError(f"run {run_id}: {needed} is missing after download from {model_uri}")
        files = _file_list(artifacts)
        manifest = {"run_id": run_id, "model_uri": model_uri, "files": files}
        (artifacts / MANIFEST_FILENAME).write_text(json.dumps(manifest, indent=1))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    latest = {
        "experiment_id": experiment_id,
        "run_id": run_id,
        "path": f"{experiment_id}/{run_id}/artifacts",
        "model_name": model_name,
        "model_version": model_version,
        "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    write_bytes_atomic(base / LATEST_FILENAME, json.dumps(latest, indent=1).encode())
    if not keep_older:
        for other in _local_runs(base):
            if other.parent.name != run_id or other.parent.parent.name != experiment_id:
                shutil.rmtree(other.parent, ignore_errors=True)
        for folder in base.iterdir():
            if folder.is_dir() and not folder.name.startswith(".") and not any(folder.iterdir()):
                folder.rmdir()
    return PublishedModel(str(target / "artifacts"), experiment_id, run_id)


def _local_runs(base: Path) -> list[Path]:
    """``artifacts`` folders of the published runs under a local ``mlflow-artifacts`` folder."""
    if not base.is_dir():
        return []
    return [
        mlmodel.parent.parent
        for mlmodel in base.glob("*/*/artifacts/model/MLmodel")
        if not mlmodel.parents[3].name.startswith(".") and not mlmodel.parents[2].name.startswith(".")
    ]


def _created(artifacts: Path) -> str:
    import yaml

    try:
        return str(yaml.safe_load((artifacts / "model" / "MLmodel").read_text()).get("utc_time_created", ""))
    except (OSError, yaml.YAMLError, AttributeError):
        return ""


def published_index(root: str | None = None) -> dict[str, Any] | None:
    """The content of ``mlflow-artifacts/latest.json`` under the data root, or ``None``."""
    from landcover.storage import read_bytes

    try:
        return json.loads(read_bytes(_join(published_root(_root(root)), LATEST_FILENAME)))
    except (FileNotFoundError, PermissionError, json.JSONDecodeError):
        return None


def published_model_location(root: str | None = None) -> PublishedModel:
    """The newest published run under the data root (local folder, ``https://`` or ``s3://``).

    Reads ``mlflow-artifacts/latest.json`` when present; on a local root
    without it, takes the run whose ``MLmodel`` was created last. On the real
    bucket, whose model is published outside the data prefix, returns that
    model. Raises ``FileNotFoundError`` (suggesting ``make model``) otherwise.
    """
    from landcover.storage import read_bytes

    root = _root(root)
    base = published_root(root)
    try:
        latest = json.loads(read_bytes(_join(base, LATEST_FILENAME)))
        return PublishedModel(_join(base, *latest["path"].split("/")), str(latest["experiment_id"]), latest["run_id"])
    except (FileNotFoundError, PermissionError):
        pass
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{_join(base, LATEST_FILENAME)} is not a valid index of published runs: {error}") from error
    if not is_remote(root):
        runs = _local_runs(Path(base))
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


def _download_model_folder(published: PublishedModel, destination: Path) -> None:
    """Copy a remote published ``model/`` folder to ``destination`` (manifest over HTTPS, listing on S3)."""
    from landcover.storage import get_file_system, read_bytes

    location = published.location
    try:
        manifest = json.loads(read_bytes(_join(location, MANIFEST_FILENAME)))
        files = [f for f in manifest["files"] if f.startswith("model/")]
    except FileNotFoundError:
        files = None
    if files is not None:
        for relative in files:
            target = destination.parent / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read_bytes(_join(location, *relative.split("/"))))
        return
    source = published.model_location
    if source.startswith(("http://", "https://")):
        # No manifest (e.g. the real bucket): the HTTPS URL of a MinIO object is its S3 key
        # (read anonymously from AWS_S3_ENDPOINT, by default SSP Cloud's MinIO).
        parts = urlsplit(source)
        source = "s3://" + parts.path.lstrip("/")
    get_file_system(source).get(source.rstrip("/") + "/", str(destination), recursive=True)


def load_published_model(published: PublishedModel | None = None, *, root: str | None = None) -> tuple[Any, dict]:
    """Load a published model and its parameters: ``(pyfunc_model, params)``.

    Remote models are copied once into ``published-models/{run_id}`` of the
    download cache (``.cache/landcover`` in the project, or ``LANDCOVER_CACHE_DIR``).
    """
    import mlflow

    from landcover.config import cache_dir
    from landcover.inference.predict import load_params

    published = published or published_model_location(root)
    params = load_params(published.params_location)
    if not is_remote(published.location):
        return mlflow.pyfunc.load_model(published.model_location), params
    cache = cache_dir() / "published-models" / published.run_id / "model"
    if not (cache / "MLmodel").exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".download-", dir=cache.parent)) / "model"
        try:
            _download_model_folder(published, staging)
            if cache.exists():
                shutil.rmtree(cache)
            os.replace(staging, cache)
        finally:
            shutil.rmtree(staging.parent, ignore_errors=True)
    return mlflow.pyfunc.load_model(str(cache)), params

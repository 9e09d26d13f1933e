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


#: Name of the model in the MLflow Model Registry (DESIGN section 5).
MODEL_NAME = "segmentation-sentinel2-model"
#: ``version`` of a model whose registry version, run and model id are all unknown.
UNVERSIONED = "unversioned"


class _ModelAndParams(NamedTuple):
    """The two items a :class:`LoadedModel` unpacks to."""

    model: LogitsModel
    params: ModelParams


class LoadedModel(_ModelAndParams):
    """A model ready to predict, with the parameters its predictions need and its identity.

    Unpacks as ``model, params = load_model()`` (a two-item tuple, as before).
    ``model`` is the MLflow pyfunc (``model.predict`` maps a normalised batch
    to raw logits); ``params`` the checked ``params.json``.

    The identity says which model made a prediction, so a cache never serves
    one model's prediction for another's:

    - ``name``: the registered model name (``segmentation-sentinel2-model``);
    - ``version``: the registry version (``"1"``) when known, else the MLflow
      run id, else the logged model id;
    - ``run_id`` / ``model_id``: the MLflow run that logged the model and
      MLflow's id of the logged model (``m-...``), ``None`` when unknown;
    - ``source``: where it was loaded from (URI, folder or URL).
    """

    name: str
    version: str
    run_id: str | None
    model_id: str | None
    source: str

    def __new__(
        cls,
        model: LogitsModel,
        params: ModelParams,
        *,
        name: str = MODEL_NAME,
        version: str | None = None,
        run_id: str | None = None,
        model_id: str | None = None,
        source: str = "",
    ) -> LoadedModel:
        """A two-item ``(model, params)`` tuple that also carries the identity fields."""
        self = super().__new__(cls, model, params)
        self.name = str(name)
        self.run_id = str(run_id) if run_id else None
        self.model_id = str(model_id) if model_id else None
        self.version = str(version) if version else (self.run_id or self.model_id or UNVERSIONED)
        self.source = str(source)
        return self

    @property
    def cache_version(self) -> str:
        """The version part of a cache key: ``version`` plus the logged model's id (or run id).

        Two models registered under the same version number in different
        stores (the synthetic and the real one are both ``1``) still get
        different keys; the same model reached by its registry URI, its
        folder or the published layout gets the same one.
        """
        unique = self.model_id or self.run_id
        if unique is None or unique == self.version:
            return self.version
        return f"{self.version}-{unique}"

    def _replace(self, **changes: Any) -> LoadedModel:
        """A copy with some items or identity fields changed (keeps the identity, unlike a plain tuple)."""
        fields = {
            "model": self.model, "params": self.params, "name": self.name, "version": self.version,
            "run_id": self.run_id, "model_id": self.model_id, "source": self.source,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise ValueError(f"LoadedModel has no field(s) {sorted(unknown)}")
        fields.update(changes)
        model, params = fields.pop("model"), fields.pop("params")
        return LoadedModel(model, params, **fields)

    def __repr__(self) -> str:
        return (
            f"LoadedModel(name={self.name!r}, version={self.version!r}, run_id={self.run_id!r}, "
            f"module_name={self.params.get('module_name')!r}, source={self.source!r})"
        )


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
    model = mlflow.pyfunc.load_model(folder)
    name, version = MODEL_NAME, None
    index_root = published_index_root(published.location)
    index = published_index(index_root) if index_root is not None else None
    if index and index.get("run_id") == published.run_id:
        name = str(index.get("model_name") or MODEL_NAME)
        version = index.get("model_version")
    return LoadedModel(
        model, params, name=name, version=str(version) if version not in (None, "") else None,
        run_id=published.run_id, model_id=logged_model_id(model), source=published.location,
    )


def published_index_root(location: str) -> str | None:
    """The data root above a published run's ``.../mlflow-artifacts/{exp}/{run}/artifacts`` folder.

    ``None`` when ``location`` is not in that layout (the real bucket's model
    lives outside the data prefix and has no ``latest.json``).
    """
    parts = location.rstrip("/").replace("\\", "/").split("/")
    if len(parts) >= 5 and parts[-1] == "artifacts" and parts[-4] == PUBLISHED_DIR:
        root = "/".join(parts[:-4])
        return root if is_remote(location) else str(Path(location).parents[3])
    return None


def logged_model_id(model: Any) -> str | None:
    """MLflow's id of a loaded pyfunc's logged model (``m-...``, or the older ``model_uuid``), if it has one."""
    metadata = getattr(model, "metadata", None)
    return getattr(metadata, "model_id", None) or getattr(metadata, "model_uuid", None) or None

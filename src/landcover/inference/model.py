"""One call to load the model a prediction uses, from wherever it lives, with its parameters and identity.

:func:`load_model` accepts:

- nothing: the model published under the active data root (local folder,
  ``https://`` or ``s3://``; see :mod:`landcover.inference.loading`);
- an MLflow registry URI: ``models:/segmentation-sentinel2-model/1``,
  ``models:/segmentation-sentinel2-model@champion`` (an alias),
  ``models:/segmentation-sentinel2-model/latest``, or a logged model
  ``models:/m-...``; also ``runs:/<run_id>/model``. The parameters come from
  the run that logged the model (its MLflow params, else its ``params.json``
  artifact), read from the active tracking URI;
- a local MLflow model folder (it holds ``MLmodel``), with ``params.json``
  beside it or inside it, else the parameters of its run;
- a published run's ``artifacts`` folder or URL (``model/`` + ``params.json``),
  or a data root holding ``mlflow-artifacts/`` (local, ``https://``, ``s3://``);
- a :class:`~landcover.inference.loading.PublishedModel`.

Each returns a :class:`~landcover.inference.loading.LoadedModel`, which
unpacks as ``model, params`` and knows the model's ``name`` and ``version``
(what a prediction cache is keyed by). Parameters are parsed as JSON, never
evaluated.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from landcover.config import is_remote
from landcover.inference.loading import (
    MODEL_DIR,
    MODEL_NAME,
    PUBLISHED_DIR,
    LoadedModel,
    PublishedModel,
    load_published_model,
    logged_model_id,
    published_index,
    published_model_location,
)
from landcover.inference.params import PARAMS_FILENAME, ModelParams, load_params, parse_params

#: Name of the MLflow model file inside a model folder.
MLMODEL_FILENAME = "MLmodel"


def load_model(source: str | os.PathLike[str] | PublishedModel | None = None) -> LoadedModel:
    """Load a segmentation model with its parameters and identity: ``model, params = load_model()``.

    Parameters
    ----------
    source : str, os.PathLike, PublishedModel or None
        Where the model is (see the module docstring): ``None`` for the model
        published under the active data root; ``models:/name/version``,
        ``models:/name@alias``, ``models:/name/latest``, ``models:/m-...`` or
        ``runs:/run_id/path`` for MLflow (active tracking URI); a local MLflow
        model folder; a published run's ``artifacts`` folder or URL; a data
        root (local, ``https://``, ``s3://``).

    Returns
    -------
    LoadedModel
        The pyfunc, its checked ``params.json`` and its ``name``, ``version``,
        ``run_id``, ``model_id`` and ``source``.

    Raises
    ------
    FileNotFoundError
        When nothing loadable is at ``source`` (the message names it).
    LookupError
        When a registry name, version or alias does not exist.
    ValueError
        When the model's parameters are missing or unusable.
    """
    if source is None:
        return load_published_model()
    if isinstance(source, PublishedModel):
        return load_published_model(source)
    text = os.fspath(source)
    if text.startswith("models:/"):
        return load_registered_model(text)
    if text.startswith("runs:/"):
        return load_run_model(text)
    if is_remote(text):
        return load_published_model(_remote_published(text))
    folder = Path(text).expanduser()
    if (folder / MLMODEL_FILENAME).is_file():
        return load_model_folder(folder)
    if (folder / MODEL_DIR / MLMODEL_FILENAME).is_file():
        return load_published_model(_local_published(folder))
    if (folder / PUBLISHED_DIR).is_dir():
        return load_published_model(published_model_location(str(folder)))
    if not folder.exists():
        raise FileNotFoundError(f"source={text!r}: no such file or folder (expected an MLflow model or a data root)")
    raise FileNotFoundError(
        f"source={text!r} is neither an MLflow model folder (with {MLMODEL_FILENAME}), a published run "
        f"(with {MODEL_DIR}/{MLMODEL_FILENAME}) nor a data root (with {PUBLISHED_DIR}/)"
    )


def _local_published(artifacts: Path) -> PublishedModel:
    """A :class:`PublishedModel` for a local ``.../{experiment}/{run}/artifacts`` folder."""
    resolved = artifacts.resolve()
    return PublishedModel(str(resolved), resolved.parent.parent.name, resolved.parent.name)


def _remote_published(url: str) -> PublishedModel:
    """A published run (URL ending in ``/artifacts``) or the newest run under a remote data root."""
    clean = url.rstrip("/")
    parts = clean.split("/")
    if parts[-1] == "artifacts" and len(parts) >= 4:
        return PublishedModel(clean, parts[-3], parts[-2])
    return published_model_location(clean)


def _mlmodel(folder: Path) -> dict[str, Any]:
    """The content of a model folder's ``MLmodel`` (YAML), ``{}`` when unreadable."""
    import yaml

    try:
        content = yaml.safe_load((folder / MLMODEL_FILENAME).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return content if isinstance(content, dict) else {}


def _registered_meta(folder: Path) -> tuple[str | None, str | None]:
    """``(model_name, model_version)`` from a model folder's ``registered_model_meta`` (``None`` when unset)."""
    import yaml

    try:
        content = yaml.safe_load((folder / "registered_model_meta").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None, None
    if not isinstance(content, dict):
        return None, None
    name, version = content.get("model_name"), content.get("model_version")
    return (str(name) if name else None, str(version) if version not in (None, "") else None)


def load_model_folder(folder: str | os.PathLike[str]) -> LoadedModel:
    """Load a local MLflow model folder (one holding ``MLmodel``) with its parameters.

    ``params.json`` is looked for inside the folder, then beside it (the
    published layout ``artifacts/{model/, params.json}``); without one, the
    parameters of the run named in ``MLmodel`` are read from the active
    tracking store. Name and version come from the folder's
    ``registered_model_meta`` or the published ``latest.json`` when they name
    them; otherwise the version is the run id.

    Raises
    ------
    FileNotFoundError
        When ``folder`` holds no ``MLmodel``.
    ValueError
        When no parameters can be found for it.
    """
    import mlflow

    path = Path(folder).expanduser().resolve()
    if not (path / MLMODEL_FILENAME).is_file():
        raise FileNotFoundError(f"{path} is not an MLflow model folder: it has no {MLMODEL_FILENAME}")
    meta = _mlmodel(path)
    run_id = meta.get("run_id") or None
    params: ModelParams | None = None
    for candidate in (path / PARAMS_FILENAME, path.parent / PARAMS_FILENAME):
        if candidate.is_file():
            params = load_params(candidate)
            break
    if params is None:
        if not run_id:
            raise ValueError(f"{path}: no {PARAMS_FILENAME} inside or beside it, and its MLmodel names no run")
        params = _run_params(str(run_id), where=str(path))
    name, version = _registered_meta(path)
    if version is None and run_id and path.name == MODEL_DIR and len(path.parents) > 4:
        # .../{root}/mlflow-artifacts/{experiment}/{run}/artifacts/model: latest.json may name the version
        index = published_index(str(path.parents[4])) if path.parents[3].name == PUBLISHED_DIR else None
        if index and index.get("run_id") == run_id:
            name = name or (str(index["model_name"]) if index.get("model_name") else None)
            version = str(index["model_version"]) if index.get("model_version") not in (None, "") else None
    model = mlflow.pyfunc.load_model(str(path))
    return LoadedModel(
        model, params, name=name or MODEL_NAME, version=version, run_id=run_id,
        model_id=logged_model_id(model) or meta.get("model_id") or meta.get("model_uuid"), source=str(path),
    )


def _run_params(run_id: str, *, where: str) -> ModelParams:
    """The model parameters of an MLflow run: its logged params, else its ``params.json`` artifact."""
    import json

    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        run = mlflow.get_run(run_id)
    except MlflowException as error:
        raise LookupError(
            f"{where}: run {run_id} is not in the tracking store {mlflow.get_tracking_uri()} ({error})"
        ) from error
    try:
        return parse_params(run.data.params)
    except ValueError as from_params:
        try:
            local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=PARAMS_FILENAME)
        except (MlflowException, OSError) as error:
            raise ValueError(
                f"{where}: run {run_id} has neither usable params ({from_params}) nor a {PARAMS_FILENAME} "
                f"artifact ({error})"
            ) from error
        try:
            return parse_params(json.loads(Path(local).read_text(encoding="utf-8")))
        except (json.JSONDecodeError, AttributeError) as error:
            raise ValueError(f"{where}: the {PARAMS_FILENAME} artifact of run {run_id} is not a JSON object") from error


def load_registered_model(uri: str) -> LoadedModel:
    """Load ``models:/name/version``, ``models:/name@alias``, ``models:/name/latest`` or ``models:/m-...``.

    An alias or ``latest`` is resolved once to a version number, so the
    returned ``version`` (and a cache keyed by it) names exactly the model
    that was loaded, even if the alias moves later.

    Raises
    ------
    LookupError
        When the name, version, alias or logged model does not exist in the
        active tracking store (the message names the URI and the store).
    """
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    body = uri[len("models:/"):].strip("/")
    if not body:
        raise ValueError(f"source={uri!r}: a registry URI is models:/<name>/<version> or models:/<name>@<alias>")
    client = MlflowClient()
    store = mlflow.get_tracking_uri()
    try:
        if "@" in body:
            name, alias = body.split("@", 1)
            found = client.get_model_version_by_alias(name, alias)
        elif "/" in body:
            name, version = body.split("/", 1)
            if version.lower() == "latest":
                versions = client.search_model_versions(f"name = '{name}'")
                if not versions:
                    raise LookupError(f"source={uri!r}: no version of {name!r} is registered in {store}")
                found = max(versions, key=lambda v: int(v.version))
            else:
                found = client.get_model_version(name, version)
        else:
            logged = mlflow.get_logged_model(body)
            run_id = logged.source_run_id
            model = mlflow.pyfunc.load_model(uri)
            params = _run_params(run_id, where=uri) if run_id else None
            if params is None:
                raise ValueError(f"source={uri!r}: the logged model names no run to read its parameters from")
            return LoadedModel(model, params, name=MODEL_NAME, version=None, run_id=run_id,
                               model_id=body, source=uri)
    except MlflowException as error:
        raise LookupError(f"source={uri!r} is not in the tracking store {store}: {error.message}") from error
    run_id = found.run_id
    pinned = f"models:/{found.name}/{found.version}"
    model = mlflow.pyfunc.load_model(pinned)
    params = _run_params(run_id, where=uri)
    return LoadedModel(
        model, params, name=found.name, version=str(found.version), run_id=run_id,
        model_id=logged_model_id(model), source=pinned,
    )


def load_run_model(uri: str) -> LoadedModel:
    """Load ``runs:/<run_id>/<artifact path>``; parameters from that run, version = run id."""
    import mlflow

    body = uri[len("runs:/"):].strip("/")
    run_id = body.split("/", 1)[0]
    if not run_id:
        raise ValueError(f"source={uri!r}: a run URI is runs:/<run_id>/<artifact path>")
    params = _run_params(run_id, where=uri)
    model = mlflow.pyfunc.load_model(uri)
    return LoadedModel(model, params, name=MODEL_NAME, version=None, run_id=run_id,
                       model_id=logged_model_id(model), source=uri)

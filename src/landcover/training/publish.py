"""Publishing a trained model: its MLflow run copied as plain files under a local data root.

:func:`publish_run` writes the layout that :mod:`landcover.inference.loading`
reads (``mlflow-artifacts/{experiment_id}/{run_id}/artifacts/{model/,params.json,manifest.json}``
and ``mlflow-artifacts/latest.json``), into a temporary folder renamed at the
end, so a reader never sees half a model. Finding and loading a published
model is inference's job and lives there.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from landcover.config import is_remote
from landcover.inference.loading import (
    LATEST_FILENAME,
    MANIFEST_FILENAME,
    MODEL_DIR,
    PUBLISHED_DIR,
    PublishedModel,
    local_published_runs,
    normalized_root,
)
from landcover.inference.params import PARAMS_FILENAME
from landcover.storage import write_bytes_atomic


def _file_list(folder: Path) -> list[str]:
    """Every file under ``folder``, as sorted POSIX paths relative to it (the manifest's ``files``)."""
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

    root = normalized_root(root)
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
        mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(artifacts / MODEL_DIR))
        mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=PARAMS_FILENAME, dst_path=str(artifacts))
        for needed in (f"{MODEL_DIR}/MLmodel", PARAMS_FILENAME):
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
        for other in local_published_runs(base):
            if other.parent.name != run_id or other.parent.parent.name != experiment_id:
                shutil.rmtree(other.parent, ignore_errors=True)
        for folder in base.iterdir():
            if folder.is_dir() and not folder.name.startswith(".") and not any(folder.iterdir()):
                folder.rmdir()
    return PublishedModel(str(target / "artifacts"), experiment_id, run_id)

"""MLflow bookkeeping: where runs go, what parameters mean, and how the model is logged.

By default runs go to a local store inside the project,
``sqlite:///<project>/mlruns/mlflow.db`` (``import landcover`` sets
``MLFLOW_TRACKING_URI`` to it unless it is already set), with artifacts in
``<project>/mlruns/artifacts``. Point ``MLFLOW_TRACKING_URI`` at a tracking
server (``http://...``) and the same code logs there; the server then decides
where artifacts go.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import numpy as np

from landcover.data.normalization import Normalization

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from mlflow.models import ModelSignature
    from mlflow.models.model import ModelInfo
    from transformers import PreTrainedModel

#: Name of the model in the MLflow Model Registry (as in the original tutorial).
MODEL_NAME = "segmentation-sentinel2-model"
#: Registry alias of the pre-trained model's version: ``models:/segmentation-sentinel2-model@champion``.
CHAMPION_ALIAS = "champion"
#: Registry name of chapter 2's short runs, kept apart from :data:`MODEL_NAME` so that nothing
#: loading "the newest version" of the book's model picks a participant's one-minute run.
CHAPTER_MODEL_NAME = "segmentation-sentinel2-model-chapter-2"
#: Default experiment of the book's training runs.
DEFAULT_EXPERIMENT = "landcover-segmentation"
#: Name of the logged model inside a run (``.../artifacts/model`` once published).
MODEL_ARTIFACT = "model"
PARAMS_ARTIFACT = "params.json"


def pip_requirements() -> list[str]:
    """What the logged model needs to run: the CPU torch of the book, transformers, numpy."""
    import transformers

    return ["torch==2.13.0", f"transformers=={transformers.__version__}", f"numpy=={np.__version__}"]


def tracking_uri() -> str:
    """The active tracking URI (``MLFLOW_TRACKING_URI``; the project's SQLite store by default)."""
    import mlflow

    return mlflow.get_tracking_uri()


def local_artifact_location(uri: str) -> str | None:
    """Where a local store keeps artifacts: ``artifacts/`` next to the SQLite file.

    ``None`` for tracking servers (they choose) and for file stores (they keep
    artifacts inside themselves). Without this, MLflow would write artifacts to
    ``./mlruns`` under whatever folder Python was started from.
    """
    if uri.startswith("sqlite:///"):
        database = Path(unquote(uri[len("sqlite:///"):]))
        return (database.parent / "artifacts").resolve().as_uri()
    return None


def ensure_experiment(name: str = DEFAULT_EXPERIMENT, *, uri: str | None = None) -> str:
    """Id of experiment ``name``, created (with a local artifact location when the store is local) if absent."""
    import mlflow

    if uri is not None:
        mlflow.set_tracking_uri(uri)
    current = tracking_uri()
    if current.startswith("sqlite:///"):
        Path(unquote(current[len("sqlite:///"):])).parent.mkdir(parents=True, exist_ok=True)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(name, artifact_location=local_artifact_location(current))


def model_params(
    normalization: Normalization,
    *,
    tiles_size: int,
    augment_size: int,
    module_name: str,
) -> dict[str, str]:
    """The ``params.json`` contract as MLflow logs it: every value a string, lists as JSON."""
    return {
        "n_bands": str(normalization.n_bands),
        "tiles_size": str(int(tiles_size)),
        "augment_size": str(int(augment_size)),
        "module_name": module_name,
        **{key: json.dumps(values) for key, values in normalization.to_params().items()},
    }


def params_document(params: Mapping[str, str]) -> dict[str, Any]:
    """The content of ``params.json``: numbers as strings (as published), normalisation as JSON lists."""
    document: dict[str, Any] = dict(params)
    for key in ("normalization_mean", "normalization_std"):
        document[key] = json.loads(params[key])
    return document


def model_signature() -> ModelSignature:
    """Input: float32 ``(batch, 14, height, width)`` of any size; output: float32 logits ``(batch, 10, h, w)``."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 14, -1, -1))]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 10, -1, -1))]),
    )


def _pyfunc_code_path() -> str:
    from landcover.training import pyfunc

    return str(Path(pyfunc.__file__).resolve())


def log_model(
    model: PreTrainedModel,
    params: Mapping[str, str],
    *,
    registered_model_name: str | None = MODEL_NAME,
) -> ModelInfo:
    """Log ``model`` (a SegFormer) as an MLflow pyfunc in the active run, with ``params.json``.

    The pyfunc's one artifact is the Hugging Face model folder; its code is
    :mod:`landcover.training.pyfunc`; its environment pins ``torch==2.13.0``.
    Registers it as ``registered_model_name`` unless that is ``None``.
    Returns MLflow's ``ModelInfo`` (``model_uri``, ``registered_model_version``...).
    """
    import mlflow

    from landcover.training.pyfunc import HF_MODEL_ARTIFACT

    if mlflow.active_run() is None:
        raise RuntimeError("log_model needs an active MLflow run (inside `with mlflow.start_run():`)")
    mlflow.log_dict(params_document(params), PARAMS_ARTIFACT)
    from transformers.utils import logging as hf_logging

    with tempfile.TemporaryDirectory(prefix="segformer-") as folder:
        hf_folder = Path(folder) / HF_MODEL_ARTIFACT
        bars_were_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            model.save_pretrained(hf_folder)
        finally:
            if bars_were_on:
                hf_logging.enable_progress_bar()
        example = np.zeros((1, int(params.get("n_bands", 14)), 32, 32), dtype=np.float32)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*input example.*")
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=_pyfunc_code_path(),
                artifacts={HF_MODEL_ARTIFACT: str(hf_folder)},
                signature=model_signature(),
                input_example=example,
                pip_requirements=pip_requirements(),
                registered_model_name=registered_model_name,
            )
    return info


def log_figure(figure: Figure, name: str) -> None:
    """Log a matplotlib figure as a PNG artifact of the active run, then close it."""
    import matplotlib.pyplot as plt
    import mlflow

    mlflow.log_figure(figure, name)
    plt.close(figure)


def latest_version(name: str = MODEL_NAME) -> str | None:
    """The highest registered version of ``name`` (``None`` when not registered)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        versions = MlflowClient().search_model_versions(f"name = '{name}'")
    except MlflowException:
        return None
    return str(max(int(v.version) for v in versions)) if versions else None


def tracking_summary() -> str:
    """One line telling where runs go (for progress messages)."""
    uri = tracking_uri()
    scheme = urlsplit(uri).scheme or "file"
    where = "tracking server" if scheme in {"http", "https"} else "local store"
    return f"MLflow {where}: {uri}" + ("" if os.environ.get("MLFLOW_TRACKING_URI") else " (default)")

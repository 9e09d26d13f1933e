"""The parameters that travel with a model (``params.json``): what a prediction needs besides the weights.

``params.json`` sits beside the model in a published run (``.../artifacts/params.json``)
and the same keys are logged as the run's MLflow parameters (there every value
is a string). Its keys:

- ``n_bands``: how many bands of a tile (in file order) the model reads;
- ``tiles_size``: the side of a tile in pixels (250 for 10 m pixels);
- ``augment_size``: the side the tile is resized to before the network;
- ``module_name``: the network's name (``segformer-tiny``, ...);
- ``normalization_mean`` / ``normalization_std``: per-band statistics in
  reflectance units (see :class:`~landcover.data.normalization.Normalization`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict, cast

from landcover.storage import read_bytes

if TYPE_CHECKING:
    from mlflow.entities import Run

#: Keys of ``params.json`` (and of the MLflow run parameters) the prediction needs.
PARAM_KEYS: tuple[str, ...] = (
    "n_bands",
    "tiles_size",
    "augment_size",
    "module_name",
    "normalization_mean",
    "normalization_std",
)
PARAMS_FILENAME = "params.json"


class ModelParams(TypedDict):
    """Typed ``params.json`` content, as :func:`parse_params` returns it (other keys are kept too)."""

    n_bands: int
    tiles_size: int
    augment_size: int
    module_name: str
    normalization_mean: list[float]
    normalization_std: list[float]


def _as_list(value: Any, key: str) -> list[float]:
    """A list of floats from a list or its JSON text (MLflow stores parameters as strings)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            # MLflow params written from Python lists may use repr(): "[0.1, 0.2]" is JSON too,
            # but "(0.1, 0.2)" is not.
            value = json.loads(value.replace("(", "[").replace(")", "]"))
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError) as error:
        raise ValueError(f"params: {key} must be a list of numbers, got {value!r}") from error


def parse_params(raw: Mapping[str, Any]) -> ModelParams:
    """Typed parameters from ``params.json`` content or MLflow run params (all strings there).

    Returns ``n_bands``, ``tiles_size``, ``augment_size`` (int), ``module_name``
    (str), ``normalization_mean`` and ``normalization_std`` (lists of
    ``n_bands`` floats). Other keys are kept as they are.

    Raises
    ------
    ValueError
        Naming the key that is missing or has an unusable value.
    """
    missing = [k for k in PARAM_KEYS if k not in raw]
    if missing:
        raise ValueError(f"params are missing {', '.join(missing)} (expected keys: {', '.join(PARAM_KEYS)})")
    params = dict(raw)
    for key in ("n_bands", "tiles_size", "augment_size"):
        try:
            params[key] = int(raw[key])
        except (TypeError, ValueError) as error:
            raise ValueError(f"params: {key} must be an integer, got {raw[key]!r}") from error
    params["module_name"] = str(raw["module_name"])
    n_bands = params["n_bands"]
    for key in ("normalization_mean", "normalization_std"):
        values = _as_list(raw[key], key)
        if len(values) < n_bands:
            raise ValueError(f"params: {key} has {len(values)} values for n_bands={n_bands}")
        params[key] = values[:n_bands]
    if any(s <= 0 for s in params["normalization_std"]):
        raise ValueError("params: every normalization_std value must be positive")
    return cast(ModelParams, params)


def load_params(path_or_url: str | os.PathLike[str]) -> ModelParams:
    """Read and check ``params.json`` from a local path, an ``https://`` URL or an ``s3://`` path.

    A folder (or URL ending in ``/``) is taken to hold ``params.json``, e.g. the
    ``artifacts/`` folder of a published run.

    Raises
    ------
    FileNotFoundError
        When the file is absent.
    ValueError
        When it is not a JSON object or its parameters are unusable (the message names the file).
    """
    location = os.fspath(path_or_url)
    if location.endswith("/") or (os.path.isdir(location) and not location.startswith(("http", "s3://"))):
        location = location.rstrip("/") + "/" + PARAMS_FILENAME
    try:
        content = json.loads(read_bytes(location))
    except json.JSONDecodeError as error:
        raise ValueError(f"{location} is not valid JSON: {error}") from error
    if not isinstance(content, dict):
        raise ValueError(f"{location} must hold a JSON object")
    return parse_params(content)


def params_from_run(run_or_id: Run | str) -> ModelParams:
    """Typed parameters of an MLflow run (a ``Run`` object or a run id)."""
    import mlflow

    run = mlflow.get_run(run_or_id) if isinstance(run_or_id, str) else run_or_id
    return parse_params(run.data.params)

"""Reproduce a prediction from ``params.json`` and the model: the package side of the contract.

The model (MLflow pyfunc) only maps a normalised float32 batch
``(B, 14, H, W)`` to raw logits ``(B, 10, H/4, W/4)``. Everything else
happens here, in this order:

1. keep the first ``n_bands`` bands and normalise them with
   ``normalization_mean`` / ``normalization_std``;
2. resize (bilinear) to ``augment_size`` when it differs from ``tiles_size``;
3. ``model.predict``;
4. upsample the logits (bilinear) back to the tile size;
5. argmax over the 10 channels and ``+ 1``: channel ``k`` is class ``k + 1``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

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


def _as_list(value: Any, key: str) -> list[float]:
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


def parse_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed parameters from ``params.json`` content or MLflow run params (all strings there).

    Returns ``n_bands``, ``tiles_size``, ``augment_size`` (int), ``module_name``
    (str), ``normalization_mean`` and ``normalization_std`` (lists of
    ``n_bands`` floats). Other keys are kept as they are.
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
    return params


def load_params(path_or_url: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``params.json`` from a local path, an ``https://`` URL or an ``s3://`` path.

    A folder (or URL ending in ``/``) is taken to hold ``params.json``, e.g. the
    ``artifacts/`` folder of a published run.
    """
    from landcover.storage import read_bytes

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


def params_from_run(run_or_id) -> dict[str, Any]:
    """Typed parameters of an MLflow run (a ``Run`` object or a run id)."""
    import mlflow

    run = mlflow.get_run(run_or_id) if isinstance(run_or_id, str) else run_or_id
    return parse_params(run.data.params)


def network_size(shape: tuple[int, int], params: Mapping[str, Any]) -> tuple[int, int]:
    """Size the network sees for an image of ``shape``: scaled by ``augment_size / tiles_size``."""
    tiles, augment = int(params["tiles_size"]), int(params["augment_size"])
    if augment == tiles:
        return tuple(shape)
    return (round(shape[0] * augment / tiles), round(shape[1] * augment / tiles))


def preprocess(image_array: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    """A tile ``(bands, H, W)`` in reflectance to the model input ``(1, n_bands, H', W')`` float32.

    Normalises band by band (non-finite pixels become 0, the band mean) and
    resizes with bilinear interpolation (albumentations/OpenCV, as in training)
    when ``augment_size`` differs from ``tiles_size``.
    """
    array = np.asarray(image_array)
    n_bands = int(params["n_bands"])
    if array.ndim != 3 or array.shape[0] < n_bands:
        raise ValueError(f"image_array must have shape (>= {n_bands}, rows, cols), got {array.shape}")
    mean = np.asarray(params["normalization_mean"], dtype=np.float32)[:n_bands, None, None]
    std = np.asarray(params["normalization_std"], dtype=np.float32)[:n_bands, None, None]
    normalised = np.nan_to_num((array[:n_bands].astype(np.float32) - mean) / std, nan=0.0, posinf=0.0, neginf=0.0)
    target = network_size(array.shape[1:], params)
    if target != tuple(array.shape[1:]):
        import albumentations as A
        import cv2

        resize = A.Resize(target[0], target[1], interpolation=cv2.INTER_LINEAR)
        normalised = np.moveaxis(resize(image=np.moveaxis(normalised, 0, -1))["image"], -1, 0)
    return np.ascontiguousarray(normalised[None], dtype=np.float32)


def logits_to_labels(logits: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Class labels (uint8, 1..10) of ``(10, h, w)`` or ``(B, 10, h, w)`` logits, at ``size``.

    Logits are upsampled with bilinear interpolation (they are continuous
    scores), then the highest channel ``k`` gives class ``k + 1``.
    """
    import torch
    import torch.nn.functional as F

    tensor = torch.as_tensor(np.asarray(logits, dtype=np.float32))
    single = tensor.ndim == 3
    if single:
        tensor = tensor[None]
    if tensor.ndim != 4:
        raise ValueError(f"logits must be (classes, h, w) or (batch, classes, h, w), got {tuple(tensor.shape)}")
    if tuple(tensor.shape[-2:]) != tuple(size):
        tensor = F.interpolate(tensor, size=tuple(size), mode="bilinear", align_corners=False)
    labels = (tensor.argmax(dim=1) + 1).to(torch.uint8).numpy()
    return labels[0] if single else labels


def model_logits(model, batch: np.ndarray) -> np.ndarray:
    """Raw logits from an MLflow pyfunc (``model.predict``) or a PyTorch SegFormer."""
    if hasattr(model, "predict"):
        return np.asarray(model.predict(batch))
    import torch

    from landcover.training.loop import forward_logits

    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    model.eval()
    with torch.inference_mode():
        return forward_logits(model, torch.from_numpy(batch).to(device)).float().cpu().numpy()


def predict_tile(model, image_array: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    """Land-cover classes (uint8 ``(H, W)``, values 1..10) of one tile ``(bands, H, W)`` in reflectance.

    ``model``: the pyfunc loaded from MLflow (or a PyTorch SegFormer);
    ``params``: :func:`load_params` / :func:`parse_params` output.
    """
    params = parse_params(params) if isinstance(params.get("n_bands"), str) else params
    array = np.asarray(image_array)
    batch = preprocess(array, params)
    logits = model_logits(model, batch)
    if logits.ndim != 4 or logits.shape[0] != 1:
        raise ValueError(f"the model returned logits of shape {logits.shape}; expected (1, classes, h, w)")
    return logits_to_labels(logits[0], tuple(array.shape[1:]))

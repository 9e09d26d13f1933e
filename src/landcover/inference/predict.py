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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from landcover.data.normalization import Normalization
from landcover.inference.logits import LogitsModel, model_logits
from landcover.inference.params import parse_params

if TYPE_CHECKING:
    import torch


def network_size(shape: tuple[int, int], params: Mapping[str, Any]) -> tuple[int, int]:
    """Size in pixels the network sees for an image of ``shape``: scaled by ``augment_size / tiles_size``."""
    tiles, augment = int(params["tiles_size"]), int(params["augment_size"])
    if augment == tiles:
        return (int(shape[0]), int(shape[1]))
    return (round(shape[0] * augment / tiles), round(shape[1] * augment / tiles))


def preprocess(image_array: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    """A tile ``(bands, H, W)`` in reflectance to the model input ``(1, n_bands, H', W')`` float32.

    Normalises band by band with the model's statistics (non-finite pixels
    become 0, the band mean) and resizes with bilinear interpolation (OpenCV,
    the same pixels as albumentations' ``A.Resize`` in training) when
    ``augment_size`` differs from ``tiles_size``.

    Raises
    ------
    ValueError
        When ``image_array`` is not ``(>= n_bands, rows, cols)``.
    """
    array = np.asarray(image_array)
    n_bands = int(params["n_bands"])
    if array.ndim != 3 or array.shape[0] < n_bands:
        raise ValueError(f"image_array must have shape (>= {n_bands}, rows, cols), got {array.shape}")
    out = np.empty((1, n_bands, *network_size(array.shape[1:], params)), dtype=np.float32)
    preprocess_into(array, params, out[0])
    return out


def preprocess_into(image_array: np.ndarray, params: Mapping[str, Any], out: np.ndarray) -> None:
    """Write :func:`preprocess` of one image into ``out`` ``(n_bands, H', W')`` float32 (e.g. a batch slot).

    Saves the copy of stacking preprocessed windows into a batch afterwards.
    Each band is resized on its own with ``cv2.resize`` (bilinear): that is
    bit for bit what albumentations computes (it feeds OpenCV chunks of
    bands), without building a transform or transposing the image twice.
    """
    normalised = Normalization.from_params(params).apply(np.asarray(image_array))
    if tuple(out.shape[1:]) == tuple(normalised.shape[1:]):
        out[...] = normalised
        return
    import cv2

    rows, cols = int(out.shape[1]), int(out.shape[2])
    for band in range(normalised.shape[0]):
        out[band] = cv2.resize(normalised[band], (cols, rows), interpolation=cv2.INTER_LINEAR)


def logits_to_labels(logits: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Class labels (uint8, 1..10) of ``(10, h, w)`` or ``(B, 10, h, w)`` logits, at ``size`` pixels.

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


def predict_tile(
    model: LogitsModel | torch.nn.Module, image_array: np.ndarray, params: Mapping[str, Any]
) -> np.ndarray:
    """Land-cover classes (uint8 ``(H, W)``, values 1..10) of one tile ``(bands, H, W)`` in reflectance.

    ``model``: the pyfunc loaded from MLflow (or a PyTorch SegFormer);
    ``params``: :func:`~landcover.inference.params.load_params` /
    :func:`~landcover.inference.params.parse_params` output (raw MLflow
    run parameters, all strings, are parsed first).
    """
    params = parse_params(params) if isinstance(params.get("n_bands"), str) else params
    array = np.asarray(image_array)
    batch = preprocess(array, params)
    logits = model_logits(model, batch)
    if logits.ndim != 4 or logits.shape[0] != 1:
        raise ValueError(f"the model returned logits of shape {logits.shape}; expected (1, classes, h, w)")
    return logits_to_labels(logits[0], tuple(array.shape[1:]))

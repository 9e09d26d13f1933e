"""Predict land cover on images of any size: overlapping windows, batched through the model, blended.

:func:`predict` takes one image or many (the dicts of
:func:`landcover.data.get_satellite_image` / :func:`~landcover.data.read_tile`,
bare ``(bands, H, W)`` arrays, or paths) and returns, per image, the class
mask and optionally the probability of the chosen class. Each image is
covered by windows of the model's ``tiles_size``
(:func:`~landcover.inference.windows.image_windows`); windows go through the
model ``batch_size`` at a time, preprocessed exactly as in training
(:func:`~landcover.inference.predict.preprocess`); their logits are upsampled
to the window and blended with a Hann weight
(:func:`~landcover.inference.windows.blend_weights`). A 250 x 250 tile is one
window, so it gives the same classes as
:func:`~landcover.inference.predict.predict_tile`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

import numpy as np

from landcover.classes import NODATA
from landcover.clouds import unusable_mask
from landcover.inference.loading import LoadedModel
from landcover.inference.logits import LogitsModel, model_logits
from landcover.inference.params import ModelParams, parse_params
from landcover.inference.predict import network_size, preprocess_into
from landcover.inference.windows import DEFAULT_WEIGHT_FLOOR, PixelWindow, blend_weights, image_windows

if TYPE_CHECKING:
    import torch

#: Windows per forward pass by default.
DEFAULT_BATCH_SIZE = 16
#: Images with fewer bands than this (toy arrays) are not tested for clouds.
MIN_BANDS_FOR_CLOUD_TEST = 12


class ImagePrediction(TypedDict):
    """What :func:`predict` returns for one image.

    ``image``: the georeferenced image dict (``array``, ``transform``, ``crs``,
    ``bounds``, ...; ``None`` georeferencing for a bare array); ``mask``:
    uint8 ``(H, W)``, classes 1..10, 0 where the input is nodata;
    ``probability``: float32 ``(H, W)``, the blended softmax probability of
    the chosen class (0 on nodata), only with ``return_probability=True``.
    """

    image: dict[str, Any]
    mask: np.ndarray
    probability: NotRequired[np.ndarray]


ModelLike = LoadedModel | LogitsModel | Any


def resolve_model(
    model: ModelLike, params: Mapping[str, Any] | None = None, **keywords: Any
) -> tuple[LogitsModel | torch.nn.Module, ModelParams]:
    """The network and the checked parameters a prediction uses.

    ``model`` is a :class:`~landcover.inference.loading.LoadedModel` (its
    parameters are used), or a bare pyfunc / PyTorch model, in which case
    the parameters come from ``params`` (``params.json`` content) or from the
    keywords ``tiles_size``, ``augment_size``, ``n_bands``,
    ``normalization_mean``, ``normalization_std``, ``module_name``.
    Keywords that are not ``None`` override the model's own parameters.

    Raises
    ------
    ValueError
        When parameters are missing (the message lists the keywords to pass)
        or unusable.
    """
    given = {key: value for key, value in keywords.items() if value is not None}
    if isinstance(model, LoadedModel):
        network, base = model.model, dict(model.params)
    elif isinstance(model, tuple) and len(model) == 2 and isinstance(model[1], Mapping):
        network, base = model[0], dict(model[1])
    else:
        network, base = model, {}
    if params is not None:
        base.update(params)
    base.update(given)
    if not base:
        raise ValueError(
            "model is not a LoadedModel (landcover.inference.load_model()), so pass its parameters: "
            "params=... or tiles_size, augment_size, n_bands, normalization_mean, normalization_std"
        )
    base.setdefault("module_name", "unknown")
    return network, parse_params(base)


def as_image(image: Any, n_bands: int) -> dict[str, Any]:
    """An image dict (``array`` ``(bands, H, W)`` + georeferencing) from a dict, an array or a path.

    A path or URL is read with :func:`landcover.data.get_satellite_image`
    (its first ``n_bands`` bands).

    Raises
    ------
    ValueError
        When the array is not ``(>= n_bands, H, W)`` or a dict has no ``array``.
    """
    if isinstance(image, (str, os.PathLike)):
        from landcover.data.tiles import get_satellite_image

        return get_satellite_image(image, n_bands=n_bands)
    if isinstance(image, Mapping):
        if "array" not in image:
            raise ValueError("images: an image dict needs an 'array' entry (bands, H, W)")
        found = image if isinstance(image, dict) else dict(image)
    else:
        found = {"array": image, "transform": None, "crs": None, "bounds": None}
    array = np.asarray(found["array"])
    if array.ndim != 3 or array.shape[0] < n_bands or min(array.shape[1:]) < 1:
        raise ValueError(f"images: each image must be an array (>= {n_bands} bands, H, W), got shape {array.shape}")
    return found


def valid_pixels(array: np.ndarray, n_bands: int) -> np.ndarray:
    """Boolean ``(H, W)``: pixels with at least one finite value among the first ``n_bands`` bands."""
    return np.isfinite(np.asarray(array)[:n_bands]).any(axis=0)


def window_logits(
    network: LogitsModel | torch.nn.Module, arrays: Sequence[np.ndarray], params: Mapping[str, Any]
) -> np.ndarray:
    """Logits ``(B, classes, h, w)`` float32 of same-sized windows ``(bands, h, w)``, at the windows' size.

    One forward pass for the whole batch; each window is preprocessed as in
    training (normalised, resized to ``augment_size``), and the logits
    (1/4 of the network's input) are upsampled back bilinearly, as
    :func:`~landcover.inference.predict.logits_to_labels` does.

    Raises
    ------
    ValueError
        When the model returns something other than one logits map per window.
    """
    import torch
    import torch.nn.functional as F

    size = tuple(np.asarray(arrays[0]).shape[1:])
    batch = np.empty((len(arrays), int(params["n_bands"]), *network_size(size, params)), dtype=np.float32)
    for slot, array in zip(batch, arrays, strict=True):
        preprocess_into(array, params, slot)
    logits = np.asarray(model_logits(network, batch), dtype=np.float32)
    if logits.ndim != 4 or logits.shape[0] != len(arrays):
        raise ValueError(f"the model returned logits of shape {logits.shape} for {len(arrays)} windows")
    tensor = torch.from_numpy(np.ascontiguousarray(logits))
    if tuple(tensor.shape[-2:]) != size:
        tensor = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)
    return tensor.numpy()


class BlendBuffer:
    """Weighted sums of window logits for a band of rows of an image, to be blended.

    Holds rows ``top .. top + height`` of the full width: ``scores``
    ``(classes, rows, width)`` and ``weights`` ``(rows, width)``, in float64
    so that a pixel covered by one window keeps exactly that window's class
    (``w * logit`` is exact for float32 logits). A scene is predicted row of
    windows by row of windows: :meth:`extend` adds rows at the bottom,
    :meth:`pop` hands back the finished rows at the top, so only about two
    window heights are ever held.
    """

    def __init__(self, width: int, classes: int, top: int = 0) -> None:
        self.width = int(width)
        self.classes = int(classes)
        self.top = int(top)
        self.scores = np.zeros((self.classes, 0, self.width), dtype=np.float64)
        self.weights = np.zeros((0, self.width), dtype=np.float64)

    @property
    def bottom(self) -> int:
        """The row after the last one held."""
        return self.top + self.weights.shape[0]

    def extend(self, bottom: int) -> None:
        """Hold rows up to ``bottom`` (exclusive), adding zero rows."""
        extra = int(bottom) - self.bottom
        if extra > 0:
            self.scores = np.concatenate(
                [self.scores, np.zeros((self.classes, extra, self.width), dtype=np.float64)], axis=1
            )
            self.weights = np.concatenate([self.weights, np.zeros((extra, self.width), dtype=np.float64)])

    def add(self, window: PixelWindow, logits: np.ndarray, weight: np.ndarray) -> None:
        """Add one window's logits ``(classes, h, w)`` times its ``weight`` ``(h, w)``."""
        rows = slice(window.row - self.top, window.row - self.top + window.height)
        self.scores[:, rows, window.cols] += logits * weight
        self.weights[rows, window.cols] += weight

    def pop(self, bottom: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, weights)`` of rows ``top .. bottom``, removed from the buffer."""
        count = int(bottom) - self.top
        scores, weights = self.scores[:, :count], self.weights[:count]
        self.scores, self.weights = self.scores[:, count:], self.weights[count:]
        self.top += count
        return scores, weights


def blended_labels(
    scores: np.ndarray, weights: np.ndarray, valid: np.ndarray, *, return_probability: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Class mask (uint8, 1..10, 0 = nodata) and optionally the probability of that class.

    The class is the channel with the highest blended logit plus one (the
    division by the weights does not change the argmax, so it is skipped);
    the probability is the softmax of the blended logits ``scores / weights``
    at that channel. Pixels that are nodata (``valid`` false) or that no
    window covered get class 0 and probability 0.
    """
    covered = valid & (weights > 0)
    mask = (np.argmax(scores, axis=0) + 1).astype(np.uint8)
    mask[~covered] = NODATA
    if not return_probability:
        return mask, None
    logits = scores / np.where(weights > 0, weights, 1.0)
    top = logits.max(axis=0)
    probability = (1.0 / np.exp(logits - top).sum(axis=0)).astype(np.float32)
    probability[~covered] = 0.0
    return mask, probability


class _Pending:
    """One image being predicted: its pixels, its windows and (from the first logits on) its buffer."""

    def __init__(
        self, image: dict[str, Any], size: int, overlap: int | None, n_bands: int, mask_clouds: bool = True
    ) -> None:
        self.image = image
        self.array = np.asarray(image["array"])
        self.valid = valid_pixels(self.array, n_bands)
        if mask_clouds and self.array.shape[0] >= MIN_BANDS_FOR_CLOUD_TEST:
            self.valid &= ~unusable_mask(self.array)
        windows = image_windows(self.array.shape[1:], size, overlap)
        self.windows = [w for w in windows if self.valid[w.rows, w.cols].any()]  # all-nodata windows skipped
        self.remaining = len(self.windows)
        self.buffer: BlendBuffer | None = None
        # One window covering the whole image (a tile): its logits are the answer, no blending needed.
        self.whole = len(windows) == 1
        self.logits: np.ndarray | None = None

    def add(self, window: PixelWindow, logits: np.ndarray, weight: np.ndarray) -> None:
        """Blend one window's logits in (the buffer is made for as many classes as the model has)."""
        self.remaining -= 1
        if self.whole:
            self.logits = logits
            return
        if self.buffer is None:
            self.buffer = BlendBuffer(self.array.shape[2], logits.shape[0])
            self.buffer.extend(self.array.shape[1])
        self.buffer.add(window, logits, weight)

    def result(self, return_probability: bool) -> ImagePrediction:
        """The finished prediction (all nodata when no window had a valid pixel)."""
        height, width = self.array.shape[1:]
        if self.logits is not None:
            scores, weights = self.logits, np.ones((height, width), dtype=np.float32)
        elif self.buffer is None:
            scores, weights = np.zeros((1, height, width)), np.zeros((height, width))
        else:
            scores, weights = self.buffer.pop(self.buffer.bottom)
        mask, probability = blended_labels(scores, weights, self.valid, return_probability=return_probability)
        result: ImagePrediction = {"image": self.image, "mask": mask}
        if probability is not None:
            result["probability"] = probability
        return result


def _batches(
    items: Iterable[tuple[Any, PixelWindow]], batch_size: int
) -> Iterator[list[tuple[Any, PixelWindow]]]:
    """Consecutive items grouped into lists of at most ``batch_size`` windows of one shape."""
    batch: list[tuple[Any, PixelWindow]] = []
    for item in items:
        if batch and (len(batch) >= batch_size or item[1][2:] != batch[0][1][2:]):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


def check_batch_size(batch_size: int) -> int:
    """``batch_size`` as a positive ``int``, or a ``ValueError`` naming it."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer (windows per forward pass)")
    return int(batch_size)


def predict_images(
    images: Sequence[Any],
    network: LogitsModel | torch.nn.Module,
    params: ModelParams,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    overlap: int | None = None,
    return_probability: bool = False,
    weight_floor: float = DEFAULT_WEIGHT_FLOOR,
    progress: bool = False,
    on_result: Callable[[int, ImagePrediction], None] | None = None,
    mask_clouds: bool = True,
) -> list[ImagePrediction]:
    """Predict a list of images with an already resolved network and parameters (see :func:`predict`).

    Windows of consecutive images share batches, so many small tiles go
    through the model ``batch_size`` at a time; an image's buffers are freed
    as soon as its last window is done (memory stays bounded for long lists).
    ``on_result(index, prediction)``, when given, is called as each image is
    finished.
    """
    batch_size = check_batch_size(batch_size)
    n_bands, size = int(params["n_bands"]), int(params["tiles_size"])
    results: list[ImagePrediction | None] = [None] * len(images)
    state: dict[int, _Pending] = {}
    weights: dict[tuple[int, int], np.ndarray] = {}

    def finish(index: int) -> None:
        results[index] = state.pop(index).result(return_probability)
        if on_result is not None:
            on_result(index, results[index])  # type: ignore[arg-type]

    def tasks() -> Iterator[tuple[int, PixelWindow]]:
        for index, image in enumerate(images):
            state[index] = _Pending(as_image(image, n_bands), size, overlap, n_bands, mask_clouds)
            if not state[index].windows:
                finish(index)
                continue
            yield from ((index, window) for window in state[index].windows)

    bar = _progress_bar(progress, "window", None, "predicting")
    try:
        for batch in _batches(tasks(), batch_size):
            arrays = [state[index].array[:n_bands, window.rows, window.cols] for index, window in batch]
            logits = window_logits(network, arrays, params)
            for (index, window), window_logit in zip(batch, logits, strict=True):
                shape = (window.height, window.width)
                if shape not in weights:
                    weights[shape] = blend_weights(window.height, window.width, weight_floor)
                state[index].add(window, window_logit, weights[shape])
                if state[index].remaining == 0:
                    finish(index)
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()
    return [r for r in results if r is not None]


def _progress_bar(progress: bool, unit: str, total: int | None, desc: str | None = None) -> Any:
    """A tqdm bar when ``progress`` is true, else ``None``."""
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, desc=desc)


def predict(
    images: Any,
    model: ModelLike,
    tiles_size: int | None = None,
    augment_size: int | None = None,
    n_bands: int | None = None,
    normalization_mean: Sequence[float] | None = None,
    normalization_std: Sequence[float] | None = None,
    module_name: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    overlap: int | None = None,
    return_probability: bool = False,
    weight_floor: float = DEFAULT_WEIGHT_FLOOR,
    progress: bool = False,
    mask_clouds: bool = True,
) -> ImagePrediction | list[ImagePrediction]:
    """Land-cover classes of one image or many, of any size, with the model's own preprocessing.

    Each image is covered by windows of ``tiles_size`` pixels overlapping by
    ``overlap`` (default a quarter window); the last window of a row or
    column ends flush with the image edge, so nothing is dropped or padded.
    Windows go through the model ``batch_size`` at a time; their logits are
    blended with a Hann weight that has a small floor
    (:func:`~landcover.inference.windows.blend_weights`): in an overlap the
    window whose centre is nearer counts most, so there is no seam, and edge
    pixels still count. Pixels that are non-finite in every band the model
    reads are nodata (class 0), and so are clouds and cloud shadows
    (:func:`landcover.clouds.unusable_mask`) unless ``mask_clouds=False``.

    Parameters
    ----------
    images : dict, numpy.ndarray, str, os.PathLike, or a list of them
        An image dict from :func:`landcover.data.get_satellite_image` /
        :func:`~landcover.data.read_tile` (``array`` ``(bands, H, W)`` in
        reflectance, ``transform``, ``crs``, ``bounds``), a bare array, or a
        path/URL to a tile. A ``(N, bands, H, W)`` array counts as N images.
    model : LoadedModel or pyfunc or torch.nn.Module
        :func:`~landcover.inference.model.load_model` output (parameters
        taken from it), or a bare model with the parameters below.
    tiles_size, augment_size, n_bands, normalization_mean, normalization_std, module_name
        The model's parameters (``params.json``), as in the original
        tutorial; when given they override the loaded model's.
    params : mapping, optional
        All parameters at once (``params.json`` content), instead of the keywords.
    batch_size : int
        Windows per forward pass (16).
    overlap : int, optional
        Overlap of neighbouring windows in pixels (default ``tiles_size // 4``).
    return_probability : bool
        Also return the probability of the chosen class.
    weight_floor : float
        Weight of a window's edge pixels relative to its centre, in (0, 1].
    progress : bool
        Show a tqdm bar over windows.
    mask_clouds : bool
        Set cloud and cloud-shadow pixels to nodata (``True``); images with
        fewer than the 12 spectral bands are not tested.

    Returns
    -------
    dict or list of dict
        For one image ``{"image", "mask", "probability"?}`` (see
        :class:`ImagePrediction`); a list of those for a list of images.

    Raises
    ------
    ValueError
        Bad parameters or image shapes (the message names the parameter).
    """
    network, checked = resolve_model(
        model, params, tiles_size=tiles_size, augment_size=augment_size, n_bands=n_bands,
        normalization_mean=normalization_mean, normalization_std=normalization_std, module_name=module_name,
    )
    single = not isinstance(images, (list, tuple)) and not (isinstance(images, np.ndarray) and images.ndim == 4)
    batch = [images] if single else list(images)
    results = predict_images(
        batch, network, checked, batch_size=batch_size, overlap=overlap, return_probability=return_probability,
        weight_floor=weight_floor, progress=progress, mask_clouds=mask_clouds,
    )
    return results[0] if single else results

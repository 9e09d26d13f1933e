"""Checks for chapter 3, inference.

Each check recomputes its reference with the package (the model published under
the active data root, the chapter's tiles) and compares; nothing is stored. Hints
name what is off (shape, range, the +1 of class ids, the network size, a window
past the edge) without giving the code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from landcover.exercises.checks import Hint, exercise_check, expect_array
from landcover.exercises.explain import LikelyError

if TYPE_CHECKING:
    from landcover.inference import LoadedModel

#: The tile chapter 3 predicts first (the town tile of chapter 1): region, year, stem.
CHAPTER_TILE = ("LU000", 2024, "4042000_2951690_0_637")
#: A labelled year of the same tile, for the first agreement figures.
LABEL_YEAR = 2021
#: Image sides the window exercise is tried on (pixels), with the model's 250-pixel windows.
WINDOW_CASES = ((250, 250, 62), (100, 250, 62), (251, 250, 62), (420, 250, 62), (600, 250, 62), (1000, 250, 0))


def _root() -> str:
    from landcover.config import data_root

    return data_root()


@lru_cache(maxsize=2)
def _model(root: str) -> LoadedModel:
    """The model published under ``root`` (what the chapter loads), loaded once per data root."""
    from landcover.inference import load_model

    return load_model(root)


@lru_cache(maxsize=4)
def _tile(root: str, year: int) -> dict[str, Any]:
    from landcover.data import read_tile

    nuts, _, stem = CHAPTER_TILE
    return read_tile(nuts, year, stem, root=root)


@lru_cache(maxsize=4)
def _prediction(root: str, year: int) -> np.ndarray:
    """The package's prediction of the chapter tile of ``year`` (uint8 classes)."""
    from landcover.inference import predict

    return predict(_tile(root, year), _model(root))["mask"]


def _class_ids_hint(values: np.ndarray, name: str) -> None:
    present = np.unique(values)
    if present.size and present.min() == 0 and present.max() <= 9:
        raise Hint(
            f"`{name}` holds the values {present.tolist()}: channel k of the logits is class k + 1 "
            "(argmax gives 0..9, the classes are 1..10)."
        )
    if present.size and (present.min() < 0 or present.max() > 10):
        raise Hint(f"`{name}` holds values outside 0..10 ({present.min()}..{present.max()}): is it a class mask?")


@exercise_check(
    "inf-load",
    names=("params", "loaded"),
    success="Model and parameters loaded from the published artifacts.",
    likely=(
        LikelyError(
            FileNotFoundError,
            "Nothing is published at that location: `published` knows where the model folder and "
            "`params.json` are; print it and use its locations, not a path typed by hand.",
        ),
    ),
)
def check_load(params: object, loaded: object) -> None:
    """params: the checked content of params.json; loaded: the model and its parameters."""
    from landcover.inference import PARAM_KEYS, LoadedModel, load_params, published_model_location

    expected = load_params(published_model_location(_root()).params_location)
    if isinstance(params, str):
        raise Hint("`params` is text: read the file as parameters (a dictionary), not as a string.")
    if not isinstance(params, Mapping):
        raise Hint(f"`params` should be a dictionary of the model's parameters, not a {type(params).__name__}.")
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise Hint(f"`params` lacks {missing}: it should hold every key of params.json.")
    if any(isinstance(params[key], str) for key in ("n_bands", "tiles_size", "augment_size")):
        raise Hint("The sizes in `params` are text: use the package's reader, which checks and converts them.")
    if dict(params) != dict(expected):
        raise Hint("`params` differs from the published params.json: read the file next to the model.")
    if not isinstance(loaded, LoadedModel):
        raise Hint(
            f"`loaded` is a {type(loaded).__name__}; it should be what the package's loader returns: the "
            "model together with its parameters and its name and version."
        )
    if dict(loaded.params) != dict(expected):
        raise Hint("`loaded` carries other parameters than the published ones: load the published model.")


@exercise_check(
    "inf-steps",
    names=("batch", "logits", "classes"),
    success="Normalised, resized, forward, upsampled, argmax + 1: the same classes as the package.",
    likely=(
        LikelyError(
            ValueError,
            "The model wants a batch, (images, bands, rows, cols), of the network's size: a single "
            "(bands, rows, cols) tile lacks the first axis.",
            contains="shape|dimension|expected",
        ),
    ),
)
def check_steps(batch: object, logits: object, classes: object) -> None:
    """batch: the tile ready for the network; logits: its raw output; classes: the tile's class mask."""
    from landcover.inference import logits_to_labels, model_logits, preprocess

    root = _root()
    loaded = _model(root)
    tile = _tile(root, CHAPTER_TILE[1])["array"]
    expected_batch = preprocess(tile, loaded.params)
    size = int(loaded.params["augment_size"])
    value = expect_array(batch, "batch", kind="f")
    if value.ndim == 3:
        raise Hint("`batch` has three axes: the network takes a batch of images, (images, bands, rows, cols).")
    if value.shape[-2:] == tuple(tile.shape[-2:]) and size != tile.shape[-1]:
        raise Hint(f"`batch` is {value.shape[-1]} pixels wide: the network was trained on {size}-pixel inputs.")
    if value.shape != expected_batch.shape:
        raise Hint(f"`batch` has shape {value.shape}; the network expects {expected_batch.shape}.")
    if np.nanmax(value) <= 1.5 and np.nanmin(value) >= -0.5:
        raise Hint("`batch` still looks like reflectance (0..1): normalise each band with the model's mean and std.")
    if not np.allclose(value, expected_batch, atol=1e-3):
        raise Hint("`batch` differs from the tile normalised with the model's parameters and resized.")
    raw = expect_array(logits, "logits", ndim=4, kind="f")
    expected_logits = model_logits(loaded.model, expected_batch)
    if raw.shape != expected_logits.shape:
        raise Hint(f"`logits` has shape {raw.shape}; the model's raw output has shape {expected_logits.shape}.")
    if not np.allclose(raw, expected_logits, atol=1e-3):
        raise Hint("`logits` differ from the model's output for `batch`: pass the normalised batch itself.")
    mask = expect_array(classes, "classes", ndim=2)
    if mask.shape != tuple(tile.shape[-2:]):
        raise Hint(
            f"`classes` is {mask.shape}; it must cover the tile's {tile.shape[-2:]} pixels: the logits come "
            "at a quarter of the network's size and must be brought back to the tile's size first."
        )
    _class_ids_hint(mask, "classes")
    expected = logits_to_labels(raw[0], tuple(tile.shape[-2:]))
    agree = float(np.mean(mask == expected))
    if agree < 0.999:
        raise Hint(
            f"`classes` agrees with the upsampled argmax on {agree:.1%} of the pixels: upsample the logits "
            "(bilinear) before taking the best class, not the classes after."
        )


@exercise_check(
    "inf-predict",
    names=("result",),
    success="One call: the tile's classes, 1..10, on its own grid.",
)
def check_predict(result: object) -> None:
    """result: what predict() returns for the chapter tile (a dict with the image and the mask)."""
    if not isinstance(result, Mapping) or "mask" not in result:
        raise Hint("`result` should be what `predict` returns for one image: a dictionary holding a `mask`.")
    root = _root()
    mask = expect_array(result["mask"], 'result["mask"]', ndim=2)
    expected = _prediction(root, CHAPTER_TILE[1])
    if mask.shape != expected.shape:
        raise Hint(f"the mask is {mask.shape}; the tile is {expected.shape}: predict the chapter's tile.")
    _class_ids_hint(mask, 'result["mask"]')
    if mask.dtype != np.uint8:
        raise Hint(f"the mask is {mask.dtype}; class ids are stored as uint8.")
    agree = float(np.mean(mask == expected))
    if agree < 0.999:
        raise Hint(
            f"the mask agrees with the package's prediction on {agree:.1%} of the pixels: pass the "
            "model's own parameters (tile size, network size, bands, mean and std, module)."
        )


@exercise_check(
    "inf-windows",
    names=("window_starts_of",),
    success="Windows that cover every pixel, end at the edge and never leave the image.",
)
def check_windows(window_starts_of: object) -> None:
    """window_starts_of: the reader's function (length, size, overlap) -> first pixel of each window."""
    from landcover.inference.windows import window_starts

    if not callable(window_starts_of):
        raise Hint("`window_starts_of` should be a function of (length, size, overlap).")
    function: Callable[..., Any] = window_starts_of
    for length, size, overlap in WINDOW_CASES:
        expected = window_starts(length, size, overlap)
        got = [int(v) for v in function(length, size, overlap)]
        case = f"an image of {length} pixels, windows of {size}, overlap {overlap}"
        if any(start + min(size, length) > length for start in got):
            raise Hint(f"for {case}, a window starts at {max(got)} and runs past the edge.")
        covered = np.zeros(length, bool)
        for start in got:
            covered[start : start + size] = True
        if not covered.all():
            raise Hint(f"for {case}, pixels {int(np.argmin(covered))}.. are in no window.")
        if got != expected:
            raise Hint(
                f"for {case} you start windows at {got}: step by the window size minus the overlap, and "
                "start the last window where it ends exactly at the edge (no duplicates)."
            )


@exercise_check(
    "inf-agreement",
    names=("overall", "producers", "users"),
    success="Agreement computed on the labelled pixels, per class both ways.",
    likely=(
        LikelyError(
            IndexError,
            "The prediction and the label must be of the same tile and year, with the same shape, so "
            "that a boolean mask of one selects pixels of the other.",
            contains="boolean index",
        ),
    ),
)
def check_agreement(overall: object, producers: object, users: object) -> None:
    """overall: share of labelled pixels where map and label agree; producers/users: per class, by id."""
    import pandas as pd

    from landcover.data import label_path, load_label

    root = _root()
    nuts, _, stem = CHAPTER_TILE
    label = load_label(label_path(nuts, LABEL_YEAR, stem, root))
    mask = _prediction(root, LABEL_YEAR)
    valid = label > 0
    expected_overall = float(np.mean(mask[valid] == label[valid]))
    try:
        value = float(overall)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Hint(f"`overall` should be one number (a share), not a {type(overall).__name__}.") from None
    if abs(value - float(np.mean(mask == label))) < 1e-9 and abs(value - expected_overall) > 1e-6:
        raise Hint("`overall` counts the no-data pixels of the label: compare only where the label has a class.")
    if abs(value - 100 * expected_overall) < 1e-6:
        raise Hint("`overall` is a percentage: give it as a share between 0 and 1.")
    if abs(value - expected_overall) > 1e-6:
        raise Hint("`overall` is not the share of labelled pixels where the prediction equals the label.")
    in_label = sorted(set(np.unique(label[valid]).tolist()) - {0})
    in_map = sorted(set(np.unique(mask[valid]).tolist()) - {0})
    reference = {
        # producer's: of the pixels the label puts in class k, the share the map puts there too
        "producers": _shares(mask, label, valid, in_label),
        # user's: of the pixels the map puts in class k, the share the label agrees with
        "users": _shares(label, mask, valid, in_map),
    }
    for name, other in (("producers", "users"), ("users", "producers")):
        series = producers if name == "producers" else users
        if not isinstance(series, pd.Series):
            raise Hint(f"`{name}` should be a pandas Series indexed by class id, not a {type(series).__name__}.")
        got = series.astype(float).rename(index=int)
        expected = reference[name]
        missing = sorted(set(expected.index) - set(got.index))
        if missing:
            where = "label" if name == "producers" else "map"
            raise Hint(f"`{name}` lacks classes {missing}, which the {where} holds on labelled pixels.")
        got = got.reindex(expected.index)
        if np.allclose(got, expected, atol=1e-6, equal_nan=True):
            continue
        swapped = reference[other].reindex(expected.index)
        if np.allclose(got, swapped, atol=1e-6, equal_nan=True):
            raise Hint(f"`{name}` holds the {other}' agreement: the two are swapped (which one divides by the label?).")
        wrong = [k for k in expected.index if not np.isclose(got[k], expected[k], atol=1e-6, equal_nan=True)]
        raise Hint(f"`{name}` is off for classes {wrong}: count only labelled pixels, per class.")


def _shares(mapped: np.ndarray, reference: np.ndarray, valid: np.ndarray, classes: list[int]) -> Any:
    """Per class k: among valid pixels where ``reference`` is k, the share where ``mapped`` is k too."""
    import pandas as pd

    values = {}
    for k in classes:
        chosen = valid & (reference == k)
        values[k] = float(np.mean(mapped[chosen] == k)) if chosen.any() else float("nan")
    return pd.Series(values, dtype=float)


#: The region of the region exercise: BE100 (covered by tiles completely), 2024.
REGION = ("BE100", 2024)
#: Area of one 10 m pixel in km².
PIXEL_KM2 = 1e-4


@lru_cache(maxsize=2)
def _region_counts(root: str) -> np.ndarray:
    """Pixel counts of class ids 0..10 in the package's mosaic of :data:`REGION` (read from the store)."""
    from landcover.inference import predict_region

    mask = predict_region(*REGION, _model(root), progress=False, root=root)["mask"]
    return np.bincount(mask.ravel(), minlength=11)


@exercise_check(
    "inf-region",
    names=("areas", "covered_km2"),
    success="Areas per class and covered area of the region's map, in km².",
    likely=(
        LikelyError(
            ValueError,
            "`np.bincount` counts the values of a flat, one-dimensional array of whole numbers: "
            "the mosaic is two-dimensional.",
            contains="1 dimension|one dimension|object too deep|must be 1",
        ),
    ),
)
def check_region(areas: object, covered_km2: object) -> None:
    """areas: km² per class 1..10 (pandas Series indexed by class id); covered_km2: km² with a class."""
    import pandas as pd

    counts = _region_counts(_root())
    expected = pd.Series(counts[1:] * PIXEL_KM2, index=range(1, 11))
    if not isinstance(areas, pd.Series):
        raise Hint(f"`areas` should be a pandas Series indexed by class id, not a {type(areas).__name__}.")
    got = areas.astype(float).reindex(expected.index)
    if np.allclose(got, counts[1:], rtol=1e-9):
        raise Hint("`areas` holds pixel counts: multiply by the area of one pixel in km².")
    for wrong, unit in ((1e-2, "hectares"), (100.0, "m²")):
        if np.allclose(got, counts[1:] * wrong, rtol=1e-9):
            raise Hint(f"`areas` looks like {unit}: one 10 m pixel is 100 m², and 1 km² is 1,000,000 m².")
    if not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        raise Hint("`areas` differs from the pixel counts of the mosaic times the pixel area.")
    try:
        covered = float(covered_km2)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Hint(f"`covered_km2` should be one number, not a {type(covered_km2).__name__}.") from None
    if abs(covered - counts.sum() * PIXEL_KM2) < 1e-9 and counts[0] > 0:
        raise Hint("`covered_km2` counts the pixels of class 0 (no tile, no data): leave them out.")
    if abs(covered - counts[1:].sum() * PIXEL_KM2) > 1e-6:
        raise Hint("`covered_km2` is not the total area of the pixels that have a class.")

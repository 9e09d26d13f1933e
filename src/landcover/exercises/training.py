"""Checks for chapter 2, training a segmentation model.

The chapter trains on a small, fixed part of the pre-trained model's split (10 km
blocks, ``PRETRAINED_SPLIT``, drawn with the first seed whose held-out blocks hold
every class): every :data:`TRAIN_STRIDE`-th training tile and every
:data:`VAL_STRIDE`-th held-out tile.
The checks rebuild that split, the normalisation statistics and the label
counts from the data under the active root (nothing is stored here), and
inspect what the reader built: a model, datasets, a training result, an
MLflow run. A hint says what is wrong (shape, set of tiles, statistics, axis,
missing step), never the code of the answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from landcover.exercises.checks import Hint, exercise_check, expect_array
from landcover.exercises.explain import LikelyError

if TYPE_CHECKING:
    from mlflow.pyfunc import PyFuncModel

    from landcover.data.normalization import Normalization
    from landcover.training.io import TileRecord
    from landcover.training.split import Split

#: The chapter trains on every 7th tile of the training side of the split ...
TRAIN_STRIDE = 7
#: ... and validates on every 5th tile of the held-out side.
VAL_STRIDE = 5
#: Side of the random training crops (pixels of 10 m).
CROP_SIZE = 128
#: Shape of the random batch of the first exercise: 2 tiles, 14 channels, 128 x 128 pixels.
SHAPES_BATCH = (2, 14, 128, 128)
#: Number of steps of the training-by-hand exercise.
HAND_STEPS = 5

RecordKey = tuple[str, int, str]


# --- the chapter's tiles under the active root (cached per root) ---------------------------------


def _root() -> str:
    from landcover.config import data_root

    return data_root()


@lru_cache(maxsize=4)
def _split(root: str) -> Split:
    """The pre-trained model's split of the labelled tiles under ``root`` (computed once per root)."""
    from landcover.training.io import labelled_records
    from landcover.training.pretrained import PRETRAINED_SPLIT
    from landcover.training.split import first_seed_covering_classes, split_by_blocks

    records = labelled_records(root)
    seed = first_seed_covering_classes(records, **PRETRAINED_SPLIT)
    return split_by_blocks(records, seed=seed, **PRETRAINED_SPLIT)


def chapter_split() -> Split:
    """The split of the pre-trained model (10 km blocks, first seed covering every class), as the chapter makes it."""
    return _split(_root())


def chapter_records() -> tuple[list[TileRecord], list[TileRecord]]:
    """``(train_records, val_records)``: the chapter's subsets of :func:`chapter_split`."""
    split = chapter_split()
    return list(split.train[::TRAIN_STRIDE]), list(split.val[::VAL_STRIDE])


def _key(record: Any) -> RecordKey:
    return (str(record.nuts), int(record.year), str(record.stem))


def _keys(records: Iterable[Any]) -> set[RecordKey]:
    return {_key(r) for r in records}


@lru_cache(maxsize=8)
def _normalization_of(keys: frozenset[RecordKey], root: str) -> Normalization:
    """Per-band statistics over the tiles ``keys`` (the chapter's training tiles, normally)."""
    from landcover.training.normalization import compute_normalization

    split = _split(root)
    by_key = {_key(r): r for r in (*split.train, *split.val, *split.dropped)}
    return compute_normalization([by_key[k] for k in sorted(keys)], progress=False)


@lru_cache(maxsize=4)
def _labels(keys: frozenset[RecordKey], root: str) -> tuple[np.ndarray, ...]:
    from landcover.training.io import read_label

    split = _split(root)
    by_key = {_key(r): r for r in (*split.train, *split.val, *split.dropped)}
    return tuple(read_label(by_key[k].label) for k in sorted(keys))


def _as_numpy(value: Any, name: str) -> np.ndarray:
    """A tensor or an array as a NumPy array (a Hint for anything else)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, Mapping):
        raise Hint(f"`{name}` is a dictionary (keys {', '.join(map(str, value))}): take the entry the steps ask for.")
    raise Hint(f"`{name}` should be a tensor or an array, but it is a {type(value).__name__}.")


def _is_landcover_tiles(value: Any, name: str) -> None:
    from landcover.training.dataset import LandCoverTiles, Sentinel2Tiles

    if isinstance(value, LandCoverTiles):
        return
    if isinstance(value, Sentinel2Tiles):
        raise Hint(f"`{name}` is a Sentinel2Tiles dataset, which has no labels: training needs LandCoverTiles.")
    raise Hint(f"`{name}` should be a LandCoverTiles dataset, but it is a {type(value).__name__}.")


def _only_training_tiles(records: Sequence[Any], name: str) -> None:
    split = chapter_split()
    keys = _keys(records)
    held_out = keys & _keys(split.val)
    if held_out:
        raise Hint(
            f"`{name}` holds {len(held_out)} held-out (validation) tile(s): training on them makes the "
            "validation score meaningless. Use the training records."
        )
    unknown = keys - _keys(split.train)
    if unknown:
        raise Hint(f"`{name}` holds {len(unknown)} tile(s) that are not on the training side of the split.")


def _check_training_normalization(normalization: Any, records: Sequence[Any], name: str) -> None:
    """``normalization`` must be the statistics of ``records`` (training tiles), computed pixel by pixel."""
    from landcover.data.normalization import Normalization
    from landcover.training.normalization import normalization_from_yaml

    if not isinstance(normalization, Normalization):
        raise Hint(
            f"`{name}` was given a {type(normalization).__name__} as normalisation; it needs the "
            "Normalization of the training tiles."
        )
    expected = _normalization_of(frozenset(_keys(records)), _root())
    if normalization.is_close(expected, rel=1e-5, abs_tol=1e-9):
        return
    if all(m == 0 for m in normalization.mean) and all(s == 1 for s in normalization.std):
        raise Hint(f"`{name}` uses mean 0 and std 1, which leaves the reflectances as they are.")
    try:
        published = normalization_from_yaml(records)
    except Exception:
        published = None
    if published is not None and normalization.is_close(published, rel=1e-4, abs_tol=1e-9):
        raise Hint(
            f"`{name}` uses the published metrics-normalization.yaml statistics, which also cover tiles "
            "held out for validation: compute them on the training tiles only."
        )
    raise Hint(f"`{name}` is normalised with statistics that are not those of its training tiles.")


# --- exercise 1: parameters and shapes ----------------------------------------------------------


@exercise_check(
    "trn-shapes",
    names=("shape_model", "n_parameters", "logits"),
    success="Right model, right count, and logits at a quarter of the input size.",
    likely=(
        LikelyError(
            ValueError,
            "`build_model` takes the name of a size, one of the keys of `MODEL_SIZES`: print it and "
            "pick the one with the fewest weights.",
            contains="unknown model size",
        ),
        LikelyError(
            RuntimeError,
            "The network wants the bands second, (batch, 14, rows, cols): an array with the bands last "
            "has its columns read as channels.",
            contains="channels",
        ),
    ),
)
def check_shapes(shape_model: Any, n_parameters: Any, logits: Any) -> str:
    """shape_model: the tiny SegFormer; n_parameters: its trainable weights; logits: of a (2, 14, 128, 128) batch."""
    from landcover.bands import N_BANDS
    from landcover.classes import N_CLASSES
    from landcover.training.model import MODEL_SIZES, count_parameters

    config = getattr(shape_model, "config", None)
    if config is None or not hasattr(shape_model, "parameters"):
        raise Hint(f"`shape_model` should be the SegFormer that build_model returns, not a {type(shape_model).__name__}.")
    if config.num_channels != N_BANDS:
        raise Hint(f"`shape_model` reads {config.num_channels} channels; the tiles have {N_BANDS}.")
    if config.num_labels != N_CLASSES:
        raise Hint(f"`shape_model` predicts {config.num_labels} classes; the book maps {N_CLASSES}.")
    if list(config.hidden_sizes) != MODEL_SIZES["tiny"]["hidden_sizes"]:
        raise Hint(
            f"`shape_model` has stage widths {list(config.hidden_sizes)}: the steps ask for the smallest size "
            "of MODEL_SIZES."
        )
    expected = count_parameters(shape_model)
    if isinstance(n_parameters, bool) or not isinstance(n_parameters, (int, np.integer)):
        if hasattr(n_parameters, "item") and getattr(n_parameters, "ndim", 1) == 0:
            n_parameters = n_parameters.item()
        else:
            raise Hint(f"`n_parameters` should be a whole number, but it is a {type(n_parameters).__name__}.")
    tensors = sum(1 for p in shape_model.parameters() if p.requires_grad)
    if int(n_parameters) == tensors:
        raise Hint(
            f"`n_parameters` is {tensors}, the number of weight tensors; count the numbers they hold "
            "(each tensor's number of elements)."
        )
    if int(n_parameters) != expected:
        raise Hint(f"`n_parameters` is {int(n_parameters):,}; it should count every trainable weight of `shape_model`.")

    if hasattr(logits, "logits") and not hasattr(logits, "shape"):
        raise Hint("`logits` is the whole model output: take its `logits` attribute.")
    if isinstance(logits, (tuple, list)):
        raise Hint(f"`logits` is a {type(logits).__name__} of {len(logits)} tensors (encoder stages?): take the logits.")
    array = _as_numpy(logits, "logits")
    batch, _, height, width = SHAPES_BATCH
    wanted = (batch, N_CLASSES, height // 4, width // 4)
    if array.shape == wanted:
        return f"{expected:,} weights; logits {wanted}."
    if array.shape == (batch, N_CLASSES, height, width):
        raise Hint(
            "`logits` is at the input's full size; SegFormer returns them at 1/4 (upsampling comes later, in the "
            "loss and the prediction). Take them as the model returns them, for the batch of the steps."
        )
    if array.ndim == 4 and array.shape[1] != N_CLASSES:
        raise Hint(
            f"`logits` has {array.shape[1]} channels: that is an encoder stage's features, not the logits "
            f"({N_CLASSES} channels, one per class)."
        )
    raise Hint(f"`logits` has shape {array.shape}; for the batch of the steps it should be {wanted}.")


# --- exercise 2: dataset and batch --------------------------------------------------------------


@exercise_check(
    "trn-dataset",
    names=("train_tiles", "images", "masks"),
    success="Training tiles, normalised with their own statistics, in batches of images and masks.",
    likely=(
        LikelyError(
            TypeError,
            "A data loader is not a list: it hands out batches one after the other when you iterate "
            "over it (`iter`, then `next`).",
            contains="not subscriptable",
        ),
        LikelyError(
            KeyError,
            "A batch is a dictionary, like one tile of the dataset: take its entries by name, not by position.",
        ),
    ),
)
def check_dataset(train_tiles: Any, images: Any, masks: Any) -> None:
    """train_tiles: LandCoverTiles of the training records; images, masks: one batch of it."""
    from landcover.classes import N_CLASSES

    _is_landcover_tiles(train_tiles, "train_tiles")
    _only_training_tiles(train_tiles.records, "train_tiles")
    _check_training_normalization(train_tiles.normalization, train_tiles.records, "train_tiles")

    image_array = _as_numpy(images, "images")
    mask_array = _as_numpy(masks, "masks")
    if image_array.ndim == 3 and image_array.dtype.kind in "iu" and mask_array.ndim == 4:
        raise Hint("`images` holds integers (batch, rows, cols) and `masks` 14 channels: did you swap images and masks?")
    if image_array.ndim == 3 and image_array.shape[0] == train_tiles.n_bands:
        raise Hint("`images` holds one image (bands, rows, cols); take the images of the whole batch.")
    if image_array.ndim != 4 or image_array.shape[1] != train_tiles.n_bands:
        raise Hint(
            f"`images` has shape {image_array.shape}; a batch of images is (batch, {train_tiles.n_bands}, rows, cols)."
        )
    if image_array.dtype != np.float32:
        raise Hint(f"`images` has dtype {image_array.dtype}: take the images as the loader gives them (float32).")
    if mask_array.ndim != 3 or mask_array.dtype.kind not in "iu":
        raise Hint(
            f"`masks` has shape {mask_array.shape} and dtype {mask_array.dtype}; the masks of a batch are integers "
            "(batch, rows, cols). Did you swap images and masks?"
        )
    if mask_array.shape[0] != image_array.shape[0]:
        raise Hint(f"`images` holds {image_array.shape[0]} tiles but `masks` {mask_array.shape[0]}: take both from one batch.")
    if mask_array.min() < 0 or mask_array.max() > N_CLASSES:
        raise Hint(f"`masks` holds values outside 0..{N_CLASSES}: they should be the labels as stored.")
    for i, image in enumerate(image_array):
        match = next(
            (k for k in range(train_tiles.n_tiles) if np.array_equal(train_tiles.load_image(k), image)), None
        )
        if match is None:
            raise Hint(f"`images[{i}]` is not one of the dataset's whole, normalised tiles.")
        if not np.array_equal(train_tiles.load_label(match), mask_array[i]):
            raise Hint(f"`masks[{i}]` is not the label of `images[{i}]`: take images and masks from the same batch.")


# --- exercise 3: augmentations ------------------------------------------------------------------


def _d4(image: np.ndarray) -> list[np.ndarray]:
    """The 8 flips and quarter turns of a (rows, cols, ...) array."""
    turns = [np.rot90(image, k, axes=(0, 1)) for k in range(4)]
    return turns + [np.flip(t, axis=1) for t in turns]


def _placements(tile: np.ndarray, window: np.ndarray) -> list[tuple[int, int, int]]:
    """``(symmetry, row, col)`` where ``window`` equals a square window of a D4 image of ``tile`` (HWC)."""
    size = window.shape[0]
    found = []
    for s, version in enumerate(_d4(tile)):
        hits = np.argwhere(np.all(version[: version.shape[0] - size + 1, : version.shape[1] - size + 1] == window[0, 0], axis=-1))
        for row, col in hits[:50]:
            if np.array_equal(version[row : row + size, col : col + size], window):
                found.append((s, int(row), int(col)))
    return found


@exercise_check(
    "trn-augment",
    names=("tile_image", "tile_label", "aug_image", "aug_mask"),
    success="Image and mask were cropped, turned and flipped together.",
    likely=(
        LikelyError(
            ValueError,
            "albumentations reads images as (rows, cols, bands): a (bands, rows, cols) array looks like "
            "an image 14 pixels tall, whose size differs from the mask's.",
            contains="should be equal|Height and Width",
        ),
        LikelyError(
            Exception,
            "OpenCV cannot flip or turn an array whose last axis is not the bands: put the band axis "
            "last before the transform.",
            contains="dims\\(\\) <= 2|_src",
        ),
    ),
)
def check_augment(tile_image: Any, tile_label: Any, aug_image: Any, aug_mask: Any) -> None:
    """tile_image (bands, rows, cols), tile_label (rows, cols); aug_*: one output of the training transform."""
    original = _as_numpy(tile_image, "tile_image")
    label = _as_numpy(tile_label, "tile_label")
    if original.ndim != 3 or label.ndim != 2 or original.shape[1:] != label.shape:
        raise Hint("`tile_image` and `tile_label` should be the tile's image (bands, rows, cols) and its label (rows, cols).")
    bands = original.shape[0]
    image = _as_numpy(aug_image, "aug_image")
    mask = _as_numpy(aug_mask, "aug_mask")
    if image.ndim == 3 and image.shape[-1] == original.shape[-1] != bands:
        raise Hint(
            f"`aug_image` has shape {image.shape}: albumentations took the last axis for the bands, so the image "
            "still had its bands first. Move the band axis last before the transform."
        )
    if image.ndim != 3 or image.shape[-1] != bands:
        raise Hint(f"`aug_image` has shape {image.shape}; it should be (rows, cols, {bands}), bands last.")
    if image.shape[0] != image.shape[1]:
        raise Hint(f"`aug_image` is {image.shape[0]} x {image.shape[1]} pixels; the crops are square.")
    if image.shape[0] == original.shape[1]:
        raise Hint("`aug_image` is the whole tile: the transform should cut a random crop.")
    if image.shape[0] != CROP_SIZE:
        raise Hint(f"`aug_image` is a {image.shape[0]}-pixel crop; the steps use crops of {CROP_SIZE} pixels.")
    if mask.shape == label.shape:
        raise Hint(
            "`aug_mask` is still the whole label: it was not transformed with the image. Give the image and the "
            "label to the same call, so that they get the same crop, turn and flip."
        )
    if mask.shape != image.shape[:2]:
        raise Hint(f"`aug_mask` has shape {mask.shape}; it should cover the crop, {image.shape[:2]}.")
    hwc = np.moveaxis(original, 0, -1)
    placements = _placements(hwc, image)
    if not placements:
        raise Hint(
            "`aug_image` is not a crop of `tile_image` (turned or flipped): did the image change "
            "(values, resampling) on the way?"
        )
    for symmetry, row, col in placements:
        if np.array_equal(_d4(label)[symmetry][row : row + CROP_SIZE, col : col + CROP_SIZE], mask):
            return None
    raise Hint(
        "`aug_mask` does not cover the same pixels as `aug_image`: the mask and the image were moved "
        "differently. Transform them in one call, so the same random crop, turn and flip apply to both."
    )


# --- exercise 4: class frequencies and weights --------------------------------------------------


@exercise_check(
    "trn-weights",
    names=("train_tiles", "counts", "frequencies", "weights"),
    success="Counts, frequencies and weights of the training labels, nodata left out.",
    likely=(
        LikelyError(
            ValueError,
            "`np.bincount` returns one count per value up to the largest one present, so its length "
            "varies from tile to tile: ask it for one count per label value, 0 to 10, every time.",
            contains="could not be broadcast",
        ),
    ),
)
def check_weights(train_tiles: Any, counts: Any, frequencies: Any, weights: Any) -> str:
    """counts: pixels of label values 0..10; frequencies: shares of classes 1..10; weights: class_weights."""
    from landcover.classes import N_CLASSES
    from landcover.training.loss import class_weights

    _is_landcover_tiles(train_tiles, "train_tiles")
    expected = train_tiles.label_counts(progress=False)
    values = expect_array(_as_numpy(counts, "counts"), "counts", ndim=1)
    if values.shape == (N_CLASSES,):
        raise Hint(f"`counts` has {N_CLASSES} values; it should count every label value 0 to {N_CLASSES}, nodata (0) included.")
    if values.shape != (N_CLASSES + 1,):
        raise Hint(f"`counts` has {values.size} values; it should have {N_CLASSES + 1}, one per label value 0..{N_CLASSES}.")
    if not np.array_equal(values, expected):
        total, wanted = int(values.sum()), int(expected.sum())
        if total != wanted:
            raise Hint(
                f"`counts` adds up to {total:,} pixels; the {train_tiles.n_tiles} training tiles hold {wanted:,}: "
                "count every pixel of every tile once."
            )
        raise Hint("`counts` has the right total but wrong values per label: count the pixels of each value.")

    shares = expect_array(_as_numpy(frequencies, "frequencies"), "frequencies", ndim=1, kind="f")
    labelled = expected[1:] / expected[1:].sum()
    if shares.shape == (N_CLASSES + 1,):
        raise Hint(f"`frequencies` has {N_CLASSES + 1} values: leave nodata (label 0) out, keep classes 1..{N_CLASSES}.")
    if shares.shape != (N_CLASSES,):
        raise Hint(f"`frequencies` has shape {shares.shape}; it should hold one share per class 1..{N_CLASSES}.")
    if np.allclose(shares, 100 * labelled):
        raise Hint("`frequencies` are percentages; the steps ask for shares between 0 and 1.")
    if np.allclose(shares, expected[1:] / expected.sum()):
        raise Hint(
            "`frequencies` divides by every pixel, nodata included, so the shares add up to less than 1: divide "
            "by the labelled pixels only."
        )
    if not np.allclose(shares, labelled):
        raise Hint("`frequencies` differs from each class's share of the labelled pixels of the training tiles.")

    wanted_weights = class_weights(expected).numpy()
    given = expect_array(_as_numpy(weights, "weights"), "weights", shape=(N_CLASSES,))
    if not np.allclose(given, wanted_weights, rtol=1e-5):
        raise Hint("`weights` differs from class_weights of the training counts.")
    rarest = int(np.argmax(np.where(labelled > 0, wanted_weights, -np.inf))) + 1
    return f"The rarest class present ({rarest}) weighs {wanted_weights[rarest - 1]:.1f} per pixel."


# --- exercise 5: one training step by hand ------------------------------------------------------


@exercise_check(
    "trn-step",
    names=("losses", "step_model", "optimizer"),
    success="The loss goes down: the model learns from the batch.",
    likely=(
        LikelyError(
            AttributeError,
            "The model returns an output object, not a tensor: the loss needs the logits it holds.",
            contains="SemanticSegmenterOutput|has no attribute 'shape'",
        ),
        LikelyError(
            ValueError,
            "The loss takes the logits first and the masks second: with the two swapped it tries to "
            "resize the masks like logits.",
            contains="spatial dimensions",
        ),
        LikelyError(
            RuntimeError,
            "The network wants a batch of images (batch, 14, rows, cols) from `crop_batch`, passed as "
            "`pixel_values`; the masks go to the loss only.",
            contains="channels|Expected",
        ),
    ),
)
def check_step(losses: Any, step_model: Any, optimizer: Any) -> str:
    """losses: the loss of each step, as numbers; step_model: the model trained by hand; optimizer: its AdamW."""
    if hasattr(losses, "detach") or not isinstance(losses, (list, tuple, np.ndarray)):
        raise Hint(f"`losses` should be a list with one number per step, but it is a {type(losses).__name__}.")
    if len(losses) != HAND_STEPS:
        raise Hint(f"`losses` holds {len(losses)} values; the loop makes {HAND_STEPS} steps, one loss each.")
    if any(hasattr(v, "requires_grad") for v in losses):
        raise Hint("`losses` holds tensors: keep plain numbers (a tensor's `.item()`), not the whole graph.")
    values = np.asarray(losses, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise Hint("`losses` holds NaN or infinite values: look at the logits and masks given to the loss.")
    grads = [p.grad for p in step_model.parameters() if p.requires_grad]
    if all(g is None for g in grads):
        raise Hint("`step_model` has no gradients: the loss's backward pass never ran.")
    weights = {id(p) for p in step_model.parameters()}
    groups = getattr(optimizer, "param_groups", None)
    if groups is None:
        raise Hint(f"`optimizer` should be the optimiser of the loop, but it is a {type(optimizer).__name__}.")
    if not weights & {id(p) for group in groups for p in group["params"]}:
        raise Hint("`optimizer` does not hold the weights of `step_model`: it would update another model.")
    if not optimizer.state or float(values.max() - values.min()) < 1e-7:
        raise Hint(
            "the weights never change: the optimiser has not taken a step. After the gradients are computed, "
            "the optimiser has to update the weights."
        )
    if values[-1] >= values[0]:
        raise Hint(
            f"the loss went from {values[0]:.3f} to {values[-1]:.3f}: on one batch it should go down. Are the "
            "gradients reset at each step, and the loss computed on the model's logits?"
        )
    return f"From {values[0]:.3f} to {values[-1]:.3f} in {HAND_STEPS} steps."


# --- exercise 6: a short training run -----------------------------------------------------------


@exercise_check(
    "trn-fit",
    names=("config", "train_crops", "val_tiles", "result"),
    success="Random crops to learn from, whole held-out tiles to judge by, and a loss that went down.",
    likely=(
        LikelyError(
            ValueError,
            "A crop cannot be larger than the tile it is cut from (250 pixels): check the crop size "
            "the transform gets from the config.",
            contains="crop|larger",
        ),
    ),
)
def check_fit(config: Any, train_crops: Any, val_tiles: Any, result: Any) -> str:
    """config: TrainConfig; train_crops / val_tiles: LandCoverTiles; result: what fit returned."""
    from landcover.training.loop import FitResult, TrainConfig

    if not isinstance(config, TrainConfig):
        raise Hint(f"`config` should be a TrainConfig, but it is a {type(config).__name__}.")
    _is_landcover_tiles(train_crops, "train_crops")
    _is_landcover_tiles(val_tiles, "val_tiles")
    _only_training_tiles(train_crops.records, "train_crops")
    split = chapter_split()
    val_keys = _keys(val_tiles.records)
    shared = val_keys & _keys(train_crops.records)
    if shared:
        raise Hint(
            f"`val_tiles` shares {len(shared)} tile(s) with `train_crops`: a model is judged on tiles it never "
            "trained on."
        )
    if not val_keys <= _keys(split.val):
        raise Hint("`val_tiles` holds tiles from the training side of the split; use the held-out records.")
    sample = train_crops[0]
    size = tuple(sample["image"].shape[-2:])
    if size != (config.crop_size, config.crop_size):
        raise Hint(
            f"`train_crops` yields {size[0]} x {size[1]} images, not random crops of {config.crop_size} pixels: "
            "give it the training transform made for that crop size."
        )
    if val_tiles.transform is not None:
        raise Hint(
            "`val_tiles` crops, turns or flips its tiles: validate on whole tiles as they are, so the score "
            "describes real tiles and is the same at every epoch."
        )
    _check_training_normalization(train_crops.normalization, train_crops.records, "train_crops")
    if not val_tiles.normalization.is_close(train_crops.normalization, rel=1e-5, abs_tol=1e-9):
        raise Hint(
            "`val_tiles` is normalised with other statistics than `train_crops`: every tile the model sees, "
            "validation and prediction included, uses the training statistics."
        )
    if not isinstance(result, FitResult):
        raise Hint(f"`result` should be what fit returns, but it is a {type(result).__name__}.")
    if len(result.history) != config.epochs:
        raise Hint(f"`result` covers {len(result.history)} epochs; the config asks for {config.epochs}.")
    first, last = result.history[0]["train_loss"], result.history[-1]["train_loss"]
    if not last < first:
        raise Hint(f"the training loss went from {first:.3f} to {last:.3f}: it should go down over the epochs.")
    return f"Training loss {first:.2f} -> {last:.2f}; best validation mIoU {result.best_miou:.3f} (epoch {result.best_epoch})."


# --- exercise 7: evaluation ---------------------------------------------------------------------


@exercise_check(
    "trn-evaluate",
    names=("cm", "fp", "fn", "iou", "miou"),
    success="Confusion matrix, errors and IoU per class, and their mean, all right.",
)
def check_evaluate(cm: Any, fp: Any, fn: Any, iou: Any, miou: Any) -> str:
    """cm: 10 x 10 confusion matrix (reference rows) on the held-out tiles; fp, fn, iou per class; miou."""
    from landcover.classes import N_CLASSES, NODATA
    from landcover.training.metrics import scores_from_confusion

    matrix = expect_array(_as_numpy(cm, "cm"), "cm", shape=(N_CLASSES, N_CLASSES))
    if matrix.dtype.kind not in "iu":
        raise Hint(f"`cm` has dtype {matrix.dtype}: keep the pixel counts, not shares.")
    _, val_records = chapter_records()
    train_records, _ = chapter_records()
    labelled_val = sum(int((lab != NODATA).sum()) for lab in _labels(frozenset(_keys(val_records)), _root()))
    total = int(matrix.sum())
    if total != labelled_val:
        labelled_train = sum(int((lab != NODATA).sum()) for lab in _labels(frozenset(_keys(train_records)), _root()))
        if total == labelled_train:
            raise Hint("`cm` counts the pixels of the training tiles: evaluate on the held-out tiles.")
        raise Hint(
            f"`cm` counts {total:,} pixels; the labelled pixels of the held-out tiles number {labelled_val:,}."
        )
    tp = np.diag(matrix).astype(np.int64)
    rows, cols = matrix.sum(axis=1), matrix.sum(axis=0)
    fp_wanted, fn_wanted = cols - tp, rows - tp
    fp_value = expect_array(_as_numpy(fp, "fp"), "fp", shape=(N_CLASSES,))
    fn_value = expect_array(_as_numpy(fn, "fn"), "fn", shape=(N_CLASSES,))
    if not np.array_equal(fp_value, fp_wanted):
        if np.array_equal(fp_value, fn_wanted):
            raise Hint(
                "`fp` counts each reference class's pixels predicted as something else: those are false "
                "negatives. Rows are the reference, columns the prediction."
            )
        if np.array_equal(fp_value, cols):
            raise Hint("`fp` still includes the correctly predicted pixels (the diagonal).")
        raise Hint("`fp` should count, per class, the pixels predicted as that class whose reference is another.")
    if not np.array_equal(fn_value, fn_wanted):
        if np.array_equal(fn_value, rows):
            raise Hint("`fn` still includes the correctly predicted pixels (the diagonal).")
        raise Hint("`fn` should count, per class, its reference pixels predicted as another class.")
    scores = scores_from_confusion(matrix)
    iou_value = expect_array(_as_numpy(iou, "iou"), "iou", shape=(N_CLASSES,), kind="f")
    if not np.allclose(iou_value, scores.iou, equal_nan=True):
        raise Hint("`iou` differs from TP / (TP + FP + FN) per class; a class absent from both sides stays NaN.")
    check_miou(miou, matrix)
    return f"mIoU {scores.miou:.3f} over {int(scores.present.sum())} classes; overall accuracy {scores.overall_accuracy:.3f}."


def check_miou(miou: Any, cm: np.ndarray) -> None:
    """A Hint unless ``miou`` is the mean IoU of ``cm`` over the classes whose IoU is defined."""
    from landcover.training.metrics import scores_from_confusion

    scores = scores_from_confusion(cm)
    try:
        value = float(miou)
    except (TypeError, ValueError):
        raise Hint(f"`miou` should be one number, but it is a {type(miou).__name__}.") from None
    if math.isnan(value):
        raise Hint("`miou` is NaN: some classes have no IoU (absent from the tiles); average the others only.")
    if math.isclose(value, float(np.nan_to_num(scores.iou).mean()), rel_tol=1e-6) and not math.isclose(
        value, scores.miou, rel_tol=1e-6
    ):
        raise Hint("`miou` counts the absent classes as 0: average only the classes that have an IoU.")
    if not math.isclose(value, scores.miou, rel_tol=1e-6):
        raise Hint("`miou` differs from the mean of the defined IoUs.")


# --- exercise 8: MLflow -------------------------------------------------------------------------


@exercise_check(
    "trn-mlflow",
    names=("run_id", "info"),
    success="Parameters, per-epoch metrics, scores and the registered model: all in the run.",
    likely=(
        LikelyError(
            Exception,
            "MLflow refuses to log a parameter twice with another value: `settings` must leave out the "
            "keys that `params` already logged.",
            contains="Changing param values is not allowed|already logged",
        ),
    ),
)
def check_mlflow(run_id: Any, info: Any) -> str:
    """run_id: the MLflow run; info: what log_model returned (registered under CHAPTER_MODEL_NAME)."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from landcover.inference.params import PARAM_KEYS
    from landcover.training.tracking import CHAPTER_MODEL_NAME, MODEL_NAME

    if not isinstance(run_id, str):
        raise Hint(f"`run_id` should be the run's id (text), but it is a {type(run_id).__name__}.")
    try:
        run = mlflow.get_run(run_id)
    except MlflowException:
        raise Hint(f"no run {run_id!r} in the tracking store {mlflow.get_tracking_uri()}.") from None
    params = run.data.params
    missing = [k for k in PARAM_KEYS if k not in params]
    if missing:
        raise Hint(f"the run has no {', '.join(missing)} parameter: log the model parameters (params.json keys).")
    if "epochs" not in params or "crop_size" not in params:
        raise Hint("the run does not record the training settings: log the fields of the config as parameters too.")
    train_records, _ = chapter_records()
    expected = _normalization_of(frozenset(_keys(train_records)), _root())
    logged = json.loads(params["normalization_mean"])
    if not np.allclose(logged, expected.mean, rtol=1e-5):
        raise Hint("the logged normalization_mean is not that of the chapter's training tiles.")
    client = MlflowClient()
    history = client.get_metric_history(run_id, "train_loss")
    epochs = int(params["epochs"])
    if len(history) != epochs:
        raise Hint(
            f"`train_loss` has {len(history)} value(s) in the run; log one per epoch ({epochs}), each with its "
            "epoch as the step, so MLflow can draw the curve."
        )
    if sorted(m.step for m in history) != list(range(1, epochs + 1)):
        raise Hint("the per-epoch metrics are not logged at steps 1, 2, ...: give each its epoch as the step.")
    if "epoch" in run.data.metrics:
        raise Hint("`epoch` is logged as a metric: it is the step of the other metrics, not a metric itself.")
    if "best_val_miou" not in run.data.metrics:
        raise Hint("the run has no best_val_miou: log the scores of the best epoch too.")
    version = getattr(info, "registered_model_version", None)
    if version is None:
        raise Hint("the model was logged but not registered: give log_model the registry name of the chapter's runs.")
    names = {v.name for v in client.search_model_versions(f"run_id = '{run_id}'")}
    if MODEL_NAME in names:
        raise Hint(
            f"the model is registered as {MODEL_NAME}, the pre-trained model's name: whatever asks for the newest "
            "version of the book's model (chapter 3, for one) would get this short run. Register it under the "
            "chapter's own name."
        )
    if names and CHAPTER_MODEL_NAME not in names:
        raise Hint(
            f"the model is registered as {', '.join(sorted(names))}, another name than the one this chapter "
            "registers its short runs under (the steps name it)."
        )
    try:
        registered = client.get_model_version(CHAPTER_MODEL_NAME, str(version))
    except MlflowException:
        registered = None
    if registered is None or registered.run_id != run_id:
        source = f"run {registered.run_id}" if registered is not None else "another run"
        raise Hint(
            f"version {version} of {CHAPTER_MODEL_NAME} comes from {source}, not from `run_id`: log the model "
            "inside the run."
        )
    return f"Registered as {CHAPTER_MODEL_NAME}, version {version}."


# --- exercise 9: load through the registry and predict ------------------------------------------


@lru_cache(maxsize=4)
def _loaded(model_uri: str, tracking_uri: str) -> PyFuncModel:
    """The MLflow model at ``model_uri``, loaded once per URI and tracking server (the cache key)."""
    import mlflow

    return mlflow.pyfunc.load_model(model_uri)


@exercise_check(
    "trn-load",
    names=("model_uri", "run_params", "predicted"),
    success="Loaded from the registry, with the parameters of its run: the prediction matches.",
    likely=(
        LikelyError(
            Exception,
            "The registry has no such version of the model: the version is the number the registry gave "
            "your model when you logged it (the previous exercise printed it), and a run id is a long "
            "hexadecimal string.",
            contains="RESOURCE_DOES_NOT_EXIST|not found|does not exist",
        ),
    ),
)
def check_load(model_uri: Any, run_params: Any, predicted: Any) -> str:
    """model_uri: models:/<name>/<version>; run_params: typed params of its run; predicted: classes of the tile."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from landcover.classes import N_CLASSES
    from landcover.data import read_tile
    from landcover.inference.params import PARAM_KEYS, params_from_run
    from landcover.inference.predict import predict_tile
    from landcover.training.tracking import CHAPTER_MODEL_NAME, MODEL_NAME

    if not isinstance(model_uri, str) or not model_uri.startswith("models:/"):
        raise Hint(f"`model_uri` should be a registry address models:/<name>/<version>, not {model_uri!r}.")
    name = model_uri[len("models:/") :].split("/")[0].split("@")[0]
    if name == MODEL_NAME:
        raise Hint(
            f"`model_uri` names {MODEL_NAME!r}, the pre-trained model; your short run is registered under the "
            f"chapter's own name, {CHAPTER_MODEL_NAME!r}."
        )
    if name != CHAPTER_MODEL_NAME:
        raise Hint(f"`model_uri` names the model {name!r}; the chapter registers its short runs as {CHAPTER_MODEL_NAME!r}.")
    if "@" in model_uri or model_uri.rstrip("/").endswith("/latest"):
        raise Hint(
            "`model_uri` asks for an alias or the newest version, which changes as soon as someone registers "
            "another run: name the version the registry gave your model."
        )
    try:
        model = _loaded(model_uri, mlflow.get_tracking_uri())
    except MlflowException as error:
        raise Hint(f"`model_uri` cannot be loaded from the registry: {str(error).splitlines()[0]}") from None
    if not isinstance(run_params, Mapping):
        raise Hint(f"`run_params` should be a dictionary of parameters, but it is a {type(run_params).__name__}.")
    missing = [k for k in PARAM_KEYS if k not in run_params]
    if missing:
        raise Hint(f"`run_params` has no {', '.join(missing)}: read the parameters of the run that logged the model.")
    if isinstance(run_params["n_bands"], str):
        raise Hint("`run_params` holds text as MLflow stores it: parse it into numbers and lists first.")
    expected_params = params_from_run(model.metadata.run_id)
    if any(run_params[k] != expected_params[k] for k in PARAM_KEYS):
        raise Hint("`run_params` are not the parameters of the run that logged this model version.")

    _, val_records = chapter_records()
    record = val_records[0]
    tile = read_tile(record.nuts, record.year, record.stem)["array"]
    labels = _as_numpy(predicted, "predicted")
    height, width = tile.shape[1:]
    if labels.ndim == 2 and labels.shape != (height, width) and labels.shape[0] < height:
        raise Hint(
            f"`predicted` is {labels.shape[0]} x {labels.shape[1]}, the logits' quarter resolution: bring it back "
            f"to the tile's {height} x {width} pixels."
        )
    if labels.shape != (height, width):
        raise Hint(f"`predicted` has shape {labels.shape}; one class per pixel of the tile is ({height}, {width}).")
    expected = predict_tile(model, tile, expected_params)
    if np.array_equal(labels, expected):
        return f"{len(np.unique(labels))} classes predicted on tile {record.nuts}/{record.year}/{record.stem}."
    if np.array_equal(labels + 1, expected):
        raise Hint(f"`predicted` holds channel numbers 0..{N_CLASSES - 1}; class k + 1 is channel k.")
    mean = np.asarray(expected_params["normalization_mean"], dtype=np.float32)[:, None, None]
    std = np.asarray(expected_params["normalization_std"], dtype=np.float32)[:, None, None]
    twice = predict_tile(model, (tile[: len(mean)] - mean) / std, expected_params)
    if np.array_equal(labels, twice):
        raise Hint("`predicted` comes from a tile normalised twice: predict_tile normalises, so give it reflectances.")
    raise Hint(
        f"`predicted` differs from this model's prediction of tile {record.nuts}/{record.year}/{record.stem} "
        f"(the first held-out tile) on {int((labels != expected).sum()):,} pixels."
    )

"""The checks of chapter 2: the solution passes, and each usual mistake gets its own hint.

Runs on the synthetic data (``make data``), whose split the chapter reuses; the
MLflow checks log to a temporary SQLite store. Each case asserts that the hint names
the mistake and carries no code of the answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import landcover.training  # noqa: F401 - before torch: PyTorch's idle threads sleep (OMP_WAIT_POLICY)

# isort: split
import mlflow
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from landcover.exercises import ___, evaluate
from landcover.exercises.training import CROP_SIZE, HAND_STEPS, SHAPES_BATCH, TRAIN_STRIDE, VAL_STRIDE

ANSWER_CODE = ("np.nanmean", "asdict(", ".logits", "numel()", "np.bincount", "moveaxis(", "optimizer.step", "sum(axis")


def assert_hint(result: Any, expected: str) -> None:
    assert result.status == "incorrect", result
    assert expected in result.message, result.message
    for code in ANSWER_CODE:
        assert code not in result.message, result.message


def assert_passes(result: Any) -> None:
    assert result.passed, result.message


@pytest.fixture(autouse=True)
def _synthetic_root(synthetic_dir: Path, use_data_root: Any) -> None:
    use_data_root(synthetic_dir)


@dataclasses.dataclass
class Chapter:
    """What the chapter has built by the time its exercises run."""

    split: Any
    train_records: list
    val_records: list
    normalization: Any
    train_tiles: Any
    val_tiles: Any


@pytest.fixture(scope="module")
def chapter(synthetic_dir: Path) -> Chapter:
    from landcover.training.dataset import LandCoverTiles
    from landcover.training.io import labelled_records
    from landcover.training.normalization import compute_normalization
    from landcover.training.pretrained import PRETRAINED_SPLIT
    from landcover.training.split import first_seed_covering_classes, split_by_blocks

    records = labelled_records(str(synthetic_dir))
    split = split_by_blocks(records, seed=first_seed_covering_classes(records, **PRETRAINED_SPLIT), **PRETRAINED_SPLIT)
    train_records = list(split.train[::TRAIN_STRIDE])
    val_records = list(split.val[::VAL_STRIDE])
    normalization = compute_normalization(train_records, progress=False)
    return Chapter(
        split,
        train_records,
        val_records,
        normalization,
        LandCoverTiles(train_records, normalization, cache=True),
        LandCoverTiles(val_records, normalization, cache=True),
    )


# --- trn-shapes ---------------------------------------------------------------------------------


def test_shapes() -> None:
    from landcover.training.model import build_model, count_parameters

    torch.manual_seed(0)
    model = build_model("tiny")
    with torch.no_grad():
        output = model(pixel_values=torch.randn(*SHAPES_BATCH), output_hidden_states=True)
    n = count_parameters(model)
    assert_passes(evaluate("trn-shapes", model, n, output.logits))
    tensors = len(list(model.parameters()))
    assert_hint(evaluate("trn-shapes", model, tensors, output.logits), "number of weight tensors")
    assert_hint(evaluate("trn-shapes", model, n, output), "whole model output")
    full = torch.nn.functional.interpolate(output.logits, size=SHAPES_BATCH[2:], mode="bilinear")
    assert_hint(evaluate("trn-shapes", model, n, full), "SegFormer returns them at 1/4")
    assert_hint(evaluate("trn-shapes", model, n, output.hidden_states[0]), "encoder stage")
    assert_hint(evaluate("trn-shapes", model, n, output.hidden_states), "encoder stages")
    assert_hint(evaluate("trn-shapes", build_model("b0"), n, output.logits), "smallest size")
    assert evaluate("trn-shapes", model, n, ___).status == "not attempted"


# --- trn-dataset --------------------------------------------------------------------------------


def test_dataset(chapter: Chapter) -> None:
    from landcover.training.dataset import LandCoverTiles, Sentinel2Tiles
    from landcover.training.normalization import normalization_from_yaml

    tiles = chapter.train_tiles
    batch = next(iter(DataLoader(tiles, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0))))
    assert_passes(evaluate("trn-dataset", tiles, batch["image"], batch["mask"]))
    assert_hint(evaluate("trn-dataset", tiles, batch, batch["mask"]), "is a dictionary")
    assert_hint(evaluate("trn-dataset", tiles, batch["mask"], batch["image"]), "did you swap images and masks?")
    assert_hint(evaluate("trn-dataset", tiles, batch["image"][0], batch["mask"]), "holds one image")
    other = next(iter(DataLoader(tiles, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(5))))
    assert_hint(evaluate("trn-dataset", tiles, batch["image"], other["mask"]), "is not the label of")

    leaky = LandCoverTiles(chapter.train_records + chapter.val_records[:2], chapter.normalization)
    assert_hint(evaluate("trn-dataset", leaky, batch["image"], batch["mask"]), "held-out (validation) tile")
    published = LandCoverTiles(chapter.train_records, normalization_from_yaml(chapter.train_records))
    assert_hint(evaluate("trn-dataset", published, batch["image"], batch["mask"]), "metrics-normalization.yaml")
    images_only = Sentinel2Tiles(chapter.train_records, chapter.normalization)
    assert_hint(evaluate("trn-dataset", images_only, batch["image"], batch["mask"]), "has no labels")


# --- trn-augment --------------------------------------------------------------------------------


def test_augment(chapter: Chapter) -> None:
    from landcover.training.augment import training_transform

    image = chapter.train_tiles.load_image(0)
    label = chapter.train_tiles.load_label(0)
    hwc = np.moveaxis(image, 0, -1)
    transform = training_transform(crop_size=CROP_SIZE)
    transform.set_random_seed(3)
    out = transform(image=hwc, mask=label)
    assert_passes(evaluate("trn-augment", image, label, out["image"], out["mask"]))

    transform.set_random_seed(4)
    separate = transform(mask=label, image=np.zeros_like(hwc))["mask"]  # a second draw for the mask alone
    assert not np.array_equal(separate, out["mask"])
    assert_hint(evaluate("trn-augment", image, label, out["image"], separate), "moved differently")
    assert_hint(evaluate("trn-augment", image, label, out["image"], label), "still the whole label")
    # What albumentations returns when it reads a (14, 250, 250) array as rows, cols, channels:
    # a crop with 250 "channels". Built directly, because some D4 draws make OpenCV itself refuse it.
    bands_first = np.zeros((CROP_SIZE, CROP_SIZE, image.shape[-1]), dtype=np.float32)
    assert_hint(evaluate("trn-augment", image, label, bands_first, out["mask"]), "Move the band axis last")
    small = training_transform(crop_size=64)(image=hwc, mask=label)
    assert_hint(evaluate("trn-augment", image, label, small["image"], small["mask"]), f"crops of {CROP_SIZE} pixels")
    whole = {"image": hwc, "mask": label}
    assert_hint(evaluate("trn-augment", image, label, whole["image"], whole["mask"]), "whole tile")
    other = chapter.train_tiles.load_image(1)
    assert_hint(
        evaluate("trn-augment", image, label, transform(image=np.moveaxis(other, 0, -1))["image"], out["mask"]),
        "is not a crop of `tile_image`",
    )


# --- trn-weights --------------------------------------------------------------------------------


def test_weights(chapter: Chapter) -> None:
    from landcover.training.loss import class_weights

    tiles = chapter.train_tiles
    counts = np.zeros(11, dtype=np.int64)
    for index in range(tiles.n_tiles):
        counts += np.bincount(tiles.load_label(index).ravel(), minlength=11)
    frequencies = counts[1:] / counts[1:].sum()
    weights = class_weights(counts)
    assert_passes(evaluate("trn-weights", tiles, counts, frequencies, weights))
    assert_hint(evaluate("trn-weights", tiles, counts[1:], frequencies, weights), "nodata (0) included")
    assert_hint(evaluate("trn-weights", tiles, counts * 2, frequencies, weights), "count every pixel of every tile once")
    assert_hint(evaluate("trn-weights", tiles, counts, counts / counts.sum(), weights), "leave nodata (label 0) out")
    assert_hint(evaluate("trn-weights", tiles, counts, counts[1:] / counts.sum(), weights), "nodata included")
    assert_hint(evaluate("trn-weights", tiles, counts, 100 * frequencies, weights), "percentages")
    inverse = torch.tensor(np.where(frequencies > 0, 1 / np.maximum(frequencies, 1e-12), 0), dtype=torch.float32)
    assert_hint(evaluate("trn-weights", tiles, counts, frequencies, inverse), "class_weights of the training counts")
    assert counts[0] > 0  # the synthetic data's training tiles do hold no-data pixels: the cases above mean something


# --- trn-step -----------------------------------------------------------------------------------


def _hand_steps(chapter: Chapter, *, step: bool = True, backward: bool = True) -> tuple[list, Any, Any]:
    from landcover.training.augment import training_transform
    from landcover.training.dataset import LandCoverTiles
    from landcover.training.loss import SegmentationLoss
    from landcover.training.model import build_model

    crops = LandCoverTiles(chapter.train_records[:4], chapter.normalization, transform=training_transform(crop_size=64))
    batch = next(iter(DataLoader(crops, batch_size=4)))
    torch.manual_seed(0)
    model = build_model("tiny")
    loss_fn = SegmentationLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(HAND_STEPS):
        optimizer.zero_grad()
        loss = loss_fn(model(pixel_values=batch["image"]).logits, batch["mask"])
        if backward:
            loss.backward()
        if step:
            optimizer.step()
        losses.append(loss if not backward else loss.item())
    return losses, model, optimizer


def test_step(chapter: Chapter) -> None:
    losses, model, optimizer = _hand_steps(chapter)
    assert_passes(evaluate("trn-step", losses, model, optimizer))
    # Without the optimiser's step the loss still wobbles (dropout is on in training mode):
    # the check must see that the weights never moved.
    frozen, frozen_model, idle = _hand_steps(chapter, step=False)
    assert_hint(evaluate("trn-step", frozen, frozen_model, idle), "the weights never change")
    tensors, no_grad_model, unused = _hand_steps(chapter, step=False, backward=False)
    assert_hint(evaluate("trn-step", tensors, no_grad_model, unused), "holds tensors")
    assert_hint(evaluate("trn-step", [float(t.detach()) for t in tensors], no_grad_model, unused), "no gradients")
    assert_hint(evaluate("trn-step", losses[:3], model, optimizer), f"the loop makes {HAND_STEPS} steps")
    assert_hint(evaluate("trn-step", losses[::-1], model, optimizer), "it should go down")
    assert_hint(evaluate("trn-step", losses, model, idle), "another model")


# --- trn-fit ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_run(chapter: Chapter) -> tuple[Any, Any, Any]:
    from landcover.training.augment import training_transform
    from landcover.training.dataset import LandCoverTiles
    from landcover.training.loop import TrainConfig, fit
    from landcover.training.loss import SegmentationLoss
    from landcover.training.model import build_model

    config = TrainConfig(model_size="tiny", epochs=2, batch_size=8, crop_size=CROP_SIZE, repeats=1, patience=None, seed=0)
    crops = LandCoverTiles(
        chapter.train_records, chapter.normalization, transform=training_transform(crop_size=CROP_SIZE), cache=True
    )
    torch.manual_seed(0)
    model = build_model("tiny")
    result = fit(model, crops, chapter.val_tiles, config, SegmentationLoss())
    return config, crops, result


@pytest.mark.slow
def test_fit(chapter: Chapter, short_run: tuple[Any, Any, Any]) -> None:
    from landcover.training.augment import training_transform
    from landcover.training.dataset import LandCoverTiles
    from landcover.training.normalization import compute_normalization

    config, crops, result = short_run
    val = chapter.val_tiles
    assert_passes(evaluate("trn-fit", config, crops, val, result))
    assert_hint(evaluate("trn-fit", config, chapter.train_tiles, val, result), "not random crops")
    cropped_val = LandCoverTiles(
        chapter.val_records, chapter.normalization, transform=training_transform(crop_size=CROP_SIZE)
    )
    assert_hint(evaluate("trn-fit", config, crops, cropped_val, result), "validate on whole tiles")
    assert_hint(evaluate("trn-fit", config, crops, chapter.train_tiles, result), "shares")
    leaky = LandCoverTiles(
        chapter.train_records + chapter.val_records[:1],
        chapter.normalization,
        transform=training_transform(crop_size=CROP_SIZE),
    )
    assert_hint(evaluate("trn-fit", config, leaky, val, result), "held-out (validation) tile")
    own_stats = LandCoverTiles(chapter.val_records, compute_normalization(chapter.val_records, progress=False))
    assert_hint(evaluate("trn-fit", config, crops, own_stats, result), "other statistics")
    longer = dataclasses.replace(config, epochs=config.epochs + 3)
    assert_hint(evaluate("trn-fit", longer, crops, val, result), "the config asks for")
    flat = dataclasses.replace(result, history=[dict(h, train_loss=1.0) for h in result.history])
    assert_hint(evaluate("trn-fit", config, crops, val, flat), "should go down")


# --- trn-evaluate -------------------------------------------------------------------------------


def _confusion(tiles: Any) -> np.ndarray:
    """A confusion matrix of a made-up prediction: the reference, with every third row called grassland (6)."""
    from landcover.training.metrics import confusion_matrix

    cm = np.zeros((10, 10), dtype=np.int64)
    for index in range(tiles.n_tiles):
        reference = tiles.load_label(index).astype(np.int64)
        predicted = np.where(reference == 0, 6, reference)
        predicted[::3] = 6
        cm += confusion_matrix(predicted, reference)
    return cm


def test_evaluate(chapter: Chapter) -> None:
    from landcover.training.metrics import scores_from_confusion

    cm = _confusion(chapter.val_tiles)
    tp = np.diag(cm)
    fp, fn = cm.sum(axis=0) - tp, cm.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = tp / (tp + fp + fn)
    miou = np.nanmean(iou)
    assert miou == pytest.approx(scores_from_confusion(cm).miou)
    assert_passes(evaluate("trn-evaluate", cm, fp, fn, iou, miou))
    assert_hint(evaluate("trn-evaluate", cm, fn, fp, iou, miou), "false negatives")
    assert_hint(evaluate("trn-evaluate", cm, cm.sum(axis=0), fn, iou, miou), "still includes the correctly predicted")
    assert_hint(evaluate("trn-evaluate", cm, fp, cm.sum(axis=1), iou, miou), "still includes the correctly predicted")
    assert_hint(evaluate("trn-evaluate", cm, fp, fn, iou, miou + 0.05), "differs from the mean")
    assert_hint(evaluate("trn-evaluate", cm / cm.sum(), fp, fn, iou, miou), "not shares")
    train_cm = _confusion(chapter.train_tiles)
    train_tp = np.diag(train_cm)
    assert_hint(
        evaluate("trn-evaluate", train_cm, train_cm.sum(0) - train_tp, train_cm.sum(1) - train_tp, iou, miou),
        "training tiles",
    )


def test_miou_with_absent_classes() -> None:
    """Classes absent from reference and prediction have no IoU: the mean skips them, NaN or 0 are wrong."""
    from landcover.exercises.checks import Hint
    from landcover.exercises.training import check_miou

    cm = np.zeros((10, 10), dtype=np.int64)
    cm[0, 0], cm[0, 5], cm[5, 5], cm[6, 6] = 80, 20, 50, 30  # classes 1, 6, 7 only
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.diag(cm) / (cm.sum(0) + cm.sum(1) - np.diag(cm))
    check_miou(np.nanmean(iou), cm)
    for wrong, expected in ((np.mean(iou), "is NaN"), (np.nan_to_num(iou).mean(), "absent classes as 0")):
        with pytest.raises(Hint, match=expected):
            check_miou(wrong, cm)


# --- trn-mlflow and trn-load --------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A temporary tracking store for the module (restored afterwards)."""
    import os

    previous_env = os.environ.get("MLFLOW_TRACKING_URI")
    previous = mlflow.get_tracking_uri()
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(previous)
    if previous_env is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous_env


def _log_run(
    chapter: Chapter,
    short_run: tuple[Any, Any, Any],
    *,
    registered: str | None = "default",
    per_epoch: bool = True,
    settings: bool = True,
) -> tuple[str, Any]:
    """Log the short run as the chapter does, with one part changed."""
    from landcover.training.model import build_model, module_name
    from landcover.training.tracking import CHAPTER_MODEL_NAME, ensure_experiment, log_model, model_params

    config, _, result = short_run
    params = model_params(
        chapter.normalization, tiles_size=config.tiles_size, augment_size=config.network_size,
        module_name=module_name(config.model_size),
    )
    torch.manual_seed(1)
    model = build_model("tiny")
    with mlflow.start_run(experiment_id=ensure_experiment("chapter-2-checks")) as run:
        mlflow.log_params(params)
        if settings:
            mlflow.log_params({k: v for k, v in dataclasses.asdict(config).items() if k not in params})
        for row in result.history if per_epoch else result.history[-1:]:
            mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=row["epoch"] if per_epoch else 0)
        mlflow.log_metrics(result.best_scores.as_dict("best_val_"))
        name = CHAPTER_MODEL_NAME if registered == "default" else registered
        info = log_model(model, params, registered_model_name=name)
    return run.info.run_id, info


@pytest.mark.slow
def test_mlflow(chapter: Chapter, short_run: tuple[Any, Any, Any], store: str) -> None:
    from landcover.training.tracking import MODEL_NAME

    run_id, info = _log_run(chapter, short_run)
    assert_passes(evaluate("trn-mlflow", run_id, info))
    assert_hint(evaluate("trn-mlflow", "0123456789abcdef", info), "no run")
    assert_hint(evaluate("trn-mlflow", run_id, None), "not registered")
    other_run, other_info = _log_run(chapter, short_run)
    assert_hint(evaluate("trn-mlflow", run_id, other_info), "log the model inside the run")
    assert_hint(evaluate("trn-mlflow", *_log_run(chapter, short_run, registered=None)), "not registered")
    assert_hint(evaluate("trn-mlflow", *_log_run(chapter, short_run, registered="my-model")), "another name")
    assert_hint(evaluate("trn-mlflow", *_log_run(chapter, short_run, registered=MODEL_NAME)), "pre-trained model's name")
    assert_hint(evaluate("trn-mlflow", *_log_run(chapter, short_run, per_epoch=False)), "log one per epoch")
    assert_hint(evaluate("trn-mlflow", *_log_run(chapter, short_run, settings=False)), "training settings")


@pytest.mark.slow
def test_load(chapter: Chapter, short_run: tuple[Any, Any, Any], store: str) -> None:
    from landcover.data import read_tile
    from landcover.inference.params import params_from_run
    from landcover.inference.predict import predict_tile
    from landcover.training.tracking import CHAPTER_MODEL_NAME, MODEL_NAME

    run_id, info = _log_run(chapter, short_run)
    uri = f"models:/{CHAPTER_MODEL_NAME}/{info.registered_model_version}"
    model = mlflow.pyfunc.load_model(uri)
    params = params_from_run(run_id)
    record = chapter.val_records[0]
    tile = read_tile(record.nuts, record.year, record.stem)["array"]
    predicted = predict_tile(model, tile, params)
    assert_passes(evaluate("trn-load", uri, params, predicted))
    assert_hint(evaluate("trn-load", info.model_uri.replace("models:/", "runs:/"), params, predicted), "registry address")
    assert_hint(evaluate("trn-load", f"models:/other-model/{info.registered_model_version}", params, predicted),
                "chapter registers")
    assert_hint(evaluate("trn-load", f"models:/{MODEL_NAME}/1", params, predicted), "the pre-trained model")
    assert_hint(evaluate("trn-load", f"models:/{CHAPTER_MODEL_NAME}/latest", params, predicted), "name the version")
    assert_hint(evaluate("trn-load", uri, mlflow.get_run(run_id).data.params, predicted), "holds text")
    earlier_id, _ = _log_run(chapter, short_run)
    changed = dict(params_from_run(earlier_id), module_name="segformer-b0")
    assert_hint(evaluate("trn-load", uri, changed, predicted), "not the parameters of the run")
    assert_hint(evaluate("trn-load", uri, params, predicted - 1), "channel numbers")
    quarter = model.predict(np.zeros((1, 14, 250, 250), dtype=np.float32))[0].argmax(axis=0) + 1
    assert_hint(evaluate("trn-load", uri, params, quarter.astype(np.uint8)), "quarter resolution")
    mean = np.asarray(params["normalization_mean"])[:, None, None]
    std = np.asarray(params["normalization_std"])[:, None, None]
    twice = predict_tile(model, (tile - mean) / std, params)
    if not np.array_equal(twice, predicted):  # an untrained model may predict one class whatever the input
        assert_hint(evaluate("trn-load", uri, params, twice), "normalised twice")

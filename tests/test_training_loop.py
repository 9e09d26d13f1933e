"""The training loop: it learns, it checkpoints, it resumes exactly, it stops early."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from tests.support.toy import write_toy_dataset

from landcover.inference.logits import forward_logits
from landcover.training.augment import training_transform
from landcover.training.dataset import LandCoverTiles
from landcover.training.io import labelled_records
from landcover.training.loop import (
    CHECKPOINT_BEST,
    CHECKPOINT_LAST,
    TrainConfig,
    autocast_dtype,
    configure_threads,
    evaluate,
    fit,
    load_checkpoint,
    pixel_weight_total,
    train_one_epoch,
)
from landcover.training.loss import SegmentationLoss, class_weights
from landcover.training.model import build_model
from landcover.training.normalization import compute_normalization
from landcover.training.split import split_by_region

SIZE = 48
CONFIG = TrainConfig(epochs=2, batch_size=4, lr=5e-3, crop_size=32, tiles_size=SIZE, eval_batch_size=4, seed=11,
                     patience=None)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = write_toy_dataset(tmp_path_factory.mktemp("toy") / "data", grid=(3, 2), size=SIZE)
    split = split_by_region(labelled_records(str(root)), ["BB002"])
    stats = compute_normalization(split.train, progress=False)
    train = LandCoverTiles(split.train, stats, cache=True, seed=CONFIG.seed,
                           transform=training_transform(crop_size=CONFIG.crop_size, tiles_size=SIZE))
    val = LandCoverTiles(split.val, stats, cache=True)
    plain_train = LandCoverTiles(split.train, stats, cache=True)
    weights = class_weights(train.label_counts(progress=False))
    return train, val, plain_train, weights


def _new_model():
    torch.manual_seed(0)
    return build_model("tiny")


def test_one_epoch_on_a_few_tiles_lowers_the_loss(datasets):
    train, _, plain_train, weights = datasets
    configure_threads()
    model = _new_model()
    loss_fn = SegmentationLoss(weights)
    loader = torch.utils.data.DataLoader(plain_train, batch_size=4)
    before, _ = evaluate(model, loader, loss_fn)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    train_loader = torch.utils.data.DataLoader(train, batch_size=4, shuffle=True)
    for _ in range(3):  # three short passes over 12 tiles = one small "epoch" of 9 steps
        train_one_epoch(model, train_loader, loss_fn, optimizer)
    after, matrix = evaluate(model, loader, loss_fn)
    assert after < 0.9 * before
    assert matrix.matrix.sum() == sum(int((plain_train.load_label(i) > 0).sum()) for i in range(len(plain_train)))


def test_fit_logs_every_epoch_and_writes_checkpoints(datasets, tmp_path):
    train, val, _, weights = datasets
    seen = []
    result = fit(_new_model(), train, val, CONFIG, SegmentationLoss(weights), checkpoint_dir=tmp_path,
                 on_epoch_end=lambda epoch, metrics, scores, cm: seen.append((epoch, metrics["val_miou"], cm.sum())))
    assert [s[0] for s in seen] == [1, 2]
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert {"train_loss", "val_loss", "val_miou", "val_accuracy", "lr"} <= set(result.history[0])
    assert result.best_miou == max(s[1] for s in seen)
    assert result.best_scores.miou == pytest.approx(result.best_miou)
    state = load_checkpoint(tmp_path / CHECKPOINT_LAST)
    assert state["epoch"] == 2 and {"model", "optimizer", "scheduler", "rng", "history"} <= set(state)
    assert load_checkpoint(tmp_path / CHECKPOINT_BEST)["epoch"] == result.best_epoch


def test_evaluate_reports_one_mean_over_the_labelled_pixels_whatever_the_batch_size(datasets):
    _, _, plain_train, weights = datasets
    model = _new_model().eval()
    loss_fn = SegmentationLoss(weights)
    masks = torch.stack([plain_train[i]["mask"] for i in range(len(plain_train))])
    # the tiles' pixels weigh differently (other classes), so a mean of batch means would change with the batch size
    assert len({round(pixel_weight_total(loss_fn, m[None]), 3) for m in masks}) > 1
    by_batch = {size: evaluate(model, torch.utils.data.DataLoader(plain_train, batch_size=size), loss_fn)[0]
                for size in (1, 4)}
    with torch.no_grad():
        images = torch.stack([plain_train[i]["image"] for i in range(len(plain_train))])
        all_at_once = float(loss_fn(forward_logits(model, images), masks))  # every tile in one batch
        per_tile = [float(loss_fn(forward_logits(model, images[i : i + 1]), masks[i : i + 1]))
                    for i in range(len(masks))]
    assert by_batch[1] == pytest.approx(all_at_once, rel=1e-5)
    assert by_batch[4] == pytest.approx(all_at_once, rel=1e-5)
    assert np.mean(per_tile) != pytest.approx(all_at_once, rel=1e-4)  # what the mean of batch means would say


def test_fit_and_evaluate_report_the_same_validation_loss(datasets):
    train, val, _, weights = datasets
    model = _new_model()
    loss_fn = SegmentationLoss(weights)
    result = fit(model, train, val, replace(CONFIG, eval_batch_size=3), loss_fn)  # ends with the best weights
    best = result.history[result.best_epoch - 1]
    val_loss, matrix = evaluate(model, torch.utils.data.DataLoader(val, batch_size=2), loss_fn)
    assert val_loss == pytest.approx(best["val_loss"], rel=1e-5)
    assert matrix.scores().miou == pytest.approx(best["val_miou"])


class _Interrupted(Exception):
    pass


def test_resuming_from_a_checkpoint_gives_the_same_state(datasets, tmp_path):
    train, val, _, weights = datasets
    straight = _new_model()
    fit(straight, train, val, CONFIG, SegmentationLoss(weights), checkpoint_dir=tmp_path / "straight",
        restore_best=False)

    def stop_after_first(epoch, *_):
        if epoch == 1:
            raise _Interrupted

    interrupted = _new_model()
    with pytest.raises(_Interrupted):
        fit(interrupted, train, val, CONFIG, SegmentationLoss(weights), checkpoint_dir=tmp_path / "split",
            on_epoch_end=stop_after_first)
    assert load_checkpoint(tmp_path / "split" / CHECKPOINT_LAST)["epoch"] == 1

    resumed = build_model("tiny")  # fresh weights: everything must come from the checkpoint
    result = fit(resumed, train, val, CONFIG, SegmentationLoss(weights), checkpoint_dir=tmp_path / "split",
                 resume_from=tmp_path / "split" / CHECKPOINT_LAST, restore_best=False)
    assert [h["epoch"] for h in result.history] == [1, 2]
    for name, tensor in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
    a = load_checkpoint(tmp_path / "straight" / CHECKPOINT_LAST)
    b = load_checkpoint(tmp_path / "split" / CHECKPOINT_LAST)
    assert a["history"][-1]["train_loss"] == pytest.approx(b["history"][-1]["train_loss"], rel=1e-5)
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]
    with pytest.raises(ValueError, match="lr"):
        fit(build_model("tiny"), train, val, replace(CONFIG, lr=1.0), SegmentationLoss(weights),
            resume_from=tmp_path / "split" / CHECKPOINT_LAST)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_checkpoint(tmp_path / "nowhere.pt")


def test_early_stopping_watches_validation_miou(datasets):
    train, val, _, weights = datasets
    # no later epoch can beat the first by a whole mIoU point of 1.0: patience runs out after 2 more
    frozen = replace(CONFIG, epochs=6, patience=2, min_delta=1.0)
    result = fit(_new_model(), train, val, frozen, SegmentationLoss(weights))
    assert result.stopped_early and len(result.history) == 3 and result.best_epoch == 1


def test_mixed_precision_only_on_cuda():
    assert autocast_dtype(torch.device("cpu"), True) is None
    model = _new_model().eval()
    logits = forward_logits(model, torch.zeros(1, 14, 32, 32))
    assert logits.dtype == torch.float32 and logits.shape == (1, 10, 8, 8)
    assert np.isfinite(logits.detach().numpy()).all()


def test_a_weights_only_checkpoint_is_not_a_training_state(tmp_path):
    from landcover.training.loop import TrainingState

    torch.save({"model": {}, "epoch": 1, "miou": 0.5}, tmp_path / CHECKPOINT_BEST)
    with pytest.raises(ValueError, match=r"best\.pt is not a full training checkpoint: it lacks optimizer"):
        TrainingState.load(tmp_path / CHECKPOINT_BEST)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        TrainingState.load(tmp_path / "nowhere.pt")


def test_validating_only_the_last_epochs_trains_the_same_and_keeps_the_validated_best(datasets, tmp_path):
    train, val, _, weights = datasets
    every = replace(CONFIG, epochs=3)
    late = replace(every, validate_from=3)
    seen = []
    full = fit(_new_model(), train, val, every, SegmentationLoss(weights), restore_best=False)
    model = _new_model()
    result = fit(model, train, val, late, SegmentationLoss(weights), checkpoint_dir=tmp_path,
                 on_epoch_end=lambda epoch, metrics, scores, cm: seen.append((epoch, scores is None, cm is None)))
    assert seen == [(1, True, True), (2, True, True), (3, False, False)]
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert "val_miou" not in result.history[0] and {"train_loss", "lr", "epoch_seconds"} <= set(result.history[0])
    # skipping validation draws nothing at random: the training is the same epoch for epoch
    assert [h["train_loss"] for h in result.history] == pytest.approx([h["train_loss"] for h in full.history], rel=1e-5)
    assert result.best_epoch == 3 and result.best_miou == pytest.approx(full.history[2]["val_miou"])
    assert load_checkpoint(tmp_path / CHECKPOINT_BEST)["epoch"] == 3


def test_early_stopping_counts_only_validated_epochs(datasets):
    train, val, _, weights = datasets
    frozen = replace(CONFIG, epochs=5, patience=1, min_delta=1.0, validate_from=3)
    result = fit(_new_model(), train, val, frozen, SegmentationLoss(weights))
    assert result.stopped_early and len(result.history) == 4 and result.best_epoch == 3


@pytest.mark.parametrize("validate_from", [0, 3])
def test_a_validate_from_outside_the_run_is_refused_by_name(datasets, validate_from):
    train, val, _, weights = datasets
    with pytest.raises(ValueError, match=r"validate_from must be between 1 and epochs \(2\)"):
        fit(_new_model(), train, val, replace(CONFIG, validate_from=validate_from), SegmentationLoss(weights))

"""Train and publish the pre-trained model (``make model``), so chapter 3 runs without chapter 2.

``python -m landcover.training.pretrained`` trains the small default
SegFormer on the synthetic data (``data/synthetic``), validates it on spatial
blocks never seen in training, and publishes it in both forms:

- a version of ``segmentation-sentinel2-model`` in the MLflow registry of the
  active tracking URI (the project's local store by default), which the alias
  ``champion`` points at (``models:/segmentation-sentinel2-model@champion``);
- the published-artifacts layout under the data root,
  ``mlflow-artifacts/{experiment_id}/{run_id}/artifacts/{model/,params.json}``
  (written by :mod:`landcover.training.publish`, read by :mod:`landcover.inference.loading`).

It does nothing when both are already there and the model loads ("pre-trained
model present"); ``--force`` retrains.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from landcover.config import data_root, is_remote
from landcover.synthetic.manifest import MANIFEST_NAME
from landcover.training.loop import TrainConfig

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from landcover.inference.loading import PublishedModel
    from landcover.training.io import TileRecord
    from landcover.training.pipeline import TrainingRun
    from landcover.training.split import Split

#: The marker the synthetic-data generator writes last (the synthetic data is complete when it exists).
SYNTHETIC_MARKER = MANIFEST_NAME
#: MLflow experiment of the pre-trained model.
PRETRAINED_EXPERIMENT = "pretrained-model"

#: Settings of the pre-trained model: the ``tiny`` SegFormer on tiles upsampled 2x
#: (``augment_size`` 500, so its 1/4-resolution logits fall every 2 pixels of
#: the 10 m tiles, as the original's 512), trained on random 96-pixel crops
#: (48 x 48 original pixels) in batches of 8, each tile cropped 8 times per
#: epoch; validated on whole held-out tiles after the last two epochs only (a
#: validation pass costs half an epoch of training, and the one-cycle schedule
#: ends near its best: validated after every epoch, epoch 10 was the best).
PRETRAINED_CONFIG = TrainConfig(
    model_size="tiny",
    epochs=10,
    batch_size=8,
    lr=1.5e-3,
    weight_decay=0.05,
    pct_start=0.15,
    crop_size=96,
    repeats=8,
    tiles_size=250,
    augment_size=500,
    patience=None,
    validate_from=9,
    seed=2026,
)
#: How the synthetic data is split: 10 km blocks (4 x 4 tiles), about 20 % of the
#: locations held out; the block draw is the first one whose held-out tiles
#: contain all ten classes (see :func:`~landcover.training.split.first_seed_covering_classes`).
PRETRAINED_SPLIT = {"block_size_m": 10_000.0, "val_fraction": 0.2}


def with_epochs(config: TrainConfig, epochs: int) -> TrainConfig:
    """``config`` for ``epochs`` epochs, validating as many last epochs as it does (at least the last one).

    ``--epochs`` of ``python -m landcover.training.pretrained`` and of the
    benchmark use it: a shorter run still validates its own last epochs.
    """
    validated = config.epochs - config.validate_from + 1
    return replace(config, epochs=epochs, validate_from=max(1, epochs - validated + 1))


def pretrained_split(records: Sequence[TileRecord], *, progress: bool = False) -> Split:
    """The pre-trained model's split of ``records``: its held-out tiles are the honest test set.

    Chapter 2 rebuilds it step by step; later chapters call this to judge the
    pre-trained model only on tiles it never saw.
    """
    from landcover.training.split import first_seed_covering_classes, split_by_blocks

    seed = first_seed_covering_classes(records, progress=progress, **PRETRAINED_SPLIT)
    return split_by_blocks(records, seed=seed, **PRETRAINED_SPLIT)


def pretrained_config_key(config: TrainConfig | None = None) -> str:
    """A short fingerprint of the pre-trained model's settings: a published model made with others is rebuilt."""
    import hashlib

    config = PRETRAINED_CONFIG if config is None else config
    from landcover.training.model import MODEL_SIZES

    text = json.dumps([asdict(config), PRETRAINED_SPLIT, MODEL_SIZES[config.model_size]], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_synthetic_data(root: str) -> None:
    if is_remote(root):
        raise SystemExit(f"the pre-trained model is published under a local data root; {root} is remote")
    if not (Path(root) / SYNTHETIC_MARKER).exists():
        raise SystemExit(
            f"no complete synthetic data at {root} ({SYNTHETIC_MARKER} missing): run `make data` "
            "(python -m landcover.synthetic --out data/synthetic) first"
        )


def set_champion_alias(version: str | int) -> None:
    """Point the registry alias ``champion`` of the book's model at ``version`` (the pre-trained model's)."""
    from mlflow import MlflowClient

    from landcover.training.tracking import CHAMPION_ALIAS, MODEL_NAME

    MlflowClient().set_registered_model_alias(MODEL_NAME, CHAMPION_ALIAS, str(version))


def _champion_note(versions: Sequence[ModelVersion], run_id: str) -> str:
    """Make sure the alias ``champion`` names a version of ``run_id``; say what it points at.

    Sets the alias when the registry has none (a registry made before the alias
    existed gets it without retraining); an alias moved on purpose to another
    version is left where it is.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from landcover.training.tracking import CHAMPION_ALIAS, MODEL_NAME

    ours = max((v for v in versions if v.run_id == run_id), key=lambda v: int(v.version))
    try:
        current = MlflowClient().get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS)
    except MlflowException:
        current = None
    if current is None:
        set_champion_alias(ours.version)
        return f"alias {CHAMPION_ALIAS} set to version {ours.version}"
    if current.run_id != run_id:
        return f"alias {CHAMPION_ALIAS} left on version {current.version}, another run's"
    return f"{MODEL_NAME}@{CHAMPION_ALIAS} = version {current.version}"


def pretrained_model_status(root: str | None = None) -> tuple[bool, str]:
    """``(present, reason)``: whether a loadable published model exists and is registered here.

    When it is, the registry alias ``champion`` is set on its version if the
    registry has no such alias yet (see :func:`_champion_note`).
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    from landcover.inference.loading import load_published_model, published_index, published_model_location
    from landcover.training.tracking import MODEL_NAME

    root = data_root() if root is None else root
    try:
        published = published_model_location(root)
    except FileNotFoundError:
        return False, "no published model under the data root"
    index = published_index(root) or {}
    if index.get("pretrained_config") != pretrained_config_key():
        return False, "the published model was trained with other settings"
    try:
        load_published_model(published)
    except Exception as error:  # a broken copy must be rebuilt, whatever the cause
        return False, f"the published model at {published.location} does not load ({error})"
    try:
        versions = mlflow.MlflowClient().search_model_versions(f"name = '{MODEL_NAME}'")
    except MlflowException as error:
        return False, f"the registry cannot be read ({error})"
    if not any(v.run_id == published.run_id for v in versions):
        return False, f"run {published.run_id} is not registered as {MODEL_NAME} in {mlflow.get_tracking_uri()}"
    try:
        note = _champion_note(versions, published.run_id)
    except MlflowException as error:  # a registry that refuses aliases still holds the model
        note = f"alias champion not set: {error}"
    return True, f"{published.location} (run {published.run_id}; {note})"


def train_pretrained_model(
    root: str | None = None,
    *,
    config: TrainConfig = PRETRAINED_CONFIG,
    experiment: str = PRETRAINED_EXPERIMENT,
    publish_root: str | None = None,
    progress: bool = True,
) -> tuple[TrainingRun, PublishedModel]:
    """Train on the synthetic data, register the model and publish it; returns ``(TrainingRun, PublishedModel)``.

    The new version gets the registry alias ``champion``, so
    ``models:/segmentation-sentinel2-model@champion`` always names the pre-trained
    model. ``publish_root``: where the published-artifacts layout goes (default: ``root``).
    """
    from landcover.training.io import labelled_records
    from landcover.training.pipeline import train_model
    from landcover.training.publish import publish_run

    root = data_root() if root is None else root
    records = labelled_records(root)
    split = pretrained_split(records, progress=progress)
    checkpoints = Path(tempfile.mkdtemp(prefix="pretrained-model-checkpoints-"))
    try:
        run = train_model(
            records,
            split=split,
            config=config,
            experiment=experiment,
            run_name="pretrained-model",
            checkpoint_dir=checkpoints,
            progress=progress,
            tags={"data": "synthetic data (not real imagery)", "data_root": root},
        )
    finally:
        shutil.rmtree(checkpoints, ignore_errors=True)
    if run.registered_version is not None:
        set_champion_alias(run.registered_version)
    published = publish_run(
        run.run_id, publish_root or root, model_uri=run.model_uri, model_name="segmentation-sentinel2-model",
        model_version=run.registered_version, extra={"pretrained_config": pretrained_config_key(config)},
    )
    return run, published


def _report(run: TrainingRun, published: PublishedModel, seconds: float) -> str:
    """The summary printed after training: validation scores per class, where the model went."""
    from landcover.classes import CLASSES

    scores = run.fit.best_scores
    lines = [
        f"pre-trained model trained in {seconds / 60:.1f} min ({run.fit.train_seconds:.0f} s in the training loop), "
        f"best epoch {run.fit.best_epoch}",
        f"validation ({run.data.split.description}; {len(run.data.split.val)} tiles): "
        f"mIoU {scores.miou:.3f}, overall accuracy {scores.overall_accuracy:.3f}",
    ]
    for klass in CLASSES:
        k = klass.id - 1
        if scores.present[k]:
            lines.append(f"  {klass.id:>2} {klass.name:<36} IoU {scores.iou[k]:.3f}  F1 {scores.f1[k]:.3f}")
        else:
            lines.append(f"  {klass.id:>2} {klass.name:<36} absent from the validation tiles")
    lines += [
        f"registered: models:/segmentation-sentinel2-model/{run.registered_version} (run {run.run_id}), "
        "alias champion",
        f"published: {published.location}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``make model``: train and publish unless a pre-trained model with the current settings is present."""
    parser = argparse.ArgumentParser(
        prog="python -m landcover.training.pretrained",
        description="Train the pre-trained model on the synthetic data and publish it.",
    )
    parser.add_argument("--force", action="store_true", help="retrain even when a pre-trained model is present")
    parser.add_argument("--data-root", default=None, help="local synthetic-data folder (default: the active data root)")
    parser.add_argument("--epochs", type=int, default=None, help=f"epochs (default {PRETRAINED_CONFIG.epochs})")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    import mlflow

    root = args.data_root or data_root()
    if not is_remote(root):
        root = str(Path(root).resolve())
    _check_synthetic_data(root)
    if not args.force:
        present, reason = pretrained_model_status(root)
        if present:
            print(f"pre-trained model present: {reason}")
            return 0
        print(f"training the pre-trained model: {reason}")
    config = PRETRAINED_CONFIG if args.epochs is None else with_epochs(PRETRAINED_CONFIG, args.epochs)
    print(f"MLflow tracking URI: {mlflow.get_tracking_uri()}")
    print(f"settings: {json.dumps(asdict(config))}")
    started = time.perf_counter()
    run, published = train_pretrained_model(root, config=config, progress=not args.quiet)
    print(_report(run, published, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())

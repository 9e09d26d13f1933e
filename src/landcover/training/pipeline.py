"""One call from tiles to a registered model: split, normalise, train, evaluate, log, register.

:func:`train_model` strings the pieces of :mod:`landcover.training` together
the way chapter 2 explains them one by one:

1. an honest split (:mod:`~landcover.training.split`);
2. normalisation statistics from the training tiles only;
3. class weights from the training labels;
4. a SegFormer of the chosen size, trained with early stopping on validation mIoU;
5. MLflow: parameters (the ``params.json`` contract as strings, plus the
   training settings), metrics per epoch, the confusion-matrix figure, and the
   model as a pyfunc registered as ``segmentation-sentinel2-model``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from landcover.config import data_root, project_root
from landcover.data.normalization import Normalization
from landcover.training.augment import evaluation_transform, training_transform
from landcover.training.dataset import LandCoverTiles
from landcover.training.io import TileRecord, labelled_records
from landcover.training.loop import FitResult, TrainConfig, configure_threads, fit
from landcover.training.loss import SegmentationLoss, class_weights
from landcover.training.metrics import Scores, plot_confusion_matrix
from landcover.training.model import build_model, count_parameters, module_name
from landcover.training.normalization import compute_normalization, normalization_from_yaml
from landcover.training.split import Split, spatial_split
from landcover.training.tracking import (
    DEFAULT_EXPERIMENT,
    MODEL_NAME,
    ensure_experiment,
    log_figure,
    log_model,
    model_params,
)


@dataclass
class PreparedData:
    """Everything :func:`prepare_data` builds before training."""

    split: Split
    normalization: Normalization
    train: LandCoverTiles
    val: LandCoverTiles
    label_counts: np.ndarray
    class_weights: np.ndarray


@dataclass
class TrainingRun:
    """What :func:`train_model` returns."""

    model: Any
    fit: FitResult
    data: PreparedData
    params: dict[str, str]
    run_id: str | None = None
    experiment_id: str | None = None
    model_uri: str | None = None
    registered_version: str | None = None


def prepare_data(
    records: Sequence[TileRecord],
    config: TrainConfig,
    *,
    split: Split | None = None,
    val_regions: Sequence[str] | None = None,
    block_size_m: float = 10_000.0,
    val_fraction: float = 0.2,
    normalization: str | Normalization = "train",
    cache: bool = True,
    progress: bool = True,
) -> PreparedData:
    """Split, normalisation, datasets and class weights for ``config``.

    ``normalization``: ``"train"`` computes it over the training tiles,
    ``"yaml"`` pools the published ``metrics-normalization.yaml`` files of the
    training folders, or pass a :class:`Normalization`.
    """
    if split is None:
        split = spatial_split(
            records, val_regions=val_regions, block_size_m=block_size_m, val_fraction=val_fraction, seed=config.seed
        )
    if isinstance(normalization, Normalization):
        stats = normalization
    elif normalization == "train":
        stats = compute_normalization(split.train, progress=progress)
    elif normalization == "yaml":
        stats = normalization_from_yaml(split.train)
    else:
        raise ValueError(f"normalization must be 'train', 'yaml' or a Normalization, got {normalization!r}")
    train = LandCoverTiles(
        split.train,
        stats,
        transform=training_transform(
            crop_size=config.crop_size, augment_size=config.augment_size, tiles_size=config.tiles_size
        ),
        cache=cache,
        seed=config.seed,
        repeats=config.repeats,
    )
    val = LandCoverTiles(
        split.val,
        stats,
        image_transform=evaluation_transform(augment_size=config.augment_size, tiles_size=config.tiles_size),
        cache=cache,
    )
    if cache:
        train.preload(progress)
        val.preload(progress)
    shape = train.load_label(0).shape
    if shape != (config.tiles_size, config.tiles_size):
        raise ValueError(
            f"tiles_size={config.tiles_size} but the tiles are {shape[0]} x {shape[1]} pixels "
            f"(e.g. {split.train[0].image}); set TrainConfig(tiles_size=...)"
        )
    counts = train.label_counts(progress)
    weights = class_weights(counts, power=config.class_weight_power).numpy()
    return PreparedData(split, stats, train, val, counts, weights)


def _log_epoch(epoch: int, metrics: dict[str, float], *_: Any) -> None:
    import mlflow

    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)}, step=epoch)


def train_model(
    records: Sequence[TileRecord] | None = None,
    *,
    config: TrainConfig | None = None,
    data: PreparedData | None = None,
    split: Split | None = None,
    val_regions: Sequence[str] | None = None,
    block_size_m: float = 10_000.0,
    val_fraction: float = 0.2,
    normalization: str | Normalization = "train",
    experiment: str = DEFAULT_EXPERIMENT,
    run_name: str | None = None,
    registered_model_name: str | None = MODEL_NAME,
    track: bool = True,
    checkpoint_dir: str | Path | None = None,
    resume_from: str | Path | None = None,
    root: str | None = None,
    progress: bool = True,
    tags: dict[str, str] | None = None,
) -> TrainingRun:
    """Train a SegFormer on labelled tiles and (with ``track``) log and register it in MLflow.

    ``records``: the labelled tiles (default: every labelled tile under the
    data root ``root``). ``split``: a ready :class:`Split`; else
    ``val_regions`` are held out for validation, or spatial blocks of
    ``block_size_m``. ``data``: everything already prepared by :func:`prepare_data`. ``checkpoint_dir``:
    where ``last.pt``/``best.pt`` go (default ``<project>/checkpoints/<run>``).
    ``registered_model_name=None`` logs the model without registering it.
    """
    config = config or TrainConfig()
    configure_threads(config.threads)
    if data is None:
        records = list(records) if records is not None else labelled_records(root or data_root())
        data = prepare_data(
            records, config, split=split, val_regions=val_regions, block_size_m=block_size_m,
            val_fraction=val_fraction, normalization=normalization, progress=progress,
        )
    import torch

    torch.manual_seed(config.seed)
    model = build_model(config.model_size, n_bands=data.normalization.n_bands)
    loss_fn = SegmentationLoss(
        torch.tensor(data.class_weights), gamma=config.focal_gamma if config.loss == "focal" else 0.0
    )
    params = model_params(
        data.normalization,
        tiles_size=config.tiles_size,
        augment_size=config.network_size,
        module_name=module_name(config.model_size),
    )
    run_info: dict[str, Any] = {}

    def run_fit(
        on_epoch_end: Callable[[int, dict[str, float], Scores | None, np.ndarray | None], None] | None,
        directory: Path,
    ) -> FitResult:
        return fit(
            model, data.train, data.val, config, loss_fn,
            checkpoint_dir=directory, resume_from=resume_from, on_epoch_end=on_epoch_end, progress=progress,
        )

    if not track:
        if checkpoint_dir is not None:
            return TrainingRun(model, run_fit(None, Path(checkpoint_dir)), data, params)
        with tempfile.TemporaryDirectory(prefix="checkpoints-") as scratch:
            return TrainingRun(model, run_fit(None, Path(scratch)), data, params)

    import mlflow

    experiment_id = ensure_experiment(experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        run_info["run_id"] = run.info.run_id
        directory = Path(checkpoint_dir) if checkpoint_dir else project_root() / "checkpoints" / run.info.run_id
        settings = {k: ("None" if v is None else str(v)) for k, v in asdict(config).items()}
        mlflow.log_params(
            {
                **settings,
                **params,  # the params.json contract wins: augment_size is the size the network really saw
                "split_strategy": data.split.strategy,
                "split": data.split.description,
                "n_train_tiles": str(len(data.split.train)),
                "n_val_tiles": str(len(data.split.val)),
                "train_regions": ",".join(sorted({r.nuts for r in data.split.train})),
                "val_regions": ",".join(sorted({r.nuts for r in data.split.val})),
                "class_weights": json.dumps([round(float(w), 4) for w in data.class_weights]),
                "n_parameters": str(count_parameters(model)),
            }
        )
        mlflow.set_tags({"task": "semantic segmentation", "classes": "CLC+ Backbone 1-10", **(tags or {})})
        result = run_fit(_log_epoch, directory)
        if result.best_scores is not None:
            best = result.best_scores.as_dict("best_val_")
            mlflow.log_metrics({k: v for k, v in best.items() if np.isfinite(v)})
            mlflow.log_metric("best_epoch", result.best_epoch)
            mlflow.log_metric("train_seconds", result.train_seconds)
            figure = plot_confusion_matrix(
                result.best_confusion,
                title=f"Validation confusion matrix, epoch {result.best_epoch} "
                f"(mIoU {result.best_miou:.3f}, {data.split.description})",
            )
            log_figure(figure, "confusion_matrix.png")
            mlflow.log_text(result.best_scores.table().to_csv(index=False), "per_class_scores.csv")
            mlflow.log_text(
                json.dumps(result.best_confusion.tolist()), "confusion_matrix.json"
            )
        mlflow.log_text(data.split.summary().to_csv(index=False), "split.csv")
        info = log_model(model, params, registered_model_name=registered_model_name)
    return TrainingRun(
        model=model,
        fit=result,
        data=data,
        params=params,
        run_id=run_info["run_id"],
        experiment_id=experiment_id,
        model_uri=info.model_uri,
        registered_version=None if info.registered_model_version is None else str(info.registered_model_version),
    )

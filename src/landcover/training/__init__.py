"""Training the land-cover segmentation model (chapter 2 of the book).

Modules, each with one job:

- :mod:`~landcover.training.io`: labelled tiles of the data root as :class:`TileRecord` s;
- :mod:`~landcover.training.split`: the honest (spatial, cross-year) train/validation split;
- :mod:`~landcover.training.normalization`: per-band statistics of the training tiles
  (:class:`Normalization` is :class:`landcover.data.normalization.Normalization`, re-exported);
- :mod:`~landcover.training.augment`: flips and 90-degree rotations for image and mask;
- :mod:`~landcover.training.dataset`: PyTorch datasets with ``plot(sample)``;
- :mod:`~landcover.training.model`: SegFormer sizes (``tiny``, ``b0``..``b5``), built from a config;
- :mod:`~landcover.training.loss`: class-weighted cross-entropy / focal loss ignoring nodata;
- :mod:`~landcover.training.metrics`: confusion matrix, IoU, F1, mIoU, accuracy, plot;
- :mod:`~landcover.training.loop`: the seeded, resumable training loop with early stopping;
- :mod:`~landcover.training.tracking` and :mod:`~landcover.training.pyfunc`: MLflow;
- :mod:`~landcover.training.pipeline`: :func:`train_model`, everything in one call;
- :mod:`~landcover.training.publish`: writing the published-artifacts layout under the data root
  (finding and loading a published model is :mod:`landcover.inference`);
- :mod:`~landcover.training.pretrained`: ``make model``.

Names below are imported lazily, so ``import landcover.training`` stays cheap.

Importing this package also sets ``OMP_WAIT_POLICY=PASSIVE`` (unless set) for
PyTorch's OpenMP threads, which takes effect when torch is imported after it.
With spinning threads, two processes sharing the cores make each other's
threads spin on barriers: on a 2-core machine one training step then took
4.6 s instead of 0.12 s. Sleeping threads have a price when a process has the
cores to itself: a SegFormer step is hundreds of small parallel operations,
and waking the second thread for each one leaves it idle most of the time
(1.2 cores used instead of 1.9; an epoch of the pre-trained model took 34 s
instead of 22 s). ``make model``, which runs alone, therefore sets
``GOMP_SPINCOUNT=300000``: threads spin that many iterations (well under a
millisecond) before sleeping, which overrides the passive policy. Set it
yourself, before torch is imported, for any training that has the machine to
itself; never for two such processes at once.
"""

from __future__ import annotations

import importlib
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_EXPORTS = {
    "TileRecord": "io",
    "labelled_records": "io",
    "tile_records": "io",
    "Split": "split",
    "spatial_split": "split",
    "split_by_region": "split",
    "split_by_blocks": "split",
    "check_disjoint": "split",
    "Normalization": "normalization",
    "compute_normalization": "normalization",
    "normalization_from_yaml": "normalization",
    "training_transform": "augment",
    "evaluation_transform": "augment",
    "LandCoverTiles": "dataset",
    "Sentinel2Tiles": "dataset",
    "MODEL_SIZES": "model",
    "build_model": "model",
    "segformer_config": "model",
    "SegmentationLoss": "loss",
    "class_weights": "loss",
    "labels_to_targets": "loss",
    "ConfusionMatrix": "metrics",
    "confusion_matrix": "metrics",
    "scores_from_confusion": "metrics",
    "plot_confusion_matrix": "metrics",
    "TrainConfig": "loop",
    "fit": "loop",
    "evaluate": "loop",
    "load_checkpoint": "loop",
    "TrainingState": "loop",
    "MODEL_NAME": "tracking",
    "log_model": "tracking",
    "ensure_experiment": "tracking",
    "train_model": "pipeline",
    "prepare_data": "pipeline",
    "publish_run": "publish",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    """Import the module that holds ``name`` on first use (see ``_EXPORTS``)."""
    if name in _EXPORTS:
        module = importlib.import_module(f"landcover.training.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'landcover.training' has no attribute {name!r}")

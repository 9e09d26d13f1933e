"""The training loop, in plain PyTorch: seeded, resumable, with early stopping on validation mIoU.

One epoch = one pass over the training tiles (random crops, D4 augmentations)
followed by a validation pass over the whole validation tiles. After each
epoch the full training state (a :class:`TrainingState`: model, optimiser,
learning-rate schedule, random generators, history) is written to ``last.pt`` so that
``fit(..., resume_from="last.pt")`` continues exactly where it stopped; the
weights of the best epoch so far (highest validation mIoU, the metric that is
logged) go to ``best.pt``.

CPU by default. On a CUDA GPU the forward pass runs under mixed precision
(bfloat16 when the GPU supports it, else float16 with gradient scaling).
Never on the CPU: bfloat16 autocast there is much slower than float32 on
ordinary processors.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm.auto import tqdm

from landcover.inference.logits import forward_logits
from landcover.storage import atomic_path
from landcover.training.loss import IGNORE_INDEX, SegmentationLoss, labels_to_targets, upsample_logits
from landcover.training.metrics import ConfusionMatrix, Scores, scores_from_confusion

CHECKPOINT_LAST = "last.pt"
CHECKPOINT_BEST = "best.pt"


@dataclass
class TrainConfig:
    """Settings of one training run (all logged to MLflow).

    ``crop_size``: side of the random training crops (``None``: whole tiles);
    ``repeats``: how many random crops of each training tile one epoch holds
    (given to the training dataset by :func:`~landcover.training.pipeline.prepare_data`);
    ``augment_size``: the size tiles are resized to before the network
    (``None``: keep ``tiles_size``); ``patience``: validated epochs without a
    better validation mIoU before stopping (``None``: never stop early);
    ``validate_from``: the first epoch validated (1: every epoch). Validating
    whole held-out tiles can cost half an epoch of training on crops, and a
    one-cycle schedule usually ends near its best, so a short run loses little
    by validating only its last epochs.
    """

    model_size: str = "tiny"
    epochs: int = 20
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 0.01
    pct_start: float = 0.2
    crop_size: int | None = 128
    repeats: int = 1
    tiles_size: int = 250
    augment_size: int | None = None
    loss: str = "cross_entropy"
    focal_gamma: float = 2.0
    class_weight_power: float = 0.5
    patience: int | None = 6
    min_delta: float = 1e-4
    validate_from: int = 1
    seed: int = 0
    device: str = "auto"
    mixed_precision: bool = True
    eval_batch_size: int = 8
    num_workers: int = 0
    threads: int | None = None

    @property
    def network_size(self) -> int:
        """Side of the tiles the network sees (``augment_size``, else ``tiles_size``)."""
        return self.augment_size or self.tiles_size

    def check(self) -> None:
        """Refuse settings a run cannot follow, naming the field (``ValueError``)."""
        if self.epochs < 1:
            raise ValueError(f"TrainConfig.epochs must be at least 1, got {self.epochs}")
        if not 1 <= self.validate_from <= self.epochs:
            raise ValueError(
                f"TrainConfig.validate_from must be between 1 and epochs ({self.epochs}), got {self.validate_from}: "
                "at least the last epoch is validated, so that the run has a best epoch"
            )


@dataclass
class FitResult:
    """What :func:`fit` returns: the history per epoch and the best validation scores."""

    history: list[dict[str, float]]
    best_epoch: int
    best_miou: float
    best_scores: Scores | None
    best_confusion: np.ndarray | None
    checkpoint_dir: Path | None
    stopped_early: bool
    train_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


# -- environment -----------------------------------------------------------------------------
def set_seed(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def configure_threads(threads: int | None = None) -> int:
    """Give PyTorch one thread per CPU core this process may use (or ``threads``); returns it.

    PyTorch's default can exceed the cores granted to a container, and
    oversubscribed threads slow everything down.
    """
    if threads is None:
        try:
            threads = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - macOS, Windows
            threads = os.cpu_count() or 1
    threads = max(1, int(threads))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast_dtype(device: torch.device, enabled: bool = True) -> torch.dtype | None:
    """The mixed-precision type for ``device``: bfloat16/float16 on CUDA, ``None`` (off) on CPU."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[None]:
    """An autocast context on CUDA, a no-op otherwise."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


# -- data ------------------------------------------------------------------------------------
class EpochSampler(Sampler[int]):
    """A shuffling sampler whose order depends only on ``(seed, epoch)``, so a resumed run replays it."""

    def __init__(self, length: int, seed: int = 0) -> None:
        self.length = length
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order the next pass follows."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.length, generator=generator).tolist())

    def __len__(self) -> int:
        return self.length


def _loader(
    dataset: Dataset, batch_size: int, *, sampler: Sampler[int] | None = None, num_workers: int = 0,
    drop_last: bool = False, generator: torch.Generator | None = None,
) -> DataLoader:
    """A data loader in the order of ``sampler`` (or the dataset's), keeping workers alive between epochs.

    Each pass draws a seed for its workers from ``generator`` (default: the
    global generator the training step also draws from).
    """
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=False,
        num_workers=num_workers,
        drop_last=drop_last,
        persistent_workers=num_workers > 0,
        generator=generator,
    )


# -- one pass ----------------------------------------------------------------------------------
def pixel_weight_total(loss_fn: SegmentationLoss, masks: torch.Tensor) -> float:
    """The weight of the labelled pixels of ``masks``: what ``loss_fn`` divides its weighted sum by.

    The loss of a batch is ``sum(w[y] * l) / sum(w[y])`` over its labelled
    pixels (``w = 1`` without class weights, so the denominator is the number
    of labelled pixels). Multiplying a batch's loss by this total gives back
    its sum, which several batches can then share: see :class:`LossMean`.
    """
    targets = labels_to_targets(masks)
    valid = targets != IGNORE_INDEX
    weights = getattr(loss_fn, "weights", None)
    if weights is None:
        return float(valid.sum())
    return float((weights.to(targets.device)[targets.clamp(min=0)] * valid).sum())


@dataclass
class LossMean:
    """The mean loss over every labelled pixel of several batches, whatever their size.

    The mean of the batches' means would weigh a batch of few labelled pixels
    (or a short last batch) as much as a full one, so the figure would change
    with the batch size. Here each batch adds its weighted sum and its weight
    total, and :attr:`value` divides one by the other: the same number as the
    loss of all those pixels in a single batch.
    """

    total: float = 0.0
    weight: float = 0.0

    def add(self, loss: torch.Tensor | float, loss_fn: SegmentationLoss, masks: torch.Tensor) -> None:
        """Add one batch: its mean loss (as ``loss_fn`` returns it) and its masks."""
        weight = pixel_weight_total(loss_fn, masks)
        self.total += float(loss) * weight
        self.weight += weight

    @property
    def value(self) -> float:
        """The pooled mean (NaN when no labelled pixel was seen)."""
        return self.total / self.weight if self.weight > 0 else float("nan")


def train_one_epoch(
    model: torch.nn.Module,
    loader: DataLoader,
    loss_fn: SegmentationLoss,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    device: torch.device = torch.device("cpu"),
    amp_dtype: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None,
    description: str = "train",
    progress: bool = True,
) -> float:
    """One pass over ``loader``; returns the mean training loss over the labelled pixels of the pass.

    Each batch's loss is taken with the weights of that moment (they change
    after every step), and pooled over pixels as in :class:`LossMean`.
    """
    model.train()
    mean = LossMean()
    bar = tqdm(loader, desc=description, leave=False, unit="batch", disable=not progress)
    for batch in bar:
        images = batch["image"].to(device, non_blocking=True)
        masks = batch["mask"].to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, amp_dtype):
            logits = forward_logits(model, images)
        loss = loss_fn(logits.float(), masks)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        mean.add(loss.detach(), loss_fn, masks)
        bar.set_postfix(loss=f"{mean.value:.3f}")
    return mean.value


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module,
    loader: DataLoader,
    loss_fn: SegmentationLoss | None = None,
    *,
    device: torch.device = torch.device("cpu"),
    amp_dtype: torch.dtype | None = None,
    description: str = "validate",
    progress: bool = True,
) -> tuple[float, ConfusionMatrix]:
    """Mean loss and confusion matrix over ``loader``, at the labels' resolution.

    Logits are upsampled (bilinear) to the label size, the predicted class is
    ``argmax + 1``; nodata pixels of the reference are skipped. The loss is the
    (class-weighted) mean over every labelled pixel of the loader's tiles, the
    same whatever the batch size (:class:`LossMean`); NaN without ``loss_fn``.
    """
    model.eval()
    matrix = ConfusionMatrix()
    mean = LossMean()
    for batch in tqdm(loader, desc=description, leave=False, unit="batch", disable=not progress):
        images = batch["image"].to(device, non_blocking=True)
        masks = batch["mask"].to(device, non_blocking=True)
        with autocast(device, amp_dtype):
            logits = forward_logits(model, images)
        logits = upsample_logits(logits.float(), tuple(masks.shape[-2:]))
        if loss_fn is not None:
            mean.add(loss_fn(logits, masks), loss_fn, masks)
        matrix.update(logits.argmax(dim=1) + 1, masks)
    return mean.value, matrix


# -- checkpoints -------------------------------------------------------------------------------
def _atomic_save(obj: dict[str, Any], path: Path) -> None:
    """``torch.save`` to a temporary name renamed at the end: an interrupted save leaves the old file."""
    with atomic_path(path) as temporary:
        torch.save(obj, temporary)


def _rng_state() -> dict[str, Any]:
    """The state of every random generator a training step draws from (Python, NumPy, torch, CUDA)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    """Put every random generator back where :func:`_rng_state` found it."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`fit`, as a plain dict (``last.pt``: see :class:`TrainingState`).

    Raises ``FileNotFoundError`` naming ``path`` when it is absent.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return torch.load(path, map_location="cpu", weights_only=False)


@dataclass
class _Trainer:
    """The pieces one :func:`fit` call builds once and every epoch uses."""

    model: torch.nn.Module
    loss_fn: SegmentationLoss
    device: torch.device
    amp_dtype: torch.dtype | None
    scaler: torch.amp.GradScaler | None
    sampler: EpochSampler
    train_loader: DataLoader
    val_loader: DataLoader
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler


@dataclass
class _Progress:
    """Where a run stands: its history, its best epoch so far and the epochs since (early stopping)."""

    history: list[dict[str, float]] = field(default_factory=list)
    epoch: int = 0
    best_miou: float = -math.inf
    best_epoch: int = 0
    stale: int = 0
    best_confusion: np.ndarray | None = None
    best_weights: dict[str, torch.Tensor] | None = None

    def record(self, epoch: int, metrics: dict[str, float], matrix: ConfusionMatrix, model: torch.nn.Module,
               min_delta: float) -> bool:
        """Add one epoch's metrics; keep the weights when its mIoU beats the best by ``min_delta``."""
        self.epoch = epoch
        self.history.append({"epoch": epoch, **metrics})
        miou = metrics["val_miou"]
        if miou > self.best_miou + min_delta:
            self.best_miou, self.best_epoch, self.stale = miou, epoch, 0
            self.best_confusion = matrix.matrix.copy()
            self.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            return True
        self.stale += 1
        return False

    def skip(self, epoch: int, metrics: dict[str, float]) -> None:
        """Add an epoch that was not validated: its training figures only; early stopping does not count it."""
        self.epoch = epoch
        self.history.append({"epoch": epoch, **metrics})

    def patience_exhausted(self, patience: int | None) -> bool:
        """Whether ``patience`` epochs have passed without a better validation mIoU."""
        return patience is not None and self.stale >= patience


@dataclass
class TrainingState:
    """The full state of a run after an epoch, as ``last.pt`` holds it, so that a resumed run is exact.

    The model, optimiser, learning-rate schedule and (float16 on CUDA) gradient
    scaler states; the history and the early-stopping bookkeeping; the settings
    (:class:`TrainConfig` as a dict: resuming with others is refused); and the
    random generators, so the next epoch draws the same crops and batches.
    """

    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any] | None
    epoch: int
    history: list[dict[str, float]]
    best_miou: float
    best_epoch: int
    stale: int
    best_confusion: np.ndarray | None
    config: dict[str, Any]
    rng: dict[str, Any]

    @classmethod
    def capture(cls, trainer: _Trainer, progress: _Progress, config: TrainConfig) -> TrainingState:
        """The state of a run now (the random generators included)."""
        return cls(
            model=trainer.model.state_dict(),
            optimizer=trainer.optimizer.state_dict(),
            scheduler=trainer.scheduler.state_dict(),
            scaler=trainer.scaler.state_dict() if trainer.scaler is not None else None,
            epoch=progress.epoch,
            history=progress.history,
            best_miou=progress.best_miou,
            best_epoch=progress.best_epoch,
            stale=progress.stale,
            best_confusion=progress.best_confusion,
            config=asdict(config),
            rng=_rng_state(),
        )

    def save(self, path: str | Path) -> None:
        """Write the state to ``path`` (a dict of the fields above), atomically."""
        _atomic_save({f.name: getattr(self, f.name) for f in fields(self)}, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> TrainingState:
        """Read a state written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            When ``path`` does not exist.
        ValueError
            When it is not a ``last.pt`` checkpoint (a ``best.pt`` holds weights only).
        """
        content = load_checkpoint(path)
        optional = {"scaler", "best_confusion"}
        missing = [f.name for f in fields(cls) if f.name not in content and f.name not in optional]
        if missing:
            raise ValueError(f"{path} is not a full training checkpoint: it lacks {', '.join(missing)}")
        return cls(**{f.name: content.get(f.name) for f in fields(cls)})

    def check_config(self, config: TrainConfig, source: str | Path) -> None:
        """Refuse to resume with settings other than the ones the state was made with (naming them)."""
        current = asdict(config)
        if self.config != current:
            changed = sorted(k for k in self.config.keys() | current.keys() if self.config.get(k) != current.get(k))
            raise ValueError(f"checkpoint {source} was made with other settings: {changed}")

    def restore(self, trainer: _Trainer, progress: _Progress) -> None:
        """Load the state into a freshly built trainer and progress, random generators last."""
        trainer.model.load_state_dict(self.model)
        trainer.optimizer.load_state_dict(self.optimizer)
        trainer.scheduler.load_state_dict(self.scheduler)
        if trainer.scaler is not None and self.scaler:
            trainer.scaler.load_state_dict(self.scaler)
        progress.history = self.history
        progress.epoch = self.epoch
        progress.best_miou, progress.best_epoch, progress.stale = self.best_miou, self.best_epoch, self.stale
        progress.best_confusion = self.best_confusion
        _set_rng_state(self.rng)


def _save_best(path: Path, model: torch.nn.Module, epoch: int, miou: float) -> None:
    """Write ``best.pt``: the weights of the best epoch so far, its number and its validation mIoU."""
    _atomic_save({"model": model.state_dict(), "epoch": epoch, "miou": miou}, path)


# -- the loop ----------------------------------------------------------------------------------
def _build_trainer(
    model: torch.nn.Module, train_dataset: Dataset, val_dataset: Dataset, config: TrainConfig,
    loss_fn: SegmentationLoss,
) -> _Trainer:
    """Device, mixed precision, data loaders, AdamW and its one-cycle schedule for ``config``."""
    device = resolve_device(config.device)
    amp_dtype = autocast_dtype(device, config.mixed_precision)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    model.to(device)
    loss_fn.to(device)
    sampler = EpochSampler(len(train_dataset), seed=config.seed)
    train_loader = _loader(
        train_dataset, config.batch_size, sampler=sampler, num_workers=config.num_workers,
        drop_last=len(sampler) > config.batch_size,
    )
    # The validation passes draw from their own generator, so validating (or not, before
    # validate_from) leaves the global one, hence dropout and the training crops, as they were.
    val_loader = _loader(
        val_dataset, config.eval_batch_size, num_workers=config.num_workers,
        generator=torch.Generator().manual_seed(config.seed),
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * len(train_loader), pct_start=config.pct_start
    )
    return _Trainer(model, loss_fn, device, amp_dtype, scaler, sampler, train_loader, val_loader, optimizer, scheduler)


def _resume(trainer: _Trainer, progress: _Progress, resume_from: str | Path, config: TrainConfig) -> None:
    """Continue from ``last.pt`` at ``resume_from``, and from the ``best.pt`` beside it when there is one."""
    state = TrainingState.load(resume_from)
    state.check_config(config, resume_from)
    state.restore(trainer, progress)
    best = Path(resume_from).parent / CHECKPOINT_BEST
    if best.exists():
        progress.best_weights = load_checkpoint(best)["model"]


def _run_epoch(
    trainer: _Trainer, train_dataset: Dataset, epoch: int, config: TrainConfig, progress: bool
) -> tuple[dict[str, float], Scores | None, ConfusionMatrix | None]:
    """Train one epoch, then validate: ``(metrics, scores, confusion matrix)`` of the validation tiles.

    Before ``config.validate_from`` the epoch is not validated: the metrics
    hold the training figures only, and scores and matrix are ``None``.
    """
    tick = time.perf_counter()
    if hasattr(train_dataset, "set_epoch"):
        train_dataset.set_epoch(epoch)
    trainer.sampler.set_epoch(epoch)
    train_loss = train_one_epoch(
        trainer.model, trainer.train_loader, trainer.loss_fn, trainer.optimizer, scheduler=trainer.scheduler,
        device=trainer.device, amp_dtype=trainer.amp_dtype, scaler=trainer.scaler,
        description=f"epoch {epoch} train", progress=progress,
    )
    train_seconds = time.perf_counter() - tick
    metrics = {
        "train_loss": train_loss,
        "lr": float(trainer.scheduler.get_last_lr()[0]),
        "train_tiles_per_second": len(trainer.train_loader) * config.batch_size / max(train_seconds, 1e-9),
    }
    scores: Scores | None = None
    matrix: ConfusionMatrix | None = None
    if epoch >= config.validate_from:
        val_loss, matrix = evaluate(
            trainer.model, trainer.val_loader, trainer.loss_fn, device=trainer.device, amp_dtype=trainer.amp_dtype,
            description=f"epoch {epoch} validate", progress=progress,
        )
        scores = matrix.scores()
        metrics.update({"val_loss": val_loss, **scores.as_dict("val_")})
    metrics["epoch_seconds"] = time.perf_counter() - tick
    return metrics, scores, matrix


def fit(
    model: torch.nn.Module,
    train_dataset: Dataset,
    val_dataset: Dataset,
    config: TrainConfig,
    loss_fn: SegmentationLoss,
    *,
    checkpoint_dir: str | Path | None = None,
    resume_from: str | Path | None = None,
    on_epoch_end: Callable[[int, dict[str, float], Scores | None, np.ndarray | None], None] | None = None,
    restore_best: bool = True,
    progress: bool = True,
) -> FitResult:
    """Train ``model`` for ``config.epochs`` epochs (or until early stopping), validating from ``config.validate_from``.

    ``train_dataset`` yields random crops with augmentations and has a
    ``set_epoch`` method; ``val_dataset`` yields whole tiles. AdamW with a
    one-cycle learning-rate schedule (warm-up over ``pct_start`` of the steps,
    then cosine decay) reaches a good model in few epochs.
    ``checkpoint_dir``: where ``last.pt`` (a :class:`TrainingState`) and
    ``best.pt`` are written after every epoch; ``resume_from``: a ``last.pt``
    to continue from (made with the same ``config``).
    ``on_epoch_end(epoch, metrics, scores, confusion)`` is called after every
    epoch (MLflow logging uses it; ``scores`` and ``confusion`` are ``None`` for an
    epoch not validated). With ``restore_best`` the model ends with
    the weights of its best epoch. ``progress``: show progress bars.

    Raises
    ------
    ValueError
        When ``config`` is inconsistent (:meth:`TrainConfig.check`), or ``resume_from`` was made with
        other settings than ``config`` (naming them).
    """
    config.check()
    configure_threads(config.threads)
    set_seed(config.seed)
    trainer = _build_trainer(model, train_dataset, val_dataset, config, loss_fn)
    state = _Progress()
    if resume_from is not None:
        _resume(trainer, state, resume_from, config)
    directory = Path(checkpoint_dir) if checkpoint_dir is not None else None
    stopped_early = False
    started = time.perf_counter()
    epochs = tqdm(range(state.epoch + 1, config.epochs + 1), desc="epochs", unit="epoch",
                  initial=state.epoch, total=config.epochs, disable=not progress)
    for epoch in epochs:
        metrics, scores, matrix = _run_epoch(trainer, train_dataset, epoch, config, progress)
        if matrix is None:
            improved = False
            state.skip(epoch, metrics)
            epochs.set_postfix(loss=f"{metrics['train_loss']:.3f}", validation=f"from epoch {config.validate_from}")
        else:
            improved = state.record(epoch, metrics, matrix, model, config.min_delta)
            epochs.set_postfix(
                loss=f"{metrics['train_loss']:.3f}", miou=f"{scores.miou:.3f}", best=f"{state.best_miou:.3f}"
            )
        if directory is not None:
            if improved:
                _save_best(directory / CHECKPOINT_BEST, model, epoch, state.best_miou)
            TrainingState.capture(trainer, state, config).save(directory / CHECKPOINT_LAST)
        if on_epoch_end is not None:
            on_epoch_end(epoch, metrics, scores, None if matrix is None else matrix.matrix.copy())
        if state.patience_exhausted(config.patience):
            stopped_early = True
            break
    epochs.close()

    if restore_best and state.best_weights is not None:
        model.load_state_dict(state.best_weights)
    return FitResult(
        history=state.history,
        best_epoch=state.best_epoch,
        best_miou=state.best_miou,
        best_scores=scores_from_confusion(state.best_confusion) if state.best_confusion is not None else None,
        best_confusion=state.best_confusion,
        checkpoint_dir=directory,
        stopped_early=stopped_early,
        train_seconds=time.perf_counter() - started,
    )

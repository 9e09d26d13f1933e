"""The training loop, in plain PyTorch: seeded, resumable, with early stopping on validation mIoU.

One epoch = one pass over the training tiles (random crops, D4 augmentations)
followed by a validation pass over the whole validation tiles. After each
epoch the full training state is written to ``last.pt`` (model, optimiser,
learning-rate schedule, random generators, history) so that
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler
from tqdm.auto import tqdm

from landcover.storage import atomic_path
from landcover.training.loss import SegmentationLoss, upsample_logits
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
    (``None``: keep ``tiles_size``); ``patience``: epochs without a better
    validation mIoU before stopping (``None``: never stop early).
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


def autocast(device: torch.device, dtype: torch.dtype | None):
    """An autocast context on CUDA, a no-op otherwise."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def forward_logits(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Raw logits ``(B, classes, H/4, W/4)`` of a Hugging Face SegFormer (or any module)."""
    output = model(pixel_values=images) if hasattr(model, "config") else model(images)
    return output.logits if hasattr(output, "logits") else output


# -- data ------------------------------------------------------------------------------------
class EpochSampler(Sampler[int]):
    """A shuffling sampler whose order depends only on ``(seed, epoch)``, so a resumed run replays it."""

    def __init__(self, length: int, seed: int = 0) -> None:
        self.length = length
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.length, generator=generator).tolist())

    def __len__(self) -> int:
        return self.length


def _loader(dataset, batch_size: int, *, sampler=None, num_workers: int = 0, drop_last: bool = False) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=False,
        num_workers=num_workers,
        drop_last=drop_last,
        persistent_workers=num_workers > 0,
    )


# -- one pass ----------------------------------------------------------------------------------
def train_one_epoch(
    model: torch.nn.Module,
    loader: DataLoader,
    loss_fn: SegmentationLoss,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler=None,
    device: torch.device = torch.device("cpu"),
    amp_dtype: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None,
    description: str = "train",
    progress: bool = True,
) -> float:
    """One pass over ``loader``; returns the mean training loss (per batch)."""
    model.train()
    total, batches = 0.0, 0
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
        total += float(loss.detach())
        batches += 1
        bar.set_postfix(loss=f"{total / batches:.3f}")
    return total / max(batches, 1)


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
    ``argmax + 1``; nodata pixels of the reference are skipped.
    """
    model.eval()
    matrix = ConfusionMatrix()
    total, batches = 0.0, 0
    for batch in tqdm(loader, desc=description, leave=False, unit="batch", disable=not progress):
        images = batch["image"].to(device, non_blocking=True)
        masks = batch["mask"].to(device, non_blocking=True)
        with autocast(device, amp_dtype):
            logits = forward_logits(model, images)
        logits = upsample_logits(logits.float(), tuple(masks.shape[-2:]))
        if loss_fn is not None:
            total += float(loss_fn(logits, masks))
            batches += 1
        matrix.update(logits.argmax(dim=1) + 1, masks)
    return (total / batches if batches else float("nan")), matrix


# -- checkpoints -------------------------------------------------------------------------------
def _atomic_save(obj: Any, path: Path) -> None:
    with atomic_path(path) as temporary:
        torch.save(obj, temporary)


def _rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`fit` (a dict of states; see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return torch.load(path, map_location="cpu", weights_only=False)


# -- the loop ----------------------------------------------------------------------------------
def fit(
    model: torch.nn.Module,
    train_dataset,
    val_dataset,
    config: TrainConfig,
    loss_fn: SegmentationLoss,
    *,
    checkpoint_dir: str | Path | None = None,
    resume_from: str | Path | None = None,
    on_epoch_end: Callable[[int, dict[str, float], Scores, np.ndarray], None] | None = None,
    restore_best: bool = True,
    progress: bool = True,
) -> FitResult:
    """Train ``model`` for ``config.epochs`` epochs (or until early stopping) and validate each epoch.

    ``train_dataset`` yields random crops with augmentations and has a
    ``set_epoch`` method; ``val_dataset`` yields whole tiles. AdamW with a
    one-cycle learning-rate schedule (warm-up over ``pct_start`` of the steps,
    then cosine decay) reaches a good model in few epochs.
    ``on_epoch_end(epoch, metrics, scores, confusion)`` is called after every
    epoch (MLflow logging uses it). With ``restore_best`` the model ends with
    the weights of its best epoch. ``progress``: show progress bars.
    """
    configure_threads(config.threads)
    set_seed(config.seed)
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
    val_loader = _loader(val_dataset, config.eval_batch_size, num_workers=config.num_workers)
    steps_per_epoch = len(train_loader)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=config.pct_start
    )

    history: list[dict[str, float]] = []
    best_miou, best_epoch, stale = -math.inf, 0, 0
    best_confusion: np.ndarray | None = None
    start_epoch = 1
    directory = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if resume_from is not None:
        state = load_checkpoint(resume_from)
        if state["config"] != asdict(config):
            changed = sorted(k for k in state["config"] if state["config"][k] != asdict(config).get(k))
            raise ValueError(f"checkpoint {resume_from} was made with other settings: {changed}")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        history = state["history"]
        best_miou, best_epoch, stale = state["best_miou"], state["best_epoch"], state["stale"]
        best_confusion = state.get("best_confusion")
        start_epoch = state["epoch"] + 1
        _set_rng_state(state["rng"])

    best_state: dict[str, torch.Tensor] | None = None
    if resume_from is not None and (Path(resume_from).parent / CHECKPOINT_BEST).exists():
        best_state = load_checkpoint(Path(resume_from).parent / CHECKPOINT_BEST)["model"]
    stopped_early = False
    started = time.perf_counter()
    epochs = tqdm(range(start_epoch, config.epochs + 1), desc="epochs", unit="epoch",
                  initial=start_epoch - 1, total=config.epochs, disable=not progress)
    for epoch in epochs:
        tick = time.perf_counter()
        if hasattr(train_dataset, "set_epoch"):
            train_dataset.set_epoch(epoch)
        sampler.set_epoch(epoch)
        train_loss = train_one_epoch(
            model, train_loader, loss_fn, optimizer, scheduler=scheduler, device=device,
            amp_dtype=amp_dtype, scaler=scaler, description=f"epoch {epoch} train", progress=progress,
        )
        train_seconds = time.perf_counter() - tick
        val_loss, matrix = evaluate(
            model, val_loader, loss_fn, device=device, amp_dtype=amp_dtype, description=f"epoch {epoch} validate",
            progress=progress,
        )
        scores = matrix.scores()
        metrics = {
            "train_loss": train_loss,
            "val_loss": val_loss,
            **scores.as_dict("val_"),
            "lr": float(scheduler.get_last_lr()[0]),
            "epoch_seconds": time.perf_counter() - tick,
            "train_tiles_per_second": len(train_loader) * config.batch_size / max(train_seconds, 1e-9),
        }
        history.append({"epoch": epoch, **metrics})
        improved = scores.miou > best_miou + config.min_delta
        if improved:
            best_miou, best_epoch, stale = scores.miou, epoch, 0
            best_confusion = matrix.matrix.copy()
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            stale += 1
        epochs.set_postfix(loss=f"{train_loss:.3f}", miou=f"{scores.miou:.3f}", best=f"{best_miou:.3f}")
        if directory is not None:
            if improved:
                _atomic_save({"model": model.state_dict(), "epoch": epoch, "miou": best_miou}, directory / CHECKPOINT_BEST)
            _atomic_save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "epoch": epoch,
                    "history": history,
                    "best_miou": best_miou,
                    "best_epoch": best_epoch,
                    "stale": stale,
                    "best_confusion": best_confusion,
                    "config": asdict(config),
                    "rng": _rng_state(),
                },
                directory / CHECKPOINT_LAST,
            )
        if on_epoch_end is not None:
            on_epoch_end(epoch, metrics, scores, matrix.matrix.copy())
        if config.patience is not None and stale >= config.patience:
            stopped_early = True
            break
    epochs.close()

    if restore_best and best_state is not None:
        model.load_state_dict(best_state)

    return FitResult(
        history=history,
        best_epoch=best_epoch,
        best_miou=best_miou,
        best_scores=scores_from_confusion(best_confusion) if best_confusion is not None else None,
        best_confusion=best_confusion,
        checkpoint_dir=directory,
        stopped_early=stopped_early,
        train_seconds=time.perf_counter() - started,
    )

"""Accuracy figures of a segmentation: confusion matrix, per-class IoU and F1, mIoU, overall accuracy.

Everything derives from the confusion matrix ``cm[i, j]`` = number of
labelled pixels of reference class ``i + 1`` predicted as class ``j + 1``
(rows: reference, columns: prediction). Nodata pixels of the reference are
left out. For class ``c``: ``TP = cm[c, c]``, ``FN`` = rest of row ``c``,
``FP`` = rest of column ``c``;

- IoU (Jaccard) = TP / (TP + FP + FN);
- F1 (Dice) = 2 TP / (2 TP + FP + FN);
- mIoU = mean IoU over the classes *present* in the reference or the
  prediction (a class absent from both has no defined IoU and is skipped);
- overall accuracy = trace / total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from landcover.classes import CLASSES, N_CLASSES, NODATA

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def confusion_matrix(
    predicted: np.ndarray | torch.Tensor, reference: np.ndarray | torch.Tensor, n_classes: int = N_CLASSES
) -> np.ndarray:
    """Confusion matrix (int64, ``n_classes`` x ``n_classes``) of two label arrays of values 0..n_classes.

    Reference pixels equal to nodata (0) are skipped; a predicted 0 (never
    produced by the model) counts as an error against no column and is rejected.
    """
    pred = torch.as_tensor(predicted).reshape(-1).long()
    ref = torch.as_tensor(reference).reshape(-1).long()
    if pred.shape != ref.shape:
        raise ValueError(f"prediction and reference differ in size: {tuple(pred.shape)} vs {tuple(ref.shape)}")
    keep = ref != NODATA
    pred, ref = pred[keep], ref[keep]
    if pred.numel() and (int(pred.min()) < 1 or int(pred.max()) > n_classes):
        raise ValueError(f"predicted labels must lie in 1..{n_classes}")
    if ref.numel() and int(ref.max()) > n_classes:
        raise ValueError(f"reference labels must lie in 0..{n_classes}")
    flat = (ref - 1) * n_classes + (pred - 1)
    return torch.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes).cpu().numpy()


@dataclass
class Scores:
    """Scores derived from one confusion matrix (NaN where a class is absent)."""

    iou: np.ndarray
    f1: np.ndarray
    miou: float
    overall_accuracy: float
    present: np.ndarray
    n_pixels: int

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        """Flat ``{name: value}`` for logging; per-class entries only for present classes."""
        out = {f"{prefix}miou": self.miou, f"{prefix}accuracy": self.overall_accuracy}
        for klass in CLASSES:
            k = klass.id - 1
            if k < len(self.present) and self.present[k]:
                tag = f"{klass.id:02d}_{klass.short_name.replace(' ', '_')}"
                out[f"{prefix}iou_{tag}"] = float(self.iou[k])
                out[f"{prefix}f1_{tag}"] = float(self.f1[k])
        return out

    def table(self) -> pd.DataFrame:
        """Per-class IoU and F1 as a pandas DataFrame (class id, name, IoU, F1, reference pixels)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "class": [c.id for c in CLASSES][: len(self.iou)],
                "name": [c.name for c in CLASSES][: len(self.iou)],
                "iou": self.iou,
                "f1": self.f1,
                "present": self.present,
            }
        )


def scores_from_confusion(cm: np.ndarray) -> Scores:
    """IoU, F1, mIoU and overall accuracy from a confusion matrix (see the module docstring)."""
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    tp = np.diag(cm)
    fn = cm.sum(axis=1) - tp
    fp = cm.sum(axis=0) - tp
    union = tp + fp + fn
    present = union > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(present, tp / union, np.nan)
        f1 = np.where(present, 2 * tp / (2 * tp + fp + fn), np.nan)
    total = cm.sum()
    return Scores(
        iou=iou,
        f1=f1,
        miou=float(np.nanmean(iou)) if present.any() else float("nan"),
        overall_accuracy=float(tp.sum() / total) if total > 0 else float("nan"),
        present=present,
        n_pixels=int(total),
    )


class ConfusionMatrix:
    """Accumulates a confusion matrix over batches (see :func:`confusion_matrix`)."""

    def __init__(self, n_classes: int = N_CLASSES) -> None:
        self.n_classes = n_classes
        self.matrix = np.zeros((n_classes, n_classes), dtype=np.int64)

    def update(self, predicted: np.ndarray | torch.Tensor, reference: np.ndarray | torch.Tensor) -> None:
        """Add the pixels of one batch (labels 1..n_classes; reference nodata pixels are skipped)."""
        self.matrix += confusion_matrix(predicted, reference, self.n_classes)

    def scores(self) -> Scores:
        """IoU, F1, mIoU and accuracy of everything accumulated so far."""
        return scores_from_confusion(self.matrix)


def plot_confusion_matrix(
    cm: np.ndarray,
    *,
    normalize: str | None = "true",
    title: str = "Confusion matrix",
    ax: Axes | None = None,
) -> Figure:
    """Heat map of a confusion matrix with the book's class names.

    ``normalize="true"``: each row divided by its total (recall per reference
    class, in %); ``"pred"``: by column (precision); ``None``: pixel counts.
    """
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, dtype=np.float64)
    n = cm.shape[0]
    if normalize == "true":
        with np.errstate(invalid="ignore", divide="ignore"):
            shown = 100 * cm / cm.sum(axis=1, keepdims=True)
        unit = "% of reference pixels (row)"
    elif normalize == "pred":
        with np.errstate(invalid="ignore", divide="ignore"):
            shown = 100 * cm / cm.sum(axis=0, keepdims=True)
        unit = "% of predicted pixels (column)"
    elif normalize is None:
        shown = cm
        unit = "pixels (10 m x 10 m)"
    else:
        raise ValueError(f"normalize must be 'true', 'pred' or None, got {normalize!r}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.5, 7.5))
    else:
        fig = ax.figure
    image = ax.imshow(np.nan_to_num(shown), cmap="viridis", vmin=0, vmax=100 if normalize else None)
    labels = [f"{c.id} {c.short_name}" for c in CLASSES][:n]
    ax.set_xticks(range(n), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("Reference class (CLC+ Backbone)")
    ax.set_title(title)
    top = np.nanmax(shown) if np.isfinite(shown).any() else 0
    for i in range(n):
        for j in range(n):
            value = shown[i, j]
            if np.isfinite(value) and value > 0:
                text = f"{value:.0f}" if normalize else f"{int(value)}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="black" if value > 0.6 * top else "white")
    colorbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    colorbar.set_label(unit)
    fig.tight_layout()
    return fig


__all__ = [
    "ConfusionMatrix",
    "Scores",
    "confusion_matrix",
    "plot_confusion_matrix",
    "scores_from_confusion",
    "NODATA",
]

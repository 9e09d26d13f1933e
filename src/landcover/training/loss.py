"""The training loss: class-weighted cross-entropy (or focal loss) that ignores nodata.

Labels hold 0 for nodata and 1..10 for the classes; the network has 10 output
channels, channel ``k`` for class ``k + 1``. :func:`labels_to_targets` makes
that shift once, turning nodata into ``IGNORE_INDEX`` so those pixels add
nothing to the loss or its gradient: nodata is not a class to learn.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from landcover.classes import N_CLASSES, NODATA

#: Target value of pixels the loss skips (PyTorch's default ``ignore_index``).
IGNORE_INDEX = -100


def labels_to_targets(labels: torch.Tensor) -> torch.Tensor:
    """Label values (0 nodata, 1..10) to channel indices (0..9) with nodata -> ``IGNORE_INDEX``."""
    labels = labels.long()
    return torch.where(labels == NODATA, torch.full_like(labels, IGNORE_INDEX), labels - 1)


def upsample_logits(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling of ``(B, C, h, w)`` logits to ``size`` (logits are continuous scores)."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def class_weights(
    counts: np.ndarray | list[int],
    *,
    power: float = 0.5,
    clip: tuple[float, float] = (0.2, 5.0),
) -> torch.Tensor:
    """Per-channel loss weights from pixel counts of classes 1..10.

    ``counts`` has either 10 entries (classes 1..10) or 11 (label values 0..10,
    the nodata count being dropped). The weight of class ``c`` with frequency
    ``f_c`` is ``f_c ** -power``, rescaled so that the pixel-weighted mean
    weight is 1 (the loss keeps the scale of plain cross-entropy), then
    clipped to ``clip``.

    Why the square root (``power=0.5``) rather than plain inverse frequency
    (``power=1``): land cover is very unbalanced (grassland is a hundred times
    more frequent than lichens and mosses in Europe, see the CLC+ validation
    shares). Inverse frequency would multiply the few pixels of a rare class by
    about a hundred, so a handful of (often mislabelled) pixels would steer the
    gradient and the model would over-predict rare classes. The square root
    still lifts rare classes (a class 100 times rarer weighs 10 times more per
    pixel) while keeping the training stable; the clip bounds what is left.
    Classes absent from the counts get the upper bound (they add nothing to the
    loss anyway until they appear).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.shape == (N_CLASSES + 1,):
        counts = counts[1:]
    if counts.shape != (N_CLASSES,):
        raise ValueError(f"counts must have {N_CLASSES} or {N_CLASSES + 1} entries, got {counts.shape}")
    if counts.sum() <= 0:
        raise ValueError("class_weights: no labelled pixel in the counts")
    frequency = counts / counts.sum()
    present = frequency > 0
    weights = np.full(N_CLASSES, clip[1])
    weights[present] = frequency[present] ** -power
    weights[present] /= (frequency[present] * weights[present]).sum()
    weights = np.clip(weights, *clip)
    return torch.tensor(weights, dtype=torch.float32)


class SegmentationLoss(nn.Module):
    """Cross-entropy (``gamma=0``) or focal loss (``gamma>0``) over labelled pixels.

    ``forward(logits, labels)``: ``logits`` ``(B, 10, h, w)`` at any resolution,
    ``labels`` ``(B, H, W)`` label values. The logits are upsampled to the label
    size first, so the loss is judged at the resolution of the reference.
    The mean is weighted: ``sum(w[y] * l) / sum(w[y])`` over labelled pixels,
    as in :func:`torch.nn.functional.cross_entropy`. A batch without any
    labelled pixel gives a zero loss (with a gradient graph), not NaN.

    Focal loss (Lin et al., 2017) multiplies each pixel's loss by
    ``(1 - p_true) ** gamma``: pixels already right count less, which helps when
    a few easy classes dominate.
    """

    def __init__(self, weights: torch.Tensor | None = None, *, gamma: float = 0.0) -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f"focal gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)
        self.register_buffer("weights", None if weights is None else torch.as_tensor(weights, dtype=torch.float32))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean loss over the labelled pixels of ``labels`` (0 = nodata is ignored), logits upsampled to them."""
        logits = upsample_logits(logits, tuple(labels.shape[-2:])).float()
        targets = labels_to_targets(labels)
        valid = targets != IGNORE_INDEX
        if not bool(valid.any()):
            return logits.sum() * 0.0
        per_pixel = F.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX, reduction="none")
        if self.gamma > 0:
            p_true = torch.exp(-per_pixel)
            per_pixel = (1.0 - p_true).pow(self.gamma) * per_pixel
        safe_targets = targets.clamp(min=0)
        if self.weights is not None:
            pixel_weights = self.weights[safe_targets] * valid
        else:
            pixel_weights = valid.to(per_pixel.dtype)
        return (per_pixel * pixel_weights).sum() / pixel_weights.sum()

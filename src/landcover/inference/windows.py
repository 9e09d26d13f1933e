"""Where the model's windows go on an image of any size, and how much each of their pixels counts.

The network was trained on ``tiles_size`` x ``tiles_size`` tiles (250 pixels
of 10 m). A larger image is covered by overlapping windows of that size; the
last window of each row and column is shifted back so that it ends flush with
the image edge, so every pixel is predicted (no edge is dropped, no padding is
invented) and every window has the size the network knows. Where windows
overlap, their logits are blended with :func:`blend_weights`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

#: Weight of a window's outermost pixels relative to its centre (see :func:`blend_weights`).
DEFAULT_WEIGHT_FLOOR = 0.05


class PixelWindow(NamedTuple):
    """A rectangle of an image in pixels: top row, left column, height and width."""

    row: int
    col: int
    height: int
    width: int

    @property
    def rows(self) -> slice:
        """The rows it covers, for indexing an array ``(..., H, W)``."""
        return slice(self.row, self.row + self.height)

    @property
    def cols(self) -> slice:
        """The columns it covers."""
        return slice(self.col, self.col + self.width)


def default_overlap(size: int) -> int:
    """The default overlap of neighbouring windows: a quarter of the window (62 px for 250)."""
    return int(size) // 4


def window_starts(length: int, size: int, overlap: int) -> list[int]:
    """First pixels of the windows covering ``length`` pixels with windows of ``size``, overlapping ``overlap``.

    Windows step by ``size - overlap``; the last one starts at ``length - size``
    so it ends at the edge. An image shorter than ``size`` gets one window
    starting at 0 (of the image's own length).

    Raises
    ------
    ValueError
        When ``size`` is not positive or ``overlap`` is not in ``0 .. size - 1``.
    """
    length, size, overlap = int(length), int(size), int(overlap)
    if size < 1:
        raise ValueError(f"tiles_size={size} must be a positive number of pixels")
    if not 0 <= overlap < size:
        raise ValueError(f"overlap={overlap} must be between 0 and tiles_size - 1 ({size - 1}) pixels")
    if length < 1:
        raise ValueError(f"an image side of {length} pixels has nothing to predict")
    if length <= size:
        return [0]
    stride = size - overlap
    count = math.ceil((length - size) / stride) + 1
    starts = [min(i * stride, length - size) for i in range(count)]
    return sorted(set(starts))


def image_windows(shape: tuple[int, int], size: int, overlap: int | None = None) -> list[PixelWindow]:
    """The windows covering an image of ``shape = (rows, cols)`` pixels, row by row from the top left.

    Every window is ``size`` x ``size`` (or the image's side where it is
    smaller); ``overlap`` defaults to :func:`default_overlap`.
    """
    rows, cols = int(shape[0]), int(shape[1])
    overlap = default_overlap(size) if overlap is None else int(overlap)
    height, width = min(size, rows), min(size, cols)
    return [
        PixelWindow(r, c, height, width)
        for r in window_starts(rows, size, overlap)
        for c in window_starts(cols, size, overlap)
    ]


def _profile(length: int, floor: float) -> np.ndarray:
    """A 1-D Hann profile over ``length`` pixels, raised so its ends weigh ``floor``."""
    centres = (np.arange(length, dtype=np.float64) + 0.5) / length
    return floor + (1.0 - floor) * np.sin(np.pi * centres) ** 2


def blend_weights(height: int, width: int, floor: float = DEFAULT_WEIGHT_FLOOR) -> np.ndarray:
    """Per-pixel weights ``(height, width)`` float32 of one window's logits when windows are blended.

    A separable Hann window (``sin^2``, 1 at the centre) raised to a floor:
    ``w = floor + (1 - floor) * sin^2(pi * (i + 0.5) / n)`` along each axis.
    Why this shape: a window's pixels near its edges were predicted with
    little context (the network pads there), so in an overlap the neighbour
    whose centre is closer should dominate; a weight that falls smoothly to
    the edge makes the hand-over continuous, so no seam appears where windows
    meet (a hard cut or a flat average would leave a visible line). The floor
    keeps the weight positive everywhere: pixels at the image edge, which
    only the edge of one window covers, still count, and the sum of weights
    is never zero.

    Raises
    ------
    ValueError
        When ``floor`` is not in ``(0, 1]``.
    """
    if not 0.0 < float(floor) <= 1.0:
        raise ValueError(f"floor={floor} must be in (0, 1]")
    weights = np.outer(_profile(int(height), float(floor)), _profile(int(width), float(floor)))
    return weights.astype(np.float32)

"""Per-band normalisation statistics of the training tiles, as a :class:`~landcover.data.normalization.Normalization`.

The network sees ``(x - mean) / std`` for every band. The statistics must come
from the training tiles only (validation tiles would leak into them) and must
travel with the model (``normalization_mean`` / ``normalization_std`` of
``params.json``): inference repeats exactly the same operation. The type itself
lives in the data layer; it is re-exported here, the same class, for chapter 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

from landcover.data.normalization import Normalization, normalization_beside
from landcover.training.io import TileRecord, read_image

__all__ = ["Normalization", "compute_normalization", "normalization_from_yaml", "pooled_normalization"]


def compute_normalization(
    records: Sequence[TileRecord], n_bands: int = 14, *, progress: bool = True
) -> Normalization:
    """Per-band mean and population standard deviation over every pixel of ``records``.

    Pass the *training* tiles only. Sums of ``x`` and ``x**2`` are accumulated
    in float64 per band (reflectances are below ~1 and a tile has 62,500
    pixels, so the ``E[x^2] - E[x]^2`` cancellation stays far below the
    precision that matters), skipping non-finite pixels such as NDVI where
    ``B8 + B4 = 0``. Every pixel weighs the same, so larger regions weigh more.
    """
    if not records:
        raise ValueError("compute_normalization needs at least one tile")
    total = np.zeros(n_bands)
    total_sq = np.zeros(n_bands)
    count = np.zeros(n_bands)
    for record in tqdm(records, desc="normalisation statistics", disable=not progress, leave=False):
        image = read_image(record.image, n_bands).astype(np.float64).reshape(n_bands, -1)
        finite = np.isfinite(image)
        values = np.where(finite, image, 0.0)
        total += values.sum(axis=1)
        total_sq += (values**2).sum(axis=1)
        count += finite.sum(axis=1)
    if (count == 0).any():
        raise ValueError("a band has no finite pixel in the training tiles")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    std = np.where(std > 0, std, 1.0)  # a constant band: leave it centred, unscaled
    return Normalization(mean, std)


def pooled_normalization(
    parts: Iterable[tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray, int]],
) -> Normalization:
    """Combine per-folder ``(mean, std, n_pixels)`` into the statistics of the union.

    Uses the law of total variance: ``var = sum(n_i (std_i^2 + mean_i^2)) / N - mean^2``.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("pooled_normalization needs at least one part")
    weights = np.array([float(n) for _, _, n in parts])
    means = np.array([list(m) for m, _, _ in parts], dtype=np.float64)
    stds = np.array([list(s) for _, s, _ in parts], dtype=np.float64)
    total = weights.sum()
    mean = (weights[:, None] * means).sum(axis=0) / total
    second = (weights[:, None] * (stds**2 + means**2)).sum(axis=0) / total
    std = np.sqrt(np.maximum(second - mean**2, 0.0))
    return Normalization(mean, std)


def normalization_from_yaml(records: Sequence[TileRecord]) -> Normalization:
    """Pool the published ``metrics-normalization.yaml`` of the folders ``records`` come from.

    Each folder is weighted by its number of tiles in ``records`` (tiles have the
    same size). Cheaper than :func:`compute_normalization`, but a folder's file
    also covers tiles that may sit in the validation set.
    """
    folders: dict[tuple[str, int], list[TileRecord]] = {}
    for record in records:
        folders.setdefault((record.nuts, record.year), []).append(record)
    parts = []
    for _, members in sorted(folders.items()):
        stats = normalization_beside(members[0].image)
        parts.append((stats.mean, stats.std, len(members)))
    return pooled_normalization(parts)

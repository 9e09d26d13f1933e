"""Per-band normalisation: the ``normalization_mean`` / ``normalization_std`` of ``params.json``.

The network sees ``(x - mean) / std`` for every band. The statistics must come
from the training tiles only (validation tiles would leak into them) and must
travel with the model: inference repeats exactly the same operation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from landcover.training.io import TileRecord, normalization_yaml_of, read_image


@dataclass(frozen=True)
class Normalization:
    """Per-band mean and standard deviation, in reflectance units (bands in file order)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std):
            raise ValueError(f"normalisation mean has {len(self.mean)} values but std has {len(self.std)}")
        if any(not (s > 0) for s in self.std):
            raise ValueError(f"normalisation std must be positive, got {list(self.std)}")

    @property
    def n_bands(self) -> int:
        return len(self.mean)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Normalise a ``(bands, rows, cols)`` array to float32; non-finite pixels become 0 (the mean)."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[0] < self.n_bands:
            raise ValueError(f"expected an array (>= {self.n_bands}, rows, cols), got shape {image.shape}")
        mean = np.asarray(self.mean, dtype=np.float32)[:, None, None]
        std = np.asarray(self.std, dtype=np.float32)[:, None, None]
        out = (image[: self.n_bands].astype(np.float32) - mean) / std
        return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)

    def as_lists(self) -> tuple[list[float], list[float]]:
        return [float(v) for v in self.mean], [float(v) for v in self.std]

    @classmethod
    def from_lists(cls, mean: Sequence[float], std: Sequence[float]) -> Normalization:
        return cls(tuple(float(v) for v in mean), tuple(float(v) for v in std))


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
    return Normalization.from_lists(mean, std)


def pooled_normalization(parts: Iterable[tuple[Sequence[float], Sequence[float], int]]) -> Normalization:
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
    return Normalization.from_lists(mean, std)


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
        stats = normalization_yaml_of(members[0])
        parts.append((stats["mean"], stats["std"], len(members)))
    return pooled_normalization(parts)


def is_close(a: Normalization, b: Normalization, rel: float = 1e-6) -> bool:
    """Whether two normalisations agree band by band."""
    return a.n_bands == b.n_bands and all(
        math.isclose(x, y, rel_tol=rel, abs_tol=1e-12) for x, y in zip(a.mean + a.std, b.mean + b.std)
    )

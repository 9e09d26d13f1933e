"""PyTorch datasets over the tiles of the data root, in the spirit of torchgeo.

Two concepts, two classes:

- :class:`Sentinel2Tiles`: image tiles alone (any year, 2024 included), for
  prediction;
- :class:`LandCoverTiles`: (image, label) pairs of the labelled years, for
  training and validation.

A sample is a dict: ``image`` float32 ``(bands, rows, cols)`` already
normalised, ``mask`` int64 ``(rows, cols)`` with the label values (0 = nodata,
1..10 = classes), plus ``nuts``, ``year``, ``stem`` and ``index``. Both classes
have a ``plot(sample)`` method drawing a true-colour composite and the mask in
the book's class colours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from landcover.bands import TRUE_COLOUR
from landcover.classes import N_CLASSES, NODATA, legend_handles, listed_colormap
from landcover.data.normalization import Normalization
from landcover.training.io import TileRecord, read_image, read_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: An albumentations transform (or anything called like one): ``transform(image=..., mask=...)`` -> dict.
Transform = Callable[..., dict[str, Any]]


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A reproducible 32-bit seed for the augmentation of one sample in one epoch.

    Seeding per sample (not per worker) makes the augmentations independent of
    the number of data-loader workers and lets a resumed run replay them exactly.
    """
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1)[0])


class Sentinel2Tiles(Dataset):
    """Normalised Sentinel-2 tiles (no labels).

    ``transform``: an albumentations transform applied to the image (channels
    last) after normalisation. ``cache``: keep the normalised arrays in memory
    after the first read (3.5 MB per 250 x 250 x 14 tile). ``repeats``: each
    tile appears that many times per pass (with other random crops), so an
    epoch of small crops still sees most of every tile.
    """

    def __init__(
        self,
        records: Sequence[TileRecord],
        normalization: Normalization,
        *,
        n_bands: int = 14,
        transform: Transform | None = None,
        cache: bool = False,
        seed: int = 0,
        repeats: int = 1,
    ) -> None:
        if not records:
            raise ValueError("a dataset needs at least one tile record")
        if normalization.n_bands != n_bands:
            raise ValueError(f"normalisation has {normalization.n_bands} bands but n_bands={n_bands}")
        self.records = list(records)
        self.normalization = normalization
        self.n_bands = n_bands
        self.transform = transform
        self.cache = cache
        self.seed = seed
        if repeats < 1:
            raise ValueError(f"repeats must be at least 1, got {repeats}")
        self.repeats = int(repeats)
        self.epoch = 0
        self._images: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.records) * self.repeats

    @property
    def n_tiles(self) -> int:
        """Number of distinct tiles (``len`` counts each tile ``repeats`` times)."""
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose augmentations the next samples get (see :func:`sample_seed`)."""
        self.epoch = int(epoch)

    def load_image(self, index: int) -> np.ndarray:
        """The normalised image of tile ``index`` as float32 ``(bands, rows, cols)``."""
        if index in self._images:
            return self._images[index]
        image = self.normalization.apply(read_image(self.records[index].image, self.n_bands))
        if self.cache:
            self._images[index] = image
        return image

    def preload(self, progress: bool = True) -> None:
        """Read every tile once (and keep it when ``cache`` is on), with a progress bar."""
        for index in tqdm(range(self.n_tiles), desc="reading tiles", disable=not progress, leave=False):
            self._load_all(index)

    def _load_all(self, index: int) -> None:
        self.load_image(index)

    def _metadata(self, index: int) -> dict:
        record = self.records[index]
        return {"nuts": record.nuts, "year": record.year, "stem": record.stem, "index": index}

    def _seed_transform(self, index: int) -> None:
        if self.transform is not None and hasattr(self.transform, "set_random_seed"):
            self.transform.set_random_seed(sample_seed(self.seed, self.epoch, index))

    def _tile(self, index: int) -> int:
        """The tile of a sample index.

        With ``repeats``, sample ``i + k * n_tiles`` is tile ``i`` again, with
        other random crops and symmetries.
        """
        if not 0 <= index < len(self):
            raise IndexError(f"sample index {index} out of range 0..{len(self) - 1}")
        return index % self.n_tiles

    def __getitem__(self, index: int) -> dict:
        sample_index, index = index, self._tile(index)
        image = self.load_image(index)
        if self.transform is not None:
            self._seed_transform(sample_index)
            image = self.transform(image=np.moveaxis(image, 0, -1))["image"]
            image = np.moveaxis(image, -1, 0)
        return {"image": torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)), **self._metadata(index)}

    # -- figures ---------------------------------------------------------------------------
    def rgb(self, image: torch.Tensor | np.ndarray) -> np.ndarray:
        """A displayable true-colour composite (B4, B3, B2) of a normalised image, 2-98 % stretch."""
        array = np.asarray(image, dtype=np.float32)
        mean = np.asarray(self.normalization.mean, dtype=np.float32)[:, None, None]
        std = np.asarray(self.normalization.std, dtype=np.float32)[:, None, None]
        reflectance = array * std[: array.shape[0]] + mean[: array.shape[0]]
        rgb = np.stack([reflectance[i - 1] for i in TRUE_COLOUR], axis=-1)
        low, high = np.nanpercentile(rgb, [2, 98])
        return np.clip((rgb - low) / max(high - low, 1e-6), 0, 1)

    def plot(self, sample: dict, *, suptitle: str | None = None) -> Figure:
        """True-colour composite of ``sample`` (and its mask / prediction when present)."""
        import matplotlib.pyplot as plt

        panels = [("mask", "Reference (CLC+ Backbone)"), ("prediction", "Prediction")]
        panels = [(key, title) for key, title in panels if key in sample]
        fig, axes = plt.subplots(1, 1 + len(panels), figsize=(4.5 * (1 + len(panels)) + 2.5, 4.5))
        axes = np.atleast_1d(axes)
        axes[0].imshow(self.rgb(sample["image"]))
        axes[0].set_title("True colour (B4, B3, B2)")
        cmap, norm = listed_colormap()
        for ax, (key, title) in zip(axes[1:], panels):
            ax.imshow(np.asarray(sample[key]), cmap=cmap, norm=norm, interpolation="nearest")
            ax.set_title(title)
        for ax in axes:
            ax.set_axis_off()
        if panels:
            shown = set()
            for key, _ in panels:
                shown.update(int(v) for v in np.unique(np.asarray(sample[key])) if 0 < int(v) <= N_CLASSES)
            fig.legend(
                handles=legend_handles(sorted(shown)), loc="center left", bbox_to_anchor=(0.8, 0.5), fontsize=8
            )
            fig.subplots_adjust(right=0.79)
        name = f"{sample.get('nuts', '')} {sample.get('year', '')} {sample.get('stem', '')}".strip()
        fig.suptitle(suptitle or f"Tile {name} (10 m pixels, EPSG:3035)")
        return fig


class LandCoverTiles(Sentinel2Tiles):
    """(image, label) pairs for training and validation.

    ``transform`` is applied to image and mask together (see
    :mod:`landcover.training.augment`); ``image_transform`` to the image alone
    (the resize to ``augment_size`` at validation time, so the mask keeps its
    resolution). Labels stay in their file values: 0 = nodata, 1..10 = classes.
    """

    def __init__(
        self,
        records: Sequence[TileRecord],
        normalization: Normalization,
        *,
        image_transform: Transform | None = None,
        **kwargs: Any,
    ) -> None:
        missing = [r for r in records if r.label is None]
        if missing:
            raise ValueError(f"{len(missing)} tiles have no label, e.g. {missing[0].image}")
        super().__init__(records, normalization, **kwargs)
        self.image_transform = image_transform
        self._labels: dict[int, np.ndarray] = {}

    def load_label(self, index: int) -> np.ndarray:
        """The label array of tile ``index`` (uint8, 0 = nodata)."""
        if index in self._labels:
            return self._labels[index]
        label = read_label(self.records[index].label)
        if self.cache:
            self._labels[index] = label
        return label

    def _load_all(self, index: int) -> None:
        self.load_image(index)
        self.load_label(index)

    def label_counts(self, progress: bool = True) -> np.ndarray:
        """Pixel counts of label values 0..10 over the whole dataset (index = label value)."""
        counts = np.zeros(N_CLASSES + 1, dtype=np.int64)
        for index in tqdm(range(self.n_tiles), desc="counting labels", disable=not progress, leave=False):
            counts += np.bincount(self.load_label(index).ravel(), minlength=N_CLASSES + 1)[: N_CLASSES + 1]
        return counts

    def __getitem__(self, index: int) -> dict:
        sample_index, index = index, self._tile(index)
        image = self.load_image(index)
        mask = self.load_label(index)
        if image.shape[1:] != mask.shape:
            record = self.records[index]
            raise ValueError(f"{record.image}: image {image.shape[1:]} and label {mask.shape} differ in size")
        if self.transform is not None:
            self._seed_transform(sample_index)
            out = self.transform(image=np.moveaxis(image, 0, -1), mask=mask)
            image, mask = np.moveaxis(out["image"], -1, 0), out["mask"]
        if self.image_transform is not None:
            image = np.moveaxis(self.image_transform(image=np.moveaxis(image, 0, -1))["image"], -1, 0)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)),
            "mask": torch.from_numpy(np.ascontiguousarray(mask).astype(np.int64)),
            **self._metadata(index),
        }


def valid_fraction(mask: np.ndarray | torch.Tensor) -> float:
    """Share of labelled (not nodata) pixels in a mask."""
    array = np.asarray(mask)
    return float((array != NODATA).mean()) if array.size else 0.0

"""Checks for chapter 1, data acquisition.

The checks recompute what they compare against from the tile itself (under
the active data root), so they hold on the synthetic sample and on the real
bucket alike, and no answer is stored here.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from landcover.bands import BAND_NAMES, band_index
from landcover.exercises.checks import Hint, exercise_check, expect_array, expect_finite

#: The tile chapter 1 opens: (NUTS3 region, year, file stem).
CHAPTER_TILE = ("LU000", 2024, "4042000_2951690_0_637")
#: The display stretch the chapter teaches: one percentile over the three bands, then clip.
STRETCH_PERCENTILE = 98.0


@lru_cache(maxsize=4)
def _tile_bands(root: str) -> np.ndarray:
    """All 14 channels of the chapter tile, (14, H, W), as stored (float64 reflectance)."""
    from landcover.data import read_tile

    nuts, year, stem = CHAPTER_TILE
    return read_tile(nuts, year, stem, root=root)["array"]


def chapter_tile_bands() -> np.ndarray:
    """The chapter tile under the active data root (cached per root)."""
    from landcover.config import data_root

    return _tile_bands(data_root())


def _identify_channels(array: np.ndarray, bands: np.ndarray) -> list[str | None]:
    """Name each channel of ``array`` by the tile band it equals (None when none does)."""
    names: list[str | None] = []
    for channel in array:
        match = None
        for index, band in enumerate(bands):
            if channel.shape == band.shape and np.allclose(channel, band, rtol=1e-5, atol=1e-7):
                match = BAND_NAMES[index]
                break
        names.append(match)
    return names


def display_stretch(chw: np.ndarray, percentile: float = STRETCH_PERCENTILE) -> np.ndarray:
    """The chapter's display stretch of a (3, H, W) array, as (H, W, 3) in [0, 1]."""
    hwc = np.transpose(chw, (1, 2, 0)).astype(np.float32)
    return np.clip(hwc / np.percentile(hwc, percentile), 0, 1)


@exercise_check(
    "acq-rgb",
    names=("rgb_data", "rgb"),
    success="Your composite matches the 98th-percentile stretch of bands B4, B3, B2.",
)
def check_rgb_composite(rgb_data: object, rgb: object) -> None:
    """rgb_data: bands B4, B3, B2 as read (3, H, W); rgb: the stretched (H, W, 3) image."""
    bands = chapter_tile_bands()
    _, height, width = bands.shape
    true_colour = ["B4", "B3", "B2"]

    data = expect_array(rgb_data, "rgb_data", ndim=3)
    if data.shape == (height, width, 3):
        raise Hint("`rgb_data` is already (H, W, 3): keep it as rasterio returns it, bands first (3, H, W).")
    if data.shape[1:] != (height, width):
        raise Hint(f"`rgb_data` has shape {data.shape}; the tile is {height} x {width} pixels, bands first.")
    if data.shape[0] == bands.shape[0]:
        raise Hint("`rgb_data` holds all 14 channels: read only the three a true-colour image needs.")
    if data.shape[0] != 3:
        raise Hint(f"`rgb_data` holds {data.shape[0]} bands; a colour composite needs exactly three.")
    found = _identify_channels(data, bands)
    if None in found:
        raise Hint(
            "`rgb_data` does not match the bands of the chapter tile "
            f"({'/'.join(map(str, CHAPTER_TILE))}): read that tile, and do not rescale `rgb_data` itself."
        )
    if found != true_colour:
        if sorted(found) == sorted(true_colour):
            raise Hint(
                f"`rgb_data` holds {', '.join(found)}: the right bands in the wrong order. "
                "Matplotlib reads the channels as red, green, blue."
            )
        indexes = ", ".join(str(band_index(name)) for name in found if name)
        raise Hint(
            f"`rgb_data` holds {', '.join(map(str, found))} (rasterio indexes {indexes}). "
            "True colour needs the red, green and blue bands: look them up in the channel table."
        )

    image = expect_array(rgb, "rgb", ndim=3)
    if image.shape == (3, height, width):
        raise Hint("`rgb` is still bands-first (3, H, W); matplotlib wants (H, W, 3): move the band axis last.")
    if image.shape != (height, width, 3):
        raise Hint(f"`rgb` has shape {image.shape}; it should be ({height}, {width}, 3).")
    expect_finite(image, "rgb")
    expected = display_stretch(data)
    raw = np.transpose(data, (1, 2, 0))
    if image.min() < -1e-6 or image.max() > 1 + 1e-6:
        raise Hint(
            f"`rgb` ranges from {image.min():.3g} to {image.max():.3g}; after dividing by the percentile, "
            "clip to [0, 1] so the brightest pixels saturate to white."
        )
    if np.allclose(image, expected, atol=2e-3):
        return None
    if np.allclose(image, raw, atol=1e-6):
        raise Hint(
            f"`rgb` holds the raw reflectance (brightest value {raw.max():.2f}), so the image looks dark: "
            "stretch it with the 98th percentile, as the steps say."
        )
    per_band = np.stack(
        [np.clip(raw[..., k] / np.percentile(raw[..., k], STRETCH_PERCENTILE), 0, 1) for k in range(3)], axis=-1
    )
    if np.allclose(image, per_band, atol=2e-3):
        raise Hint(
            "`rgb` was stretched band by band; use one percentile over all three bands, "
            "so the balance between red, green and blue is kept."
        )
    unclipped = (image > 1e-3) & (image < 0.999) & (raw > 0)
    if unclipped.sum() > 100:
        ratios = raw[unclipped] / image[unclipped]
        scale = float(np.median(ratios))
        if float(np.std(ratios)) < 1e-3 * scale:  # one divisor for every value: a different percentile?
            used = float(np.mean(raw <= scale) * 100)
            if abs(used - STRETCH_PERCENTILE) >= 0.5:
                raise Hint(
                    f"`rgb` looks divided by about the {used:.0f}th percentile; the steps use the "
                    f"{STRETCH_PERCENTILE:.0f}th, over all pixels of the three bands."
                )
    difference = float(np.mean(np.abs(image.astype(np.float64) - expected)))
    raise Hint(
        f"`rgb` differs from the stretch described in the steps (mean difference {difference:.3f} per value): "
        "transpose, divide by the 98th percentile of all three bands, clip to [0, 1]."
    )

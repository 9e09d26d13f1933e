"""Surface spectra and the synthesis of a 14-channel tile from a land-cover scene.

Endmember spectra are Sentinel-2 L2A surface reflectances (x 10000, the 12
bands in file order). The clear water, turbid water, conifer, healthy and dry
vegetation, bare soil, paved and sand profiles are the "typical spectral
profiles" of the Esri Sentinel-2 Explorer (see the project's REFERENCE.md); the
others are filled in from the summer ranges listed there, with red-edge and
water-vapour bands interpolated along plausible curves.

A pixel is a linear mixture of two endmembers, scaled by a brightness factor
(illumination, canopy density, soil moisture), with the SWIR bands scaled again
by a moisture factor. The sensor side adds a slight point-spread blur, averages
the 20 m and 60 m bands over their native cells (then resamples them to 10 m by
nearest neighbour), and adds a little haze, noise, and quantisation.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Endmember spectra, surface reflectance x 10000, bands B1 B2 B3 B4 B5 B6 B7 B8 B8A B9 B11 B12.
ENDMEMBERS: dict[str, tuple[int, ...]] = {
    "none": (0,) * 12,
    "water_clear": (182, 212, 218, 92, 84, 34, 36, 28, 25, 10, 30, 30),
    "water_turbid": (721, 900, 1215, 1404, 1491, 1041, 1087, 960, 818, 334, 189, 168),
    "conifer": (112, 167, 330, 208, 583, 1655, 1998, 2148, 2181, 2118, 983, 503),
    "broadleaf": (170, 250, 520, 250, 720, 2400, 3150, 3450, 3560, 3480, 1650, 760),
    "evergreen": (210, 300, 500, 400, 760, 1750, 2200, 2450, 2560, 2500, 1900, 1000),
    "shrub": (300, 430, 630, 660, 1000, 1700, 2080, 2280, 2380, 2340, 2200, 1250),
    "grass": (260, 370, 700, 450, 960, 2550, 3150, 3450, 3560, 3500, 2050, 1050),
    "crop": (236, 292, 535, 299, 798, 3196, 4284, 4385, 4512, 4485, 1745, 800),
    "dry_vegetation": (473, 609, 892, 1008, 1466, 2352, 2674, 2826, 2932, 2966, 2924, 1999),
    "soil": (742, 955, 1310, 1815, 2158, 2373, 2564, 2666, 2853, 2869, 3847, 2933),
    "paved": (1367, 1727, 2000, 2190, 2345, 2299, 2330, 2278, 2308, 2257, 2704, 2721),
    "asphalt": (640, 760, 850, 900, 960, 1000, 1030, 1050, 1080, 1060, 1250, 1200),
    "roof_red": (600, 700, 790, 1020, 1260, 1450, 1560, 1650, 1700, 1660, 2300, 1950),
    "roof_dark": (520, 600, 660, 700, 760, 820, 860, 900, 920, 900, 1200, 1100),
    "lichen": (380, 500, 700, 760, 1100, 1700, 1950, 2150, 2250, 2200, 2300, 1550),
    "rock": (1350, 1700, 2000, 2250, 2400, 2480, 2530, 2580, 2630, 2580, 2950, 2550),
    "sand": (1705, 2428, 3099, 3652, 3892, 3884, 3972, 4109, 4015, 3724, 4341, 3834),
    "burnt": (330, 420, 520, 620, 780, 980, 1120, 1250, 1350, 1330, 1850, 1650),
}
MATERIALS: tuple[str, ...] = tuple(ENDMEMBERS)
MATERIAL_ID: dict[str, int] = {name: i for i, name in enumerate(MATERIALS)}
#: (n_materials, 12) reflectance 0..1, float32.
SPECTRA = np.array([ENDMEMBERS[m] for m in MATERIALS], dtype=np.float32) / 10000.0

#: Top of a thick cumulus: bright and nearly flat, darker in the water-vapour and SWIR bands.
CLOUD_SPECTRUM = (
    np.array([4700, 4800, 4850, 4900, 4950, 5000, 5000, 5050, 5050, 3300, 3800, 2700], dtype=np.float32)
    / 10000.0
)

#: Native resolution of each band in 10 m pixels (1, 2 or 6): 20 m and 60 m bands are
#: averaged over their native cells and resampled to 10 m by nearest neighbour, as
#: many Sentinel-2 stacks are (blocks of 2 x 2 and 6 x 6 identical pixels).
NATIVE_PX = np.array([6, 1, 1, 1, 2, 2, 2, 1, 2, 6, 2, 2])
#: Point-spread blur (Gaussian sigma in 10 m pixels) applied before resampling.
PSF_SIGMA = 0.6
#: Sensor noise (reflectance units) per band.
NOISE_SIGMA = np.array(
    [0.002, 0.004, 0.004, 0.004, 0.003, 0.0035, 0.0035, 0.004, 0.0035, 0.0025, 0.0035, 0.003],
    dtype=np.float32,
)
#: Haze residual after atmospheric correction, at strength 1 (mostly blue).
HAZE = np.array([0.012, 0.009, 0.006, 0.004, 0.003, 0.002, 0.002, 0.001, 0.001, 0.001, 0.0, 0.0], np.float32)

#: Reflectance and indices are rounded to multiples of this (so float64 compresses; see README).
QUANTUM = 2.0**-13


def mix(
    m1: np.ndarray, m2: np.ndarray, frac2: np.ndarray, bright: np.ndarray, swir: np.ndarray
) -> np.ndarray:
    """Ground reflectance (12, H, W) float32 from per-pixel materials and factors."""
    s1 = SPECTRA[m1]  # (H, W, 12)
    s2 = SPECTRA[m2]
    f = frac2[..., None].astype(np.float32)
    out = (s1 + f * (s2 - s1)) * bright[..., None].astype(np.float32)
    out[..., 10:12] *= swir[..., None].astype(np.float32)
    return np.ascontiguousarray(np.moveaxis(out, -1, 0))


def blur_bands(reflectance: np.ndarray) -> np.ndarray:
    """Apply the sensor's point-spread function to every band (slightly soft edges)."""
    out = np.empty_like(reflectance)
    for band in range(reflectance.shape[0]):
        out[band] = ndimage.gaussian_filter(reflectance[band], PSF_SIGMA, mode="nearest", truncate=3.0)
    return out


def block_ids(start: int, length: int, factor: int) -> np.ndarray:
    """Index of the native cell of each pixel along one axis (cells aligned on the global 10 m grid)."""
    cells = (np.arange(length) + start) // factor
    return cells - cells[0]


def resample_native(
    band: np.ndarray, rows: np.ndarray, cols: np.ndarray, noise: np.ndarray | None
) -> np.ndarray:
    """Average a band over native cells, add per-cell noise, and paint it back at 10 m (nearest)."""
    n_cols = int(cols[-1]) + 1
    ids = rows[:, None] * n_cols + cols[None, :]
    count = np.bincount(ids.ravel())
    means = np.bincount(ids.ravel(), weights=band.ravel().astype(np.float64)) / np.maximum(count, 1)
    if noise is not None:
        means = means + noise[: means.size]
    return means[ids].astype(np.float32)


def add_clouds(reflectance: np.ndarray, opacity: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    """Darken cloud shadows, then blend the cloud spectrum in with ``opacity`` (0..1)."""
    shade = 1.0 - 0.6 * shadow * (1.0 - opacity)
    out = reflectance * shade[None]
    out += opacity[None] * (CLOUD_SPECTRUM[:, None, None] - out)
    return out


def normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b), 0 where the sum is 0."""
    total = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total == 0, 0.0, (a - b) / np.where(total == 0, 1.0, total))


def quantise(values: np.ndarray) -> np.ndarray:
    """Round to multiples of :data:`QUANTUM` (float64)."""
    return np.round(np.asarray(values, np.float64) / QUANTUM) * QUANTUM


def finish_tile(
    ground: np.ndarray, rng: np.random.Generator, haze: float, halo: int, origin: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """Sensor side: blur, resample 20/60 m bands, haze, noise, crop the halo, clip, quantise, add indices.

    ``ground`` is (12, H + 2 halo, W + 2 halo) float32; ``origin`` the global
    (row, col) of its first pixel on the 10 m grid (row = -y_top / 10, col = x_left / 10),
    which aligns the 20 m and 60 m cells across tiles. Returns (14, H, W) float64
    in file order (B1..B12, NDVI, NDWI).
    """
    seen = blur_bands(ground) + (haze * HAZE)[:, None, None]
    height, width = seen.shape[1:]
    for band, factor in enumerate(NATIVE_PX):
        if factor == 1:
            seen[band] += rng.standard_normal((height, width), dtype=np.float32) * NOISE_SIGMA[band]
        else:
            rows = block_ids(origin[0], height, int(factor))
            cols = block_ids(origin[1], width, int(factor))
            noise = rng.standard_normal((int(rows[-1]) + 1) * (int(cols[-1]) + 1)) * NOISE_SIGMA[band]
            seen[band] = resample_native(seen[band], rows, cols, noise)
    if halo:
        seen = seen[:, halo:-halo, halo:-halo]
    bands = quantise(np.clip(seen, 0.0, 1.0))
    out = np.empty((14, *bands.shape[1:]), np.float64)
    out[:12] = bands
    out[12] = quantise(normalized_difference(bands[7], bands[3]))  # NDVI = (B8 - B4) / (B8 + B4)
    out[13] = quantise(normalized_difference(bands[2], bands[7]))  # NDWI = (B3 - B8) / (B3 + B8)
    return out

"""Flag clouds and cloud shadows in a 14-band tile with two simple tests.

The bucket's tiles are composites of cloud-filtered scenes, but a few summer
cumulus fields remain, and the 14 channels carry no cloud mask: the
Scene Classification Layer and the cirrus band B10 of the original products
were not kept. A model trained on clear land classifies a cloud as whatever
it resembles (bright bare ground, a flat roof) and its shadow as water or
dark forest, so the book flags both and treats them as nodata (class 0).

Clouds: the *haze-optimised transform* (HOT, Zhang, Guindon and Cihlar 2002,
Remote Sensing of Environment 82, 173-187) measures how much bluer a pixel
is than clear land of the same redness: ``HOT = B2 - 0.5 * B4`` (reflectance).
Clear land sits below about 0.05 (vegetation near 0.02, bare soil and roofs
up to about 0.05); a cloud's flat, bright spectrum gives 0.2 and more. Pixels
above the threshold, in patches of at least 3 x 3 pixels (a cloud is an object;
sunlit rock and bright roofs that pass the test are scattered pixels), grown by
a small buffer for the soft edges, are cloud.

Shadows: a shadow is dark, but so are water and conifer forest, so darkness
alone flags too much. The test looks for dark pixels (NIR ``B8`` below a
threshold, NDWI below 0 so water is left out) only where a shadow can be: on
the side of each cloud away from the sun, up to a maximum distance. At the
10:30 overpass over Europe the sun stands in the south-south-east (azimuth
about 160 degrees), so shadows fall to the north-north-west. The distance
depends on the cloud's height and the sun's elevation; the default (600 m)
covers low cumulus. A cloud in the next tile can shade this one: tile by tile,
such shadows are missed.

Both tests are deliberately simple (real processing chains use Fmask, s2cloudless
or the SCL band); chapter 1 shows how well they do on the synthetic data.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from landcover.bands import N_BANDS, band_index

#: HOT above this (reflectance) is cloud.
HOT_THRESHOLD = 0.08
#: Pixels added around each cloud for its soft, semi-transparent edge.
CLOUD_BUFFER_PX = 2
#: Sun azimuth (degrees clockwise from north) at the Sentinel-2 overpass over Europe in summer.
SUN_AZIMUTH_DEG = 160.0
#: How far from its cloud a shadow is looked for (metres).
SHADOW_MAX_DISTANCE_M = 600.0
#: NIR (B8) reflectance below which a pixel near a cloud, on the shadow side, is shadow.
SHADOW_NIR_THRESHOLD = 0.2
#: Version of the rules above; part of the prediction store's key, so a change never serves old masks.
CLOUD_RULES_VERSION = "clouds1"

_B2, _B3, _B4, _B8 = (band_index(name) - 1 for name in ("B2", "B3", "B4", "B8"))


def _bands(array: np.ndarray) -> np.ndarray:
    """``array`` as float32 ``(bands, H, W)`` with at least the 12 spectral bands, or a ``ValueError``."""
    data = np.asarray(array, dtype=np.float32)
    if data.ndim != 3 or data.shape[0] < 12:
        raise ValueError(
            f"array: expected (bands, rows, cols) with the {N_BANDS} channels of a tile in file order, "
            f"got shape {data.shape}"
        )
    return data


def haze_optimised_transform(array: np.ndarray) -> np.ndarray:
    """HOT = B2 - 0.5 * B4 per pixel (reflectance, float32 ``(H, W)``): high for cloud and haze."""
    data = _bands(array)
    return data[_B2] - 0.5 * data[_B4]


def cloud_mask(array: np.ndarray, threshold: float = HOT_THRESHOLD, buffer_px: int = CLOUD_BUFFER_PX) -> np.ndarray:
    """Boolean ``(H, W)``: cloud, by the HOT test, grown by ``buffer_px`` pixels (10 m each).

    Parameters
    ----------
    array : numpy.ndarray
        A tile ``(bands, H, W)`` in reflectance, bands in file order (B1 ... B12, NDVI, NDWI).
    threshold : float
        HOT value (reflectance) above which a pixel is cloud.
    buffer_px : int
        Pixels added around every cloud (0 for none).
    """
    hot = haze_optimised_transform(array)
    square = np.ones((3, 3), bool)
    # An opening keeps only patches at least 3 x 3 pixels: a cloud is an object, while a few
    # sunlit rocks or bright roofs that pass the test are scattered single pixels.
    cloud = ndimage.binary_opening(np.nan_to_num(hot, nan=0.0) > threshold, structure=square)
    if buffer_px > 0 and cloud.any():
        cloud = ndimage.binary_dilation(cloud, structure=square, iterations=int(buffer_px))
    return cloud


def shadow_search_area(
    cloud: np.ndarray,
    sun_azimuth_deg: float = SUN_AZIMUTH_DEG,
    max_distance_m: float = SHADOW_MAX_DISTANCE_M,
    pixel_size_m: float = 10.0,
) -> np.ndarray:
    """Boolean ``(H, W)``: where the clouds' shadows can fall (the clouds swept away from the sun).

    The cloud mask is shifted step by step (two pixels at a time) in the
    direction opposite the sun, up to ``max_distance_m``; rows grow to the
    south, so a shadow to the north is a negative row offset.
    """
    area = np.zeros(cloud.shape, bool)
    if not cloud.any():
        return area
    away = np.radians(sun_azimuth_deg + 180.0)
    step_rows, step_cols = -np.cos(away), np.sin(away)
    for distance in range(2, int(max_distance_m / pixel_size_m) + 1, 2):
        shift = (int(round(distance * step_rows)), int(round(distance * step_cols)))
        area |= ndimage.shift(cloud, shift, order=0, cval=False)
    return area & ~cloud


def shadow_mask(
    array: np.ndarray,
    cloud: np.ndarray | None = None,
    nir_threshold: float = SHADOW_NIR_THRESHOLD,
    sun_azimuth_deg: float = SUN_AZIMUTH_DEG,
    max_distance_m: float = SHADOW_MAX_DISTANCE_M,
) -> np.ndarray:
    """Boolean ``(H, W)``: cloud shadow, dark land (B8 below ``nir_threshold``, NDWI < 0) on a cloud's shadow side.

    ``cloud`` defaults to :func:`cloud_mask` of ``array``.
    """
    data = _bands(array)
    cloud = cloud_mask(data) if cloud is None else np.asarray(cloud, bool)
    if cloud.shape != data.shape[1:]:
        raise ValueError(f"cloud: shape {cloud.shape} does not match the image's {data.shape[1:]}")
    area = shadow_search_area(cloud, sun_azimuth_deg, max_distance_m)
    nir, green = data[_B8], data[_B3]
    with np.errstate(divide="ignore", invalid="ignore"):
        ndwi = (green - nir) / (green + nir)
    return area & (nir < nir_threshold) & (np.nan_to_num(ndwi, nan=1.0) < 0)


def unusable_mask(array: np.ndarray) -> np.ndarray:
    """Boolean ``(H, W)``: cloud or cloud shadow, the pixels the book does not classify."""
    data = _bands(array)
    cloud = cloud_mask(data)
    return cloud | shadow_mask(data, cloud)

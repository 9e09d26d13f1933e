"""From a product's digital numbers to one tile's 14 channels.

Three steps, each easy to get subtly wrong:

1. **Reprojection.** Sentinel-2 products are gridded in UTM; tiles are in
   EPSG:3035. Each band is warped with ``rasterio.warp.reproject`` onto the
   tile's exact 250 x 250 grid of 10 m (bilinear for reflectance), so every
   output pixel samples the place it represents; cutting the UTM envelope of
   the tile and resizing it would shift and shear the picture.
2. **Radiometric offset.** From processing baseline 04.00 (and in every product
   reprocessed with it), L2A numbers carry an offset:
   ``reflectance = (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE`` with
   ``-1000`` and ``10000``. Earlier baselines have no offset. The product's
   baseline decides, never its acquisition date.
3. **Indices.** NDVI = (B8 - B4) / (B8 + B4) and NDWI = (B3 - B8) / (B3 + B8)
   are appended, giving the 14 channels of the data contract.

Pixels without data (DN 0, outside the swath or the product) come out as NaN so
that a mosaic can fill them from another product.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.io import DatasetReader
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window

from landcover.bands import N_BANDS, PRODUCT_BAND_NAMES, SPECTRAL_BAND_NAMES
from landcover.bands import NATIVE_RESOLUTION_M as _NATIVE_RESOLUTION_M
from landcover.data.grid import TILE_CRS, Tile
from landcover.data.paths import PIXEL_SIZE_M, TILE_SIZE_PX

#: Band names inside a .SAFE product, in the order of the tiles' first 12 channels.
SAFE_BANDS: tuple[str, ...] = PRODUCT_BAND_NAMES
#: Native resolution (m) of each SAFE band: the file the pipeline reads.
NATIVE_RESOLUTION_M: dict[str, int] = dict(_NATIVE_RESOLUTION_M)
#: ``band_id`` of each band in the L2A metadata (MTD_MSIL2A.xml): B1..B8, B8A, B9, B10, B11, B12.
METADATA_BAND_ID: dict[str, int] = {
    "B01": 0,
    "B02": 1,
    "B03": 2,
    "B04": 3,
    "B05": 4,
    "B06": 5,
    "B07": 6,
    "B08": 7,
    "B8A": 8,
    "B09": 9,
    "B10": 10,
    "B11": 11,
    "B12": 12,
}
#: Value of L2A pixels without data.
L2A_NODATA = 0
#: The offset introduced with processing baseline 04.00.
BASELINE_04_OFFSET = -1000.0
DEFAULT_QUANTIFICATION = 10000.0
#: Reflectance is clipped to this range (the data contract stores 0..1).
REFLECTANCE_RANGE = (0.0, 1.0)

assert tuple(b.replace("B0", "B") for b in SAFE_BANDS) == SPECTRAL_BAND_NAMES  # same order as landcover.bands


def _baseline_number(baseline: str) -> float:
    try:
        return float(baseline)
    except ValueError:
        raise ValueError(f"processing baseline {baseline!r} is not of the form '04.00'") from None


@dataclass(frozen=True)
class Radiometry:
    """How to turn a product's digital numbers into reflectance, per SAFE band."""

    baseline: str | None
    quantification: float = DEFAULT_QUANTIFICATION
    offsets: dict[str, float] = field(default_factory=dict)

    def offset(self, band: str) -> float:
        """The offset added to ``band``'s digital numbers before scaling (0 when the product lists none)."""
        return self.offsets.get(band, 0.0)

    @classmethod
    def for_baseline(cls, baseline: str | None) -> Radiometry:
        """The rule of the baseline: offset -1000 from 04.00 on, none before.

        An unknown baseline is refused: guessing would bias every value by 0.1.
        """
        if baseline is None:
            raise ValueError(
                "the product's processing baseline is unknown (no '_Nxxxx_' in its name and no "
                "metadata): cannot tell whether its values carry the -1000 offset"
            )
        offset = BASELINE_04_OFFSET if _baseline_number(baseline) >= 4.0 else 0.0
        return cls(baseline=baseline, offsets={b: offset for b in SAFE_BANDS})

    def to_reflectance(self, dn: np.ndarray, band: str) -> np.ndarray:
        """Reflectance (float32, clipped to 0..1) from digital numbers; NaN stays NaN."""
        values = (np.asarray(dn, dtype=np.float32) + np.float32(self.offset(band))) / np.float32(
            self.quantification
        )
        return np.clip(values, *REFLECTANCE_RANGE, out=values)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_l2a_metadata(xml: bytes | str) -> Radiometry:
    """Baseline, quantification value and per-band offsets from ``MTD_MSIL2A.xml``.

    Products before baseline 04.00 list no offsets; the baseline's rule then applies.
    """
    root = ET.fromstring(xml)
    baseline = quantification = None
    offsets: dict[str, float] = {}
    by_id = {v: k for k, v in METADATA_BAND_ID.items()}
    for element in root.iter():
        name = _local(element.tag)
        if name == "PROCESSING_BASELINE" and element.text:
            baseline = element.text.strip()
        elif name == "BOA_QUANTIFICATION_VALUE" and element.text:
            quantification = float(element.text)
        elif name == "BOA_ADD_OFFSET" and element.text:
            band = by_id.get(int(element.get("band_id", "-1")))
            if band is not None:
                offsets[band] = float(element.text)
    if offsets:
        return Radiometry(
            baseline=baseline, quantification=quantification or DEFAULT_QUANTIFICATION, offsets=offsets
        )
    rule = Radiometry.for_baseline(baseline)
    return Radiometry(
        baseline=baseline, quantification=quantification or DEFAULT_QUANTIFICATION, offsets=rule.offsets
    )


def tile_bounds_in(crs: CRS | str, tile: Tile) -> tuple[float, float, float, float]:
    """The tile's bounds expressed in ``crs`` (a rotated square's enclosing box)."""
    return transform_bounds(TILE_CRS, crs, *tile.bounds, densify_pts=21)


def source_window(
    dataset: DatasetReader,
    tile: Tile,
    margin_px: int = 2,
    bounds: tuple[float, float, float, float] | None = None,
) -> Window | None:
    """The window of ``dataset`` (any CRS) that covers ``tile``, with a margin for interpolation.

    ``bounds`` is the tile's box in the dataset's CRS when already known
    (:func:`tile_bounds_in`). ``None`` when the tile lies outside the raster.
    """
    left, bottom, right, top = bounds if bounds is not None else tile_bounds_in(dataset.crs, tile)
    inverse = ~dataset.transform
    corners = [inverse @ (x, y) for x in (left, right) for y in (bottom, top)]
    cols, rows = [c for c, _ in corners], [r for _, r in corners]
    col0 = max(math.floor(min(cols)) - margin_px, 0)
    row0 = max(math.floor(min(rows)) - margin_px, 0)
    col1 = min(math.ceil(max(cols)) + margin_px, dataset.width)
    row1 = min(math.ceil(max(rows)) + margin_px, dataset.height)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def reproject_bands(
    datasets: Sequence[DatasetReader],
    tile: Tile,
    resampling: Resampling = Resampling.bilinear,
    nodata: float = L2A_NODATA,
    resolution: float = PIXEL_SIZE_M,
    source_bounds: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """Band 1 of each dataset, warped onto ``tile``'s grid: float32 (n, rows, cols), NaN where no data.

    The datasets must share one grid (same CRS, transform and size, as the bands
    of one Sentinel-2 resolution do), so they are warped together in one call.
    Only the window around the tile is read, so a 100 km product costs one small
    read per tile and band. ``source_bounds`` (the tile's box in the datasets'
    CRS, :func:`tile_bounds_in`) saves recomputing it.
    """
    first = datasets[0]
    for other in datasets[1:]:
        if (other.crs, other.transform, other.width, other.height) != (
            first.crs,
            first.transform,
            first.width,
            first.height,
        ):
            raise ValueError(f"{other.name} is not on the same grid as {first.name}")
    size = round(tile.size_m / resolution)
    out = np.full((len(datasets), size, size), np.nan, dtype=np.float32)
    window = source_window(first, tile, bounds=source_bounds)
    if window is None:
        return out
    source = np.stack([dataset.read(1, window=window) for dataset in datasets])
    if not np.any(source != nodata):
        return out
    reproject(
        source=source,
        destination=out,
        src_transform=first.transform @ Affine.translation(window.col_off, window.row_off),
        src_crs=first.crs,
        src_nodata=nodata,
        dst_transform=tile.transform(resolution),
        dst_crs=TILE_CRS,
        dst_nodata=np.nan,
        resampling=resampling,
    )
    return out


def reproject_band(dataset: DatasetReader, tile: Tile, **kwargs: Any) -> np.ndarray:
    """One dataset's band 1 warped onto ``tile`` (see :func:`reproject_bands`): float32 (rows, cols)."""
    return reproject_bands([dataset], tile, **kwargs)[0]


def add_indices(reflectance: np.ndarray) -> np.ndarray:
    """Append NDVI and NDWI to 12 reflectance bands: float64 (14, rows, cols) in contract order."""
    reflectance = np.asarray(reflectance, dtype=np.float64)
    if reflectance.shape[0] != len(SAFE_BANDS):
        raise ValueError(f"expected {len(SAFE_BANDS)} reflectance bands, got {reflectance.shape[0]}")
    b3, b4, b8 = reflectance[2], reflectance[3], reflectance[7]
    out = np.empty((N_BANDS, *reflectance.shape[1:]), dtype=np.float64)
    out[: len(SAFE_BANDS)] = reflectance
    out[12] = normalized_difference(b8, b4)
    out[13] = normalized_difference(b3, b8)
    return out


def normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a - b) / (a + b)``, 0 where both are 0."""
    total = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(total != 0, (a - b) / np.where(total != 0, total, 1.0), 0.0)
    return value


class TileMosaic:
    """The 12 reflectance bands of one tile, filled product after product.

    A pixel is taken from the first product that has data for every band there
    (products come least cloudy first); later products only fill what is still
    empty. The tile is *complete* when no pixel is empty.
    """

    def __init__(self, tile: Tile, size: int = TILE_SIZE_PX) -> None:
        self.tile = tile
        self.values = np.full((len(SAFE_BANDS), size, size), np.nan, dtype=np.float32)
        self.sources: list[str] = []

    @property
    def missing(self) -> np.ndarray:
        """Boolean (rows, cols): pixels no product has filled yet in every band."""
        return np.isnan(self.values).any(axis=0)

    @property
    def complete(self) -> bool:
        """Whether every pixel has data, so the tile can be written."""
        return not self.missing.any()

    def add(self, reflectance: np.ndarray, source: str) -> int:
        """Fill empty pixels where ``reflectance`` (12, rows, cols) is valid; number of pixels filled."""
        valid = ~np.isnan(reflectance).any(axis=0)
        take = valid & self.missing
        count = int(take.sum())
        if count:
            self.values[:, take] = reflectance[:, take]
            self.sources.append(source)
        return count

    def channels(self) -> np.ndarray:
        """The finished 14 channels (float64); only for a complete tile."""
        if not self.complete:
            raise ValueError(f"tile {self.tile.stem} still has {int(self.missing.sum())} empty pixels")
        return add_indices(self.values)

"""The 14 channels of the book's Sentinel-2 tiles, in file order.

The trap this table guards against: rasterio counts bands from 1, B8A sits
before B9, there is no B10, and NDVI/NDWI are channels 13 and 14.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    """One channel of a tile file."""

    index: int  # 1-based, as rasterio counts
    name: str
    wavelength_nm: int | None  # central wavelength; None for derived indices
    resolution_m: int | None  # native Sentinel-2 resolution before resampling to 10 m
    description: str


BANDS: tuple[Band, ...] = (
    Band(1, "B1", 443, 60, "Coastal aerosol"),
    Band(2, "B2", 490, 10, "Blue"),
    Band(3, "B3", 560, 10, "Green"),
    Band(4, "B4", 665, 10, "Red"),
    Band(5, "B5", 705, 20, "Vegetation red edge"),
    Band(6, "B6", 740, 20, "Vegetation red edge"),
    Band(7, "B7", 783, 20, "Vegetation red edge"),
    Band(8, "B8", 842, 10, "Near infrared (NIR)"),
    Band(9, "B8A", 865, 20, "Narrow NIR"),
    Band(10, "B9", 945, 60, "Water vapour"),
    Band(11, "B11", 1610, 20, "Short-wave infrared (SWIR 1)"),
    Band(12, "B12", 2190, 20, "Short-wave infrared (SWIR 2)"),
    Band(13, "NDVI", None, None, "(B8 - B4) / (B8 + B4), vegetation index"),
    Band(14, "NDWI", None, None, "(B3 - B8) / (B3 + B8), water index"),
)

N_BANDS = len(BANDS)
SPECTRAL_BAND_NAMES: tuple[str, ...] = tuple(b.name for b in BANDS if b.wavelength_nm is not None)
BAND_NAMES: tuple[str, ...] = tuple(b.name for b in BANDS)


def band_index(name: str) -> int:
    """1-based rasterio index of a channel by name (``band_index("B8A") == 9``)."""
    for band in BANDS:
        if band.name.upper() == name.upper():
            return band.index
    raise ValueError(f"unknown band {name!r}; the tiles hold {', '.join(BAND_NAMES)}")


#: Common composites as rasterio band indices.
TRUE_COLOUR = (band_index("B4"), band_index("B3"), band_index("B2"))
FALSE_COLOUR = (band_index("B8"), band_index("B4"), band_index("B3"))


def product_band_name(name: str) -> str:
    """The name a band has inside Sentinel-2 products and APIs (``"B1"`` -> ``"B01"``, ``"B8A"`` stays)."""
    digits = name[1:]
    return f"B{int(digits):02d}" if digits.isdigit() else name


#: The 12 spectral bands as Sentinel-2 products (.SAFE files, Sentinel Hub) name them, in file order.
PRODUCT_BAND_NAMES: tuple[str, ...] = tuple(product_band_name(n) for n in SPECTRAL_BAND_NAMES)
#: Native resolution (m) of each spectral band, keyed by its product name.
NATIVE_RESOLUTION_M: dict[str, int] = {
    product_band_name(b.name): b.resolution_m for b in BANDS if b.resolution_m is not None
}

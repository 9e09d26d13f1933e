"""A tiny synthetic Sentinel-2 L2A product, laid out like a real ``.SAFE`` folder.

Bands are written at their native resolution (10, 20 or 60 m) in UTM zone 32N
(EPSG:32632) as JPEG 2000 when this GDAL has the JP2OpenJPEG driver (lossless),
GeoTIFF otherwise, under ``GRANULE/<granule>/IMG_DATA/R{res}m/``. Digital numbers
follow the product's processing baseline: from 04.00 on,
``DN = reflectance * 10000 + 1000``; before, ``DN = reflectance * 10000``.
``DN = 0`` marks pixels without data. A bright square at a known UTM place lets
tests check where it lands after reprojection.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.io import MemoryFile

from landcover.bands import NATIVE_RESOLUTION_M, PRODUCT_BAND_NAMES

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

UTM_CRS = "EPSG:32632"
SAFE_BANDS = PRODUCT_BAND_NAMES
RESOLUTION = NATIVE_RESOLUTION_M
#: Ordinary vegetated surface (reflectance), one value per band.
BASE_REFLECTANCE = dict(
    zip(SAFE_BANDS, (0.03, 0.04, 0.07, 0.05, 0.11, 0.25, 0.30, 0.32, 0.33, 0.34, 0.18, 0.09), strict=True)
)
BRIGHT_REFLECTANCE = 0.8


def jp2_available() -> bool:
    """Whether this GDAL writes JPEG 2000 (the format of real products); GeoTIFF is used otherwise."""
    with rasterio.Env() as env:
        return "JP2OpenJPEG" in env.drivers()


def baseline_offset(name: str) -> int:
    """The radiometric offset of a product name's baseline: -1000 from baseline 04.00 on, else 0."""
    match = re.search(r"_N(\d{2})(\d{2})_", name)
    return -1000 if match and int(match.group(1)) >= 4 else 0


@dataclass
class SyntheticProduct:
    """One product: a name, UTM bounds (multiples of 60 m), optional bright square and no-data strip."""

    name: str
    bounds: tuple[float, float, float, float]  # left, bottom, right, top in EPSG:32632
    cloud_cover: float
    start: str  # ISO instant, e.g. 2021-07-15T10:30:31.024Z
    bright_square: tuple[float, float, float, float] | None = None
    nodata_west_of: float | None = None  # pixels whose centre is west of this x have no data
    with_metadata: bool = True
    reflectance: dict[str, float] = field(default_factory=lambda: dict(BASE_REFLECTANCE))

    @property
    def offset(self) -> int:
        """The product's radiometric offset (see :func:`baseline_offset`)."""
        return baseline_offset(self.name)

    @property
    def tile_id(self) -> str:
        """The MGRS tile of the name (``32ULA``)."""
        return re.search(r"_T(\d{2}[A-Z]{3})_", self.name).group(1)

    def dn(self, band: str) -> tuple[np.ndarray, Affine]:
        """Digital numbers (uint16) of a band and their transform."""
        res = RESOLUTION[band]
        left, bottom, right, top = self.bounds
        width, height = round((right - left) / res), round((top - bottom) / res)
        xs = left + (np.arange(width) + 0.5) * res
        ys = top - (np.arange(height) + 0.5) * res
        x, y = np.meshgrid(xs, ys)
        reflectance = np.full((height, width), self.reflectance[band])
        if self.bright_square:
            x0, y0, x1, y1 = self.bright_square
            reflectance[(x >= x0) & (x < x1) & (y >= y0) & (y < y1)] = BRIGHT_REFLECTANCE
        dn = np.round(reflectance * 10000 - self.offset).astype(np.uint16)
        if self.nodata_west_of is not None:
            dn[x < self.nodata_west_of] = 0
        return dn, Affine(res, 0, left, 0, -res, top)

    def valid_area(self) -> shapely.Polygon:
        """Where the product has data, in EPSG:32632 metres."""
        left, bottom, right, top = self.bounds
        if self.nodata_west_of is not None:
            left = max(left, self.nodata_west_of)
        return shapely.box(left, bottom, right, top)

    def footprint_lonlat(self) -> shapely.Polygon:
        """The product outline in lon/lat, as the catalogue would give it."""
        to_lonlat = Transformer.from_crs(UTM_CRS, "EPSG:4326", always_xy=True)
        outline = shapely.segmentize(self.valid_area(), 250)
        return shapely.transform(outline, lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])))

    def files(self) -> dict[str, bytes]:
        """Relative path -> bytes of every file of the .SAFE folder."""
        stamp = self.name.split("_")[2]  # e.g. 20210715T103031
        granule = f"GRANULE/L2A_T{self.tile_id}_A000001_{stamp}/IMG_DATA"
        use_jp2 = jp2_available()
        out: dict[str, bytes] = {}
        for band in SAFE_BANDS:
            res = RESOLUTION[band]
            dn, transform = self.dn(band)
            ext = "jp2" if use_jp2 else "tif"
            path = f"{granule}/R{res}m/T{self.tile_id}_{stamp}_{band}_{res}m.{ext}"
            out[path] = _raster_bytes(dn, transform, use_jp2)
        if self.with_metadata:
            out["MTD_MSIL2A.xml"] = self.metadata_xml().encode()
        return out

    def metadata_xml(self) -> str:
        """``MTD_MSIL2A.xml``, reduced to the baseline, quantification and offsets a reader needs."""
        baseline = re.search(r"_N(\d{2})(\d{2})_", self.name)
        text = f"{baseline.group(1)}.{baseline.group(2)}" if baseline else "99.99"
        offsets = ""
        if self.offset:
            offsets = (
                "<BOA_ADD_OFFSET_VALUES_LIST>"
                + "".join(f'<BOA_ADD_OFFSET band_id="{i}">{self.offset}</BOA_ADD_OFFSET>' for i in range(13))
                + "</BOA_ADD_OFFSET_VALUES_LIST>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">'
            f"<n1:General_Info><Product_Info><PROCESSING_BASELINE>{text}</PROCESSING_BASELINE></Product_Info>"
            "<Product_Image_Characteristics><QUANTIFICATION_VALUES_LIST>"
            '<BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>'
            f"</QUANTIFICATION_VALUES_LIST>{offsets}</Product_Image_Characteristics></n1:General_Info>"
            "</n1:Level-2A_User_Product>"
        )

    def zip_bytes(self) -> bytes:
        """The product zipped as the download service delivers it (``NAME.SAFE/...``)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for path, content in self.files().items():
                archive.writestr(f"{self.name}/{path}", content)
        return buffer.getvalue()

    def upload(self, fs: AbstractFileSystem, bucket: str = "eodata") -> str:
        """Put the .SAFE folder where its S3Path says; returns the S3Path (``/eodata/...``)."""
        s3_path = (
            f"/{bucket}/Sentinel-2/MSI/L2A/{self.start[:4]}/{self.start[5:7]}/{self.start[8:10]}/{self.name}"
        )
        for path, content in self.files().items():
            fs.pipe_file(f"{s3_path.strip('/')}/{path}", content)
        return s3_path


def _raster_bytes(dn: np.ndarray, transform: Affine, jp2: bool) -> bytes:
    height, width = dn.shape
    profile = {
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "uint16",
        "crs": UTM_CRS,
        "transform": transform,
    }
    if jp2:
        profile.update(driver="JP2OpenJPEG", QUALITY=100, REVERSIBLE="YES")
        ext = ".jp2"
    else:
        profile.update(driver="GTiff")
        ext = ".tif"
    with MemoryFile(ext=ext) as memfile:
        with memfile.open(**profile) as dataset:
            dataset.write(dn, 1)
        return memfile.read()

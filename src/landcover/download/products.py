"""Reading a Sentinel-2 L2A product's bands from the CDSE EO S3 archive, once per product.

Every product the OData catalogue returns has an ``S3Path`` such as
``/eodata/Sentinel-2/MSI/L2A/2021/07/15/S2A_MSIL2A_..._N0301_..._T32ULA_....SAFE``:
the ``.SAFE`` folder in the ``eodata`` bucket of ``eodata.dataspace.copernicus.eu``.
Its band images are JPEG 2000 files under ``GRANULE/*/IMG_DATA/R{10,20,60}m/``.
The archive needs its own S3 keys (generated at
https://eodata-s3keysmanager.dataspace.copernicus.eu/), separate from the
destination bucket's: :func:`eodata_filesystem` builds a file system of its own
so the two sets of credentials never mix.

A product covers about 100 km x 100 km, so hundreds of tiles share it: the
:class:`ProductReader` copies its 12 band files to a temporary folder once,
opens them, and serves every tile from there.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Self

import fsspec
import numpy as np
import rasterio
from rasterio.enums import Resampling
from tqdm.auto import tqdm

from landcover.data.grid import Tile
from landcover.data.paths import PIXEL_SIZE_M
from landcover.download.patches import (
    NATIVE_RESOLUTION_M,
    SAFE_BANDS,
    Radiometry,
    parse_l2a_metadata,
    reproject_bands,
    tile_bounds_in,
)
from landcover.sources.http import require_online
from landcover.sources.odata import Product

#: CDSE's EO S3 endpoint and bucket (real defaults).
EODATA_ENDPOINT = "https://eodata.dataspace.copernicus.eu"
EODATA_BUCKET = "eodata"
#: Environment variables holding the EO S3 keys and, optionally, another endpoint.
ENV_EODATA_KEY = "EODATA_S3_ACCESS_KEY_ID"
ENV_EODATA_SECRET = "EODATA_S3_SECRET_ACCESS_KEY"
ENV_EODATA_ENDPOINT = "EODATA_S3_ENDPOINT"
METADATA_NAME = "MTD_MSIL2A.xml"

_BAND_FILE = re.compile(r"/IMG_DATA/R(10|20|60)m/[^/]*_(B\d\d|B8A)_(10|20|60)m\.(jp2|tif)$")


def eodata_filesystem(
    key: str | None = None,
    secret: str | None = None,
    endpoint_url: str | None = None,
) -> fsspec.AbstractFileSystem:
    """An S3 file system on the CDSE EO archive (keys from the arguments or the environment)."""
    key = key or os.environ.get(ENV_EODATA_KEY)
    secret = secret or os.environ.get(ENV_EODATA_SECRET)
    endpoint_url = endpoint_url or os.environ.get(ENV_EODATA_ENDPOINT) or EODATA_ENDPOINT
    if not key or not secret:
        raise ValueError(
            f"EO S3 keys are missing: pass them or set {ENV_EODATA_KEY} and {ENV_EODATA_SECRET} "
            "(generate them at https://eodata-s3keysmanager.dataspace.copernicus.eu/)"
        )
    require_online(endpoint_url, "the CDSE EO S3 archive")
    return fsspec.filesystem(
        "s3",
        key=key,
        secret=secret,
        client_kwargs={"endpoint_url": endpoint_url, "region_name": "default"},
        config_kwargs={"s3": {"addressing_style": "path"}},
        use_listings_cache=False,
        skip_instance_cache=True,
    )


def safe_prefix(product: Product) -> str:
    """``bucket/key`` of the product's .SAFE folder, from its ``S3Path``."""
    if not product.s3_path:
        raise ValueError(f"product {product.name} has no S3Path in the catalogue answer")
    return product.s3_path.strip("/")


def find_band_files(fs: fsspec.AbstractFileSystem, prefix: str) -> dict[str, str]:
    """Path of each of the 12 bands at its native resolution (finest available otherwise)."""
    found: dict[str, dict[int, str]] = {}
    for path in fs.find(prefix):
        match = _BAND_FILE.search("/" + str(path).lstrip("/"))
        if match:
            found.setdefault(match.group(2), {})[int(match.group(3))] = str(path)
    chosen: dict[str, str] = {}
    for band in SAFE_BANDS:
        versions = found.get(band)
        if not versions:
            raise FileNotFoundError(f"band {band} not found under {prefix}/GRANULE/*/IMG_DATA/")
        native = NATIVE_RESOLUTION_M[band]
        chosen[band] = versions.get(native) or versions[min(versions)]
    return chosen


def product_radiometry(fs: fsspec.AbstractFileSystem, prefix: str, product: Product) -> Radiometry:
    """Offsets from the product's ``MTD_MSIL2A.xml`` when present, else from its baseline."""
    metadata = f"{prefix}/{METADATA_NAME}"
    try:
        xml = fs.cat_file(metadata)
    except (FileNotFoundError, OSError):
        xml = None
    if xml:
        radiometry = parse_l2a_metadata(xml)
        if radiometry.baseline is None and product.processing_baseline:
            radiometry = Radiometry(
                baseline=product.processing_baseline,
                quantification=radiometry.quantification,
                offsets=radiometry.offsets,
            )
        return radiometry
    return Radiometry.for_baseline(product.processing_baseline)


class ProductReader:
    """One product's 12 bands, copied locally once, serving any number of tiles.

    Use as a context manager; the temporary copy is deleted on exit.
    """

    def __init__(
        self,
        product: Product,
        fs: fsspec.AbstractFileSystem,
        workdir: str | os.PathLike[str] | None = None,
        progress: bool = True,
    ) -> None:
        self.product = product
        self.fs = fs
        self.prefix = safe_prefix(product)
        self._workdir = workdir
        self._progress = progress
        self._tmp: str | None = None
        self._datasets: dict[str, rasterio.DatasetReader] = {}
        self._groups: list[list[str]] = []
        self.radiometry: Radiometry | None = None

    def __enter__(self) -> Self:
        try:
            self.radiometry = product_radiometry(self.fs, self.prefix, self.product)
            files = find_band_files(self.fs, self.prefix)
            self._tmp = tempfile.mkdtemp(prefix="s2-product-", dir=self._workdir)
            sizes = {band: int(self.fs.size(path) or 0) for band, path in files.items()}
            with tqdm(
                total=sum(sizes.values()),
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=f"bands of {self.product.name[:38]}",
                disable=not self._progress,
                leave=False,
            ) as bar:
                for band, path in files.items():
                    local = str(Path(self._tmp) / Path(path).name)
                    self.fs.get_file(path, local)
                    bar.update(sizes[band])
                    self._datasets[band] = rasterio.open(local)
            grids: dict[tuple, list[str]] = {}
            for band, dataset in self._datasets.items():
                grids.setdefault((dataset.transform, dataset.width, dataset.height), []).append(band)
            self._groups = list(grids.values())
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the band files and delete their temporary copies (safe to call twice)."""
        for dataset in self._datasets.values():
            dataset.close()
        self._datasets.clear()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def read_tile(self, tile: Tile, resampling: Resampling = Resampling.bilinear) -> np.ndarray:
        """Reflectance (12, 250, 250) float32 of ``tile``, NaN where this product has no data."""
        if self.radiometry is None or not self._datasets:
            raise RuntimeError("open the ProductReader with 'with' before reading tiles")
        crs = self._datasets[SAFE_BANDS[0]].crs
        if any(dataset.crs != crs for dataset in self._datasets.values()):
            raise ValueError(f"the bands of {self.product.name} are not all in the same CRS")
        bounds = tile_bounds_in(crs, tile)
        out = np.empty((len(SAFE_BANDS), *(2 * (round(tile.size_m / PIXEL_SIZE_M),))), dtype=np.float32)
        for group in self._groups:  # bands sharing a grid (10, 20 or 60 m) are warped together
            dn = reproject_bands(
                [self._datasets[b] for b in group], tile, resampling=resampling, source_bounds=bounds
            )
            for band, values in zip(group, dn, strict=True):
                out[SAFE_BANDS.index(band)] = self.radiometry.to_reflectance(values, band)
        return out

"""Writing a region's files to a local folder or an S3 bucket, safely and resumably.

All writes go through one fsspec file system, so the pipeline does not care
where the data root is. Each file is written under a temporary name in its
folder and then moved to its final name: a run killed midway leaves no
half-written tile under a real name. Before skipping a tile that already
exists, the writer opens it and checks it against the data contract (size,
bands, CRS, bounds, finite values); anything else is rebuilt.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from dataclasses import dataclass, field

import fsspec
import numpy as np
import pandas as pd
import rasterio
import yaml
from rasterio.io import MemoryFile

from landcover.bands import BAND_NAMES, N_BANDS
from landcover.classes import N_CLASSES
from landcover.data import paths
from landcover.data.grid import TILE_CRS, Tile
from landcover.sources.http import require_online
from landcover.storage import get_file_system, s3_settings, scheme_of

_TMP_MARK = ".tmp-"


def tiff_bytes(channels: np.ndarray, tile: Tile) -> bytes:
    """A tile as GeoTIFF bytes: 14 float64 bands, EPSG:3035, striped, deflate, no nodata."""
    channels = np.asarray(channels, dtype=np.float64)
    if channels.shape[0] != N_BANDS:
        raise ValueError(f"tile {tile.stem}: expected {N_BANDS} channels, got {channels.shape[0]}")
    count, height, width = channels.shape
    profile = {
        "driver": "GTiff",
        "dtype": "float64",
        "count": count,
        "height": height,
        "width": width,
        "crs": TILE_CRS,
        "transform": tile.transform(tile.size_m / width),
        "nodata": None,
        "tiled": False,
        "compress": "deflate",
        "predictor": 3,
    }
    with MemoryFile() as memfile:
        with memfile.open(**profile) as dataset:
            dataset.write(channels)
            dataset.descriptions = BAND_NAMES
        return memfile.read()


def npy_bytes(labels: np.ndarray) -> bytes:
    """Labels as ``.npy`` bytes (uint8)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(labels, dtype=np.uint8), allow_pickle=False)
    return buffer.getvalue()


@dataclass
class BandStatistics:
    """Running per-band mean and standard deviation over many tiles (Chan's merge)."""

    count: int = 0
    mean: np.ndarray = field(default_factory=lambda: np.zeros(N_BANDS))
    m2: np.ndarray = field(default_factory=lambda: np.zeros(N_BANDS))

    def add(self, channels: np.ndarray) -> None:
        """Include a tile's (14, rows, cols) values."""
        values = np.asarray(channels, dtype=np.float64).reshape(channels.shape[0], -1)
        n = values.shape[1]
        mean = values.mean(axis=1)
        m2 = ((values - mean[:, None]) ** 2).sum(axis=1)
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * n / total
        self.m2 = self.m2 + m2 + delta**2 * self.count * n / total
        self.count = total

    @property
    def std(self) -> np.ndarray:
        """Per-band population standard deviation (14 floats; zeros before any tile)."""
        return np.sqrt(self.m2 / self.count) if self.count else np.zeros(N_BANDS)

    def as_yaml(self) -> str:
        """``mean:`` and ``std:`` lists of 14 floats, as in ``metrics-normalization.yaml``."""
        return yaml.safe_dump(
            {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}, sort_keys=False
        )


class RegionOutput:
    """The files of one region and year under a data root, on any fsspec file system."""

    def __init__(self, root: str, nuts: str, year: int, fs: fsspec.AbstractFileSystem | None = None) -> None:
        self.root = _normalise_root(root)
        self.nuts = paths.validate_nuts(nuts)
        self.year = paths.validate_year(year)
        self.fs = fs if fs is not None else get_file_system(self.root)
        self.images_dir = paths.images_prefix(self.nuts, self.year, root=self.root)
        self.labels_dir = paths.labels_prefix(self.nuts, self.year, root=self.root)

    # -- locations ---------------------------------------------------------------
    def image_path(self, tile: Tile) -> str:
        """Where ``tile``'s GeoTIFF goes: ``images/{NUTS3}/{year}/{stem}.tif`` under the root."""
        return paths.image_path(self.nuts, self.year, tile.stem, root=self.root)

    def label_path(self, tile: Tile) -> str:
        """Where ``tile``'s labels go: ``labels/{NUTS3}/{year}/{stem}.npy`` under the root."""
        return paths.label_path(self.nuts, self.year, tile.stem, root=self.root)

    @property
    def index_path(self) -> str:
        """Where the region's ``filename2bbox.parquet`` goes."""
        return paths.index_path(self.nuts, self.year, root=self.root)

    @property
    def normalization_path(self) -> str:
        """Where the region's ``metrics-normalization.yaml`` goes."""
        return paths.normalization_path(self.nuts, self.year, root=self.root)

    # -- checks ------------------------------------------------------------------
    def check_writable(self) -> None:
        """Fail early, naming the location, if the root cannot be written."""
        scheme = scheme_of(self.root)
        if scheme in ("http", "https"):
            raise ValueError(
                f"output={self.root!r} is an HTTP address, which is read-only; "
                "give a local folder or an s3://bucket/prefix"
            )
        if scheme == "s3":
            bucket = self.root[len("s3://") :].split("/", 1)[0]
            if not bucket:
                raise ValueError(f"output={self.root!r} names no bucket")
            endpoint = (getattr(self.fs, "client_kwargs", None) or {}).get("endpoint_url")
            require_online(endpoint or s3_settings().endpoint_url, f"the S3 endpoint of {self.root}")
            try:
                found = self.fs.exists(bucket)
            except PermissionError as exc:
                raise PermissionError(
                    f"output={self.root!r}: access to bucket {bucket!r} denied ({exc}); "
                    "check the AWS_* variables"
                ) from exc
            if not found:
                raise ValueError(f"output={self.root!r}: bucket {bucket!r} does not exist at this endpoint")
        else:
            probe = self.root
            while probe and not os.path.exists(probe):
                probe = os.path.dirname(probe.rstrip(os.sep))
            if probe and (not os.path.isdir(probe) or not os.access(probe, os.W_OK)):
                raise ValueError(f"output={self.root!r}: {probe!r} is not a writable folder")

    def existing_names(self, folder: str) -> set[str]:
        """Names in a folder (empty when it does not exist yet)."""
        try:
            return {str(p).rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(folder, detail=False)}
        except FileNotFoundError:
            return set()

    def remove_leftovers(self) -> int:
        """Delete temporary files left by an interrupted run; how many were removed."""
        removed = 0
        for folder in (self.images_dir, self.labels_dir):
            for name in self.existing_names(folder):
                if _TMP_MARK in name:
                    self.fs.rm(f"{folder.rstrip('/')}/{name}")
                    removed += 1
        return removed

    def read_valid_image(self, tile: Tile) -> np.ndarray | None:
        """The tile's 14 channels if its file exists and follows the contract, else ``None``."""
        try:
            content = self.fs.cat_file(self.image_path(tile))
        except (FileNotFoundError, OSError):
            return None
        return validate_image_bytes(content, tile)

    def has_valid_label(self, tile: Tile) -> bool:
        """Whether the tile's ``.npy`` exists and is a uint8 250 x 250 array of classes 0..10."""
        try:
            content = self.fs.cat_file(self.label_path(tile))
        except (FileNotFoundError, OSError):
            return False
        return validate_label_bytes(content, tile) is not None

    # -- writes ------------------------------------------------------------------
    def write_atomic(self, path: str, data: bytes) -> None:
        """Write ``data`` under a temporary name in ``path``'s folder, then move it into place."""
        if scheme_of(path) == "file":
            folder, name = os.path.split(path)
            os.makedirs(folder, exist_ok=True)
            temporary = os.path.join(folder, f".{name}{_TMP_MARK}{uuid.uuid4().hex}")
        else:
            folder, name = path.rsplit("/", 1)
            temporary = f"{folder}/.{name}{_TMP_MARK}{uuid.uuid4().hex}"
        try:
            self.fs.pipe_file(temporary, data)
            self.fs.mv(temporary, path)
        except BaseException:
            with contextlib.suppress(Exception):  # the original error matters more
                if self.fs.exists(temporary):
                    self.fs.rm(temporary)
            raise

    def write_image(self, tile: Tile, channels: np.ndarray) -> str:
        """Write ``tile``'s 14 channels (float64, EPSG:3035) atomically; return the path written."""
        path = self.image_path(tile)
        self.write_atomic(path, tiff_bytes(channels, tile))
        return path

    def write_label(self, tile: Tile, labels: np.ndarray) -> str:
        """Write ``tile``'s 250 x 250 class ids as uint8 ``.npy`` atomically; return the path written.

        Raises ``ValueError`` naming the tile when ``labels`` is not 250 x 250.
        """
        labels = np.asarray(labels)
        if labels.shape != (round(tile.size_m / paths.PIXEL_SIZE_M),) * 2:
            raise ValueError(f"labels of tile {tile.stem} have shape {labels.shape}, expected 250 x 250")
        path = self.label_path(tile)
        self.write_atomic(path, npy_bytes(labels))
        return path

    def write_index(self, tiles: list[Tile]) -> str:
        """``filename2bbox.parquet``: ``filename`` (str) and ``bbox`` (4 floats), one row per tile."""
        frame = pd.DataFrame(
            {
                "filename": [t.stem + ".tif" for t in tiles],
                "bbox": [[float(v) for v in t.bounds] for t in tiles],
            }
        )
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        self.write_atomic(self.index_path, buffer.getvalue())
        return self.index_path

    def write_normalization(self, statistics: BandStatistics) -> str:
        """Write ``metrics-normalization.yaml`` (per-band mean and std of the tiles); return its path."""
        self.write_atomic(self.normalization_path, statistics.as_yaml().encode())
        return self.normalization_path


def _normalise_root(root: str) -> str:
    text = os.fspath(root)
    if scheme_of(text) == "file":
        return os.path.abspath(os.path.expanduser(text))
    return text.rstrip("/")


def validate_image_bytes(content: bytes, tile: Tile) -> np.ndarray | None:
    """The channels of a GeoTIFF if it is a complete, correct tile for ``tile``, else ``None``."""
    size = round(tile.size_m / paths.PIXEL_SIZE_M)
    try:
        with MemoryFile(content) as memfile, memfile.open() as dataset:
            if (dataset.count, dataset.height, dataset.width) != (N_BANDS, size, size):
                return None
            if dataset.crs is None or dataset.crs.to_epsg() != 3035:
                return None
            if not np.allclose(tuple(dataset.bounds), tile.bounds, atol=1e-6):
                return None
            if dataset.dtypes[0] != "float64":
                return None
            channels = dataset.read()
    except (rasterio.errors.RasterioError, ValueError):
        return None
    if not np.isfinite(channels).all():
        return None
    return channels


def validate_label_bytes(content: bytes, tile: Tile) -> np.ndarray | None:
    """The labels of a ``.npy`` if they are uint8 (250, 250) with classes 0..10, else ``None``."""
    size = round(tile.size_m / paths.PIXEL_SIZE_M)
    try:
        labels = np.load(io.BytesIO(content), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return None
    if labels.dtype != np.uint8 or labels.shape != (size, size) or labels.max(initial=0) > N_CLASSES:
        return None
    return labels

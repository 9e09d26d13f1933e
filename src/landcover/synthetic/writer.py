"""Atomic writers for every file of the synthetic data: tiles, labels, index files, boundaries.

Each file is written under a temporary name in its final folder
(``.{name}.{random hex}.partial``) and renamed into place, so an interrupted run never
leaves a half-written file under a real name; leftovers are easy to find and
remove (:func:`remove_partials`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import rasterio
import yaml
from rasterio.transform import from_origin

from landcover.bands import BANDS
from landcover.storage import atomic_path as storage_atomic_path
from landcover.synthetic.regions import PIXEL_M, TILE_PX

#: Suffix of temporary files; anything ending with it is an interrupted write.
PARTIAL_SUFFIX = ".partial"

#: GeoTIFF creation options: the bucket's layout where code can tell (float64,
#: 14 bands, striped not tiled, no nodata) plus lossless DEFLATE with the
#: floating-point predictor. Band-interleaved strips of 50 rows (the bucket uses
#: pixel-interleaved single rows) let the compressor see the repeated 20 m and
#: 60 m cells: about 0.9 MB per tile instead of 7 MB raw.
TIFF_PROFILE = {
    "driver": "GTiff",
    "dtype": "float64",
    "count": len(BANDS),
    "width": TILE_PX,
    "height": TILE_PX,
    "crs": "EPSG:3035",
    "nodata": None,
    "tiled": False,
    "blockysize": 50,
    "interleave": "band",
    "compress": "deflate",
    "predictor": 3,
    "zlevel": 6,
}
#: The layout of the real bucket's files: pixel-interleaved, uncompressed, one-row strips
#: (about 7 MB a tile). Code that reads tiles must work on both; a test generates this one.
BUCKET_TIFF_PROFILE = {
    key: value for key, value in TIFF_PROFILE.items() if key not in ("compress", "predictor", "zlevel")
} | {"blockysize": 1, "interleave": "pixel"}
#: Tile layouts the generator can write: ``compact`` (the default, small files) or ``bucket``.
TILE_LAYOUTS = {"compact": TIFF_PROFILE, "bucket": BUCKET_TIFF_PROFILE}


def atomic_path(final: str | os.PathLike) -> AbstractContextManager[Path]:
    """A temporary path next to ``final``, renamed into place if the block succeeds.

    Temporary names end with :data:`PARTIAL_SUFFIX`, so the manifest can report
    and clean what an interrupted generation left behind.
    """
    return storage_atomic_path(final, suffix=PARTIAL_SUFFIX)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, payload: object) -> None:
    """Write pretty, key-sorted JSON atomically."""
    write_text(path, json.dumps(payload, indent=1, sort_keys=True) + "\n")


def write_tile(
    path: str | os.PathLike,
    data: np.ndarray,
    bounds: Sequence[float],
    tags: dict[str, str],
    description: str,
    layout: str = "compact",
) -> None:
    """Write one 14-band float64 tile whose north-west corner is ``(bounds[0], bounds[3])`` (EPSG:3035).

    ``layout`` is a key of :data:`TILE_LAYOUTS`: the same values, stored as the
    real bucket stores them (``bucket``) or band by band in compressed strips.
    """
    if layout not in TILE_LAYOUTS:
        raise ValueError(f"layout={layout!r}: choose one of {sorted(TILE_LAYOUTS)}")
    if data.shape != (len(BANDS), TILE_PX, TILE_PX) or data.dtype != np.float64:
        raise ValueError(
            f"{path}: expected float64 {(len(BANDS), TILE_PX, TILE_PX)}, got {data.dtype} {data.shape}"
        )
    profile = dict(TILE_LAYOUTS[layout], transform=from_origin(bounds[0], bounds[3], PIXEL_M, PIXEL_M))
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data)
            dst.update_tags(TIFFTAG_IMAGEDESCRIPTION=description, **tags)
            for band in BANDS:
                dst.set_band_description(band.index, band.name)


def write_label(path: str | os.PathLike, label: np.ndarray) -> None:
    """Write a (250, 250) uint8 label array as ``.npy``."""
    if label.shape != (TILE_PX, TILE_PX) or label.dtype != np.uint8:
        raise ValueError(f"{path}: expected uint8 {(TILE_PX, TILE_PX)}, got {label.dtype} {label.shape}")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, label, allow_pickle=False)


def write_index(path: str | os.PathLike, rows: Sequence[tuple[str, Sequence[float]]]) -> None:
    """Write ``filename2bbox.parquet``: ``filename`` (string) and ``bbox`` (list of 4 float64)."""
    table = pa.table(
        {
            "filename": pa.array([name for name, _ in rows], pa.string()),
            "bbox": pa.array([[float(v) for v in bbox] for _, bbox in rows], pa.list_(pa.float64())),
        }
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def write_normalization(
    path: str | os.PathLike, mean: Sequence[float], std: Sequence[float], n_tiles: int
) -> None:
    """Write ``metrics-normalization.yaml`` (per-band mean and std, file band order)."""
    header = (
        f"# Per-band mean and standard deviation of the {n_tiles} tiles in this folder\n"
        f"# (bands {' '.join(b.name for b in BANDS)}; reflectance 0..1). SYNTHETIC synthetic data.\n"
    )
    body = yaml.safe_dump(
        {"mean": [round(float(v), 6) for v in mean], "std": [round(float(v), 6) for v in std]},
        sort_keys=False,
        default_flow_style=False,
    )
    write_text(path, header + body)


def write_nuts(path: str | os.PathLike, records: Sequence[dict], geometries: Sequence) -> None:
    """Write the NUTS3 boundaries GeoJSON (EPSG:3035, columns NUTS_ID NUTS_NAME CNTR_CODE LEVL_CODE)."""
    import geopandas as gpd

    frame = gpd.GeoDataFrame(list(records), geometry=list(geometries), crs="EPSG:3035")
    with atomic_path(path) as tmp:
        # GDAL names the collection after the file it writes: give the final name, not the temporary one
        frame.to_file(tmp, driver="GeoJSON", layer=Path(path).stem)


def remove_partials(root: str | os.PathLike) -> list[Path]:
    """Delete leftover temporary files under ``root``; return what was removed."""
    removed = []
    root = Path(root)
    if root.exists():
        for path in root.rglob(f"*{PARTIAL_SUFFIX}"):
            if path.is_file():
                path.unlink()
                removed.append(path)
    return removed

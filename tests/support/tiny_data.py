"""A tiny dataset in the exact layout of the data contract, for fast unit tests.

Seven 14-band float64 EPSG:3035 tiles of 250 x 250 pixels (striped, like the
real files), their ``filename2bbox.parquet`` indexes, normalisation YAML files,
uint8 labels for 2018 and 2021 and a NUTS3 GeoJSON with two outlines. Also
helpers that write deliberately broken files for the bad-input tests.

The layout::

    images/LU000/2018/4042000_2951690_0_637.tif
    images/LU000/2021/{4042000,4044500}_{2951690,2954190}_0_{637..640}.tif   (2 x 2 grid)
    images/LU000/2024/4042000_2951690_0_637.tif
    images/BE100/2021/3922000_3095690_0_11.tif      (holds central Brussels)
    labels/... for 2018 and 2021 only
    nuts/NUTS_RG_01M_2021_3035_LEVL_3.geojson     (LU000, BE100)
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import yaml
from affine import Affine

N_BANDS = 14
SIZE = 250
PIXEL = 10.0

#: Per-band statistics written to every metrics-normalization.yaml (DESIGN section 3).
MEAN = [0.0507, 0.0638, 0.0880, 0.0793, 0.1269, 0.2406, 0.2759, 0.2857, 0.2989, 0.2999, 0.1924, 0.1203,
        0.6124, -0.5635]
STD = [0.0415, 0.0497, 0.0527, 0.0568, 0.0586, 0.0748, 0.0825, 0.0897, 0.0878, 0.0763, 0.0767, 0.0607,
       0.1739, 0.1461]

LU_ORIGIN = (4042000, 2951690)
BE_ORIGIN = (3922000, 3095690)
FIRST_STEM = "4042000_2951690_0_637"


def _grid(origin: tuple[int, int], columns: int, rows: int, first_id: int) -> list[str]:
    stems = []
    next_id = first_id
    for row in range(rows):
        for column in range(columns):
            x = origin[0] + column * int(SIZE * PIXEL)
            y = origin[1] + row * int(SIZE * PIXEL)
            stems.append(f"{x}_{y}_0_{next_id}")
            next_id += 1
    return stems


#: region -> year -> tile stems
TINY_LAYOUT: dict[str, dict[int, list[str]]] = {
    "LU000": {
        2018: [FIRST_STEM],
        2021: _grid(LU_ORIGIN, 2, 2, 637),
        2024: [FIRST_STEM],
    },
    "BE100": {2021: [f"{BE_ORIGIN[0]}_{BE_ORIGIN[1]}_0_11"]},
}
LABEL_YEARS = (2018, 2021)


@dataclass
class TinyDataset:
    """Where the tiny dataset was written and what it holds."""

    root: Path
    layout: dict[str, dict[int, list[str]]] = field(default_factory=lambda: TINY_LAYOUT)

    def image(self, nuts: str, year: int, stem: str) -> Path:
        return self.root / "images" / nuts / str(year) / f"{stem}.tif"

    def label(self, nuts: str, year: int, stem: str) -> Path:
        return self.root / "labels" / nuts / str(year) / f"{stem}.npy"


def tile_pixels(stem: str, year: int, n_bands: int = N_BANDS, size: int = SIZE) -> np.ndarray:
    """Deterministic reflectance-like pixels (0..1) plus NDVI and NDWI as the last two bands."""
    rng = np.random.default_rng(zlib.crc32(f"{stem}/{year}".encode()))
    rows, columns = np.mgrid[0:size, 0:size] / size
    field_ = 0.5 + 0.5 * np.sin(6 * rows + 3 * columns + rng.uniform(0, 6))
    spectral = np.empty((12, size, size))
    for band in range(12):
        base = 0.03 + 0.02 * band
        spectral[band] = np.clip(base + 0.2 * field_ * (band >= 5) + rng.normal(0, 0.01, (size, size)), 0, 1)
    red, green, nir = spectral[3], spectral[2], spectral[7]
    ndvi = (nir - red) / (nir + red)
    ndwi = (green - nir) / (green + nir)
    full = np.concatenate([spectral, ndvi[None], ndwi[None]]).astype("float64")
    if n_bands <= N_BANDS:
        return full[:n_bands]
    return np.concatenate([full, np.zeros((n_bands - N_BANDS, size, size))])


def write_tile(
    path: Path,
    xmin: float,
    ymin: float,
    *,
    n_bands: int = N_BANDS,
    crs: str = "EPSG:3035",
    size: int = SIZE,
    year: int = 2021,
    pixels: np.ndarray | None = None,
) -> Path:
    """Write one striped GeoTIFF whose lower-left corner is ``(xmin, ymin)`` in ``crs`` units."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = tile_pixels(path.stem, year, n_bands, size) if pixels is None else pixels
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": data.shape[0],
        "dtype": str(data.dtype),
        "crs": crs,
        "transform": Affine(PIXEL, 0.0, xmin, 0.0, -PIXEL, ymin + size * PIXEL),
        "nodata": None,
        "tiled": False,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def label_pixels(stem: str, year: int, size: int = SIZE) -> np.ndarray:
    """Deterministic uint8 classes 1..10 with a strip of 0 (no data)."""
    rng = np.random.default_rng(zlib.crc32(f"label/{stem}/{year}".encode()))
    blocks = rng.integers(1, 11, size=(size // 25 + 1, size // 25 + 1), dtype=np.uint8)
    label = np.kron(blocks, np.ones((25, 25), dtype=np.uint8))[:size, :size]
    label[:, :5] = 0
    return label


def write_index(folder: Path, stems: list[str]) -> Path:
    """Write ``filename2bbox.parquet`` for the tiles of one region and year."""
    rows = []
    for stem in stems:
        xmin, ymin = (float(v) for v in stem.split("_")[:2])
        bbox = [xmin, ymin, xmin + SIZE * PIXEL, ymin + SIZE * PIXEL]
        rows.append({"filename": f"{stem}.tif", "bbox": bbox})
    target = folder / "filename2bbox.parquet"
    pd.DataFrame(rows).to_parquet(target, index=False)
    return target


def _outline(lon_min: float, lat_min: float, lon_max: float, lat_max: float):
    """A WGS84 box, densified then reprojected to EPSG:3035 (a curved quadrilateral)."""
    from pyproj import Transformer
    from shapely.geometry import Polygon

    steps = np.linspace(0, 1, 20)
    lons = np.concatenate([lon_min + (lon_max - lon_min) * steps, np.full(20, lon_max),
                           lon_max - (lon_max - lon_min) * steps, np.full(20, lon_min)])
    lats = np.concatenate([np.full(20, lat_min), lat_min + (lat_max - lat_min) * steps,
                           np.full(20, lat_max), lat_max - (lat_max - lat_min) * steps])
    x, y = Transformer.from_crs(4326, 3035, always_xy=True).transform(lons, lats)
    return Polygon(zip(x, y))


def write_nuts(root: Path) -> Path:
    """NUTS3 outlines (EPSG:3035) of LU000 and BE100, rough boxes around the real regions."""
    import geopandas as gpd

    frame = gpd.GeoDataFrame(
        {
            "NUTS_ID": ["LU000", "BE100"],
            "NUTS_NAME": ["Luxembourg", "Arr. de Bruxelles-Capitale"],
            "CNTR_CODE": ["LU", "BE"],
            "LEVL_CODE": [3, 3],
        },
        geometry=[_outline(5.73, 49.45, 6.53, 50.18), _outline(4.24, 50.76, 4.48, 50.91)],
        crs="EPSG:3035",
    )
    target = root / "nuts" / "NUTS_RG_01M_2021_3035_LEVL_3.geojson"
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_file(target, driver="GeoJSON")
    return target


def build_tiny_dataset(root: Path) -> TinyDataset:
    """Write the tiny dataset under ``root`` (created) and describe it."""
    root.mkdir(parents=True, exist_ok=True)
    for nuts, years in TINY_LAYOUT.items():
        for year, stems in years.items():
            folder = root / "images" / nuts / str(year)
            for stem in stems:
                xmin, ymin = (int(v) for v in stem.split("_")[:2])
                write_tile(folder / f"{stem}.tif", xmin, ymin, year=year)
                if year in LABEL_YEARS:
                    label_folder = root / "labels" / nuts / str(year)
                    label_folder.mkdir(parents=True, exist_ok=True)
                    np.save(label_folder / f"{stem}.npy", label_pixels(stem, year))
            write_index(folder, stems)
            (folder / "metrics-normalization.yaml").write_text(yaml.safe_dump({"mean": MEAN, "std": STD}))
    write_nuts(root)
    (root / "README.md").write_text("Tiny synthetic test data (not real imagery).\n")
    (root / "manifest.json").write_text(json.dumps(TINY_LAYOUT, default=str))
    return TinyDataset(root)


def write_corrupt_tif(path: Path) -> Path:
    """A file named .tif that is not a GeoTIFF: a TIFF header followed by garbage."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"II*\x00" + b"\x08\x00\x00\x00" + b"not really a tiff" * 50)
    return path

"""A toy dataset in the data-contract layout: a few small, learnable tiles written in seconds.

For the tests of the training code, which must run without the synthetic
data (``make data``). Each class has its own spectrum (plus noise), labels
are patches of classes (Voronoi cells) with a strip of nodata on some tiles,
and the same locations exist in every year (2021 differs from 2018 by a few
patches), so leakage across years can be tested. Tiles are ``size`` pixels
of 10 m (64 by default rather than the real 250, to stay fast).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from landcover.classes import N_CLASSES

PIXEL_M = 10.0
TOY_REGIONS: dict[str, tuple[int, int]] = {"AA001": (4_000_000, 3_000_000), "BB002": (4_100_000, 3_000_000)}


def class_spectra(seed: int = 7) -> np.ndarray:
    """Distinct 12-band reflectance signatures, one row per class 1..10 (values 0.02..0.5)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.02, 0.5, size=(N_CLASSES, 12))


def toy_label(stem: str, year: int, size: int, *, cells: int = 12) -> np.ndarray:
    """Voronoi patches of classes 1..10; a nodata strip on one tile in three; year-dependent tweaks."""
    rng = np.random.default_rng(zlib.crc32(stem.encode()))
    points = rng.uniform(0, size, size=(cells, 2))
    classes = rng.integers(1, N_CLASSES + 1, size=cells)
    if year != 2018:
        changed = np.random.default_rng(zlib.crc32(f"{stem}/{year}".encode())).integers(0, cells, size=2)
        classes[changed] = (classes[changed] % N_CLASSES) + 1
    rows, cols = np.mgrid[0:size, 0:size]
    distance = (rows[..., None] - points[:, 0]) ** 2 + (cols[..., None] - points[:, 1]) ** 2
    label = classes[distance.argmin(axis=-1)].astype(np.uint8)
    if zlib.crc32(stem.encode()) % 3 == 0:
        label[:, : max(1, size // 10)] = 0
    return label


def toy_image(label: np.ndarray, stem: str, year: int, *, noise: float = 0.03) -> np.ndarray:
    """14-band float64 image matching ``label``: class spectrum + noise, then NDVI and NDWI."""
    spectra = class_spectra()
    rng = np.random.default_rng(zlib.crc32(f"image/{stem}/{year}".encode()))
    classes = np.where(label == 0, 6, label).astype(int) - 1  # nodata pixels still look like land
    spectral = spectra[classes].transpose(2, 0, 1) + rng.normal(0, noise, size=(12, *label.shape))
    spectral = np.clip(spectral, 0.001, 1.0)
    red, green, nir = spectral[3], spectral[2], spectral[7]
    ndvi = (nir - red) / (nir + red)
    ndwi = (green - nir) / (green + nir)
    return np.concatenate([spectral, ndvi[None], ndwi[None]]).astype(np.float64)


def write_toy_dataset(
    root: str | Path,
    *,
    regions: Sequence[str] = ("AA001", "BB002"),
    years: Sequence[int] = (2018, 2021),
    grid: tuple[int, int] = (3, 3),
    size: int = 64,
    noise: float = 0.03,
) -> Path:
    """Write ``grid`` tiles per region and year under ``root``; returns ``root``.

    Stems are ``{xmin}_{ymin}_0_{id}``, identical across years for one location.
    """
    import rasterio
    from affine import Affine

    root = Path(root)
    side = size * PIXEL_M
    for nuts in regions:
        origin = TOY_REGIONS.get(nuts, (4_200_000 + 100_000 * len(nuts), 3_100_000))
        for year in years:
            images = root / "images" / nuts / str(year)
            labels = root / "labels" / nuts / str(year)
            images.mkdir(parents=True, exist_ok=True)
            labels.mkdir(parents=True, exist_ok=True)
            rows, sums, squares, count = [], np.zeros(14), np.zeros(14), 0
            for index in range(grid[0] * grid[1]):
                xmin = origin[0] + (index % grid[0]) * side
                ymin = origin[1] + (index // grid[0]) * side
                stem = f"{int(xmin)}_{int(ymin)}_0_{index + 1}"
                label = toy_label(stem, year, size)
                image = toy_image(label, stem, year, noise=noise)
                profile = {
                    "driver": "GTiff", "width": size, "height": size, "count": 14, "dtype": "float64",
                    "crs": "EPSG:3035", "transform": Affine(PIXEL_M, 0, xmin, 0, -PIXEL_M, ymin + side),
                    "nodata": None, "tiled": False,
                }
                with rasterio.open(images / f"{stem}.tif", "w", **profile) as dst:
                    dst.write(image)
                if year in (2018, 2021):
                    np.save(labels / f"{stem}.npy", label)
                rows.append({"filename": f"{stem}.tif", "bbox": [xmin, ymin, xmin + side, ymin + side]})
                flat = image.reshape(14, -1)
                sums += flat.sum(axis=1)
                squares += (flat**2).sum(axis=1)
                count += flat.shape[1]
            pd.DataFrame(rows).to_parquet(images / "filename2bbox.parquet", index=False)
            mean = sums / count
            std = np.sqrt(squares / count - mean**2)
            (images / "metrics-normalization.yaml").write_text(
                yaml.safe_dump({"mean": [float(v) for v in mean], "std": [float(v) for v in std]})
            )
    return root

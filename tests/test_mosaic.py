"""The VRT mosaic of a region-year: opens with rasterio, and its pixels are the tiles' pixels."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.windows import from_bounds

from landcover.data.mosaic import build_mosaic_vrt
from landcover.errors import DataFileError
from landcover.synthetic import SMALL_REGIONS, YEARS, generate_synthetic


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four LU000 cells with a mosaic per year (generated once for the module)."""
    root = tmp_path_factory.mktemp("mosaic-synthetic") / "synthetic"
    generate_synthetic(root, regions=SMALL_REGIONS, workers=1, progress=False, mosaic_regions=("LU000",))
    return root


def _assert_mosaic_matches_tiles(vrt: Path | str, tiles: list[Path]) -> None:
    with rasterio.open(vrt) as mosaic:
        assert mosaic.count == 14 and mosaic.dtypes[0] == "float64"
        assert mosaic.crs.to_epsg() == 3035 and mosaic.res == (10.0, 10.0)
        for tile in tiles:
            with rasterio.open(tile) as src:
                expected = src.read()
                window = from_bounds(*src.bounds, transform=mosaic.transform)
            got = mosaic.read(window=window)
            assert got.shape == expected.shape
            assert np.array_equal(got, expected), tile.name


def test_mosaic_pixels_equal_tile_pixels(small: Path) -> None:
    for year in YEARS:
        folder = small / "images" / "LU000" / str(year)
        vrt = folder / "mosaic.vrt"
        tiles = sorted(folder.glob("*.tif"))
        _assert_mosaic_matches_tiles(vrt, tiles)
        with rasterio.open(vrt) as mosaic:
            boxes = np.array(list(pd.read_parquet(folder / "filename2bbox.parquet")["bbox"]))
            assert tuple(mosaic.bounds) == (
                boxes[:, 0].min(),
                boxes[:, 1].min(),
                boxes[:, 2].max(),
                boxes[:, 3].max(),
            )
            assert mosaic.descriptions[12] == "NDVI"
            assert mosaic.tags().get("SYNTHETIC") == "true"


def test_sources_are_relative_inside_the_data_root(small: Path, tmp_path: Path) -> None:
    vrt = small / "images" / "LU000" / "2021" / "mosaic.vrt"
    sources = ET.parse(vrt).getroot().findall(".//SourceFilename")
    assert sources and all(s.get("relativeToVRT") == "1" and "/" not in s.text for s in sources)
    moved = tmp_path / "moved"
    shutil.copytree(small, moved)  # the data folder can be moved: the mosaic still works
    _assert_mosaic_matches_tiles(moved / "images" / "LU000" / "2021" / "mosaic.vrt",
                                 sorted((moved / "images" / "LU000" / "2021").glob("*.tif")))  # fmt: skip


def test_mosaic_written_elsewhere_uses_absolute_paths(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "lu.vrt"
    written = build_mosaic_vrt("LU000", 2018, root=str(small), out_path=out)
    assert Path(written) == out
    sources = ET.parse(out).getroot().findall(".//SourceFilename")
    assert all(s.get("relativeToVRT") == "0" and Path(s.text).is_absolute() for s in sources)
    _assert_mosaic_matches_tiles(out, sorted((small / "images" / "LU000" / "2018").glob("*.tif")))


def test_cells_without_a_tile_read_as_nan(small: Path, tmp_path: Path) -> None:
    root = tmp_path / "partial"
    shutil.copytree(small, root)
    folder = root / "images" / "LU000" / "2024"
    index = pd.read_parquet(folder / "filename2bbox.parquet")
    dropped = index.iloc[0]
    index.iloc[1:].to_parquet(folder / "filename2bbox.parquet", index=False)
    vrt = build_mosaic_vrt("LU000", 2024, root=str(root))
    with rasterio.open(vrt) as mosaic:
        assert np.isnan(mosaic.nodata)
        assert (mosaic.width, mosaic.height) == (500, 500)  # three of four cells still span the square
        hole = mosaic.read(1, window=from_bounds(*dropped["bbox"], transform=mosaic.transform))
    assert np.isnan(hole).all()


def test_clear_errors(small: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="filename2bbox.parquet"):
        build_mosaic_vrt("LU000", 2019, root=str(small))
    with pytest.raises(ValueError, match="nuts"):
        build_mosaic_vrt("../LU000", 2021, root=str(small))
    root = tmp_path / "empty"
    shutil.copytree(small, root)
    index = pd.read_parquet(root / "images" / "LU000" / "2021" / "filename2bbox.parquet")
    index.iloc[:0].to_parquet(root / "images" / "LU000" / "2021" / "filename2bbox.parquet", index=False)
    with pytest.raises(DataFileError, match="no tiles"):
        build_mosaic_vrt("LU000", 2021, root=str(root))


def test_full_synthetic_data_brussels_mosaic(synthetic_dir: Path) -> None:
    for year in YEARS:
        folder = synthetic_dir / "images" / "BE100" / str(year)
        tiles = sorted(folder.glob("*.tif"))
        _assert_mosaic_matches_tiles(folder / "mosaic.vrt", tiles[:: max(1, len(tiles) // 4)])
        with rasterio.open(folder / "mosaic.vrt") as mosaic:
            assert (mosaic.width, mosaic.height) == (7 * 250, 7 * 250)
            corner = mosaic.read(4, window=((0, 10), (0, 10)))  # north-west cell lies outside Brussels
        assert np.isnan(corner).all()

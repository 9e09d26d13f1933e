"""The tile index: loading it in every mode, and finding the tile under a point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.support.tiny_data import TINY_LAYOUT

from landcover.data import (
    DataFileError,
    PointOutsideTilesError,
    clear_tile_index_cache,
    find_tile_at,
    get_satellite_image,
    load_tile_index,
)
from landcover.data.paths import image_path, tile_bounds_from_name


def test_index_in_every_mode(tiny_root):
    index = load_tile_index("LU000", 2021)
    assert list(index.columns) == ["filename", "bbox", "geometry"]
    assert index.crs.to_epsg() == 3035
    assert sorted(index["filename"]) == sorted(f"{s}.tif" for s in TINY_LAYOUT["LU000"][2021])
    for filename, bbox, geometry in zip(index["filename"], index["bbox"], index.geometry):
        assert tuple(bbox) == tile_bounds_from_name(filename)
        assert geometry.bounds == tuple(bbox)
        assert geometry.area == 2500 * 2500


def test_point_inside_a_tile(tiny_root):
    # Eurostat's building in Luxembourg, in EPSG:3035 metres (from the original chapter).
    match = find_tile_at(4044386, 2953974, "LU000", 2021)
    assert match.filename == "4042000_2951690_0_637.tif"
    assert str(match) == match.filename and match.stem == "4042000_2951690_0_637"
    assert match.bbox == (4042000, 2951690, 4044500, 2954190)
    assert match.path == image_path("LU000", 2021, match.stem) and match.path.startswith(tiny_root.root)
    image = get_satellite_image(match.path, n_bands=1)
    left, bottom, right, top = image["bounds"]
    assert left <= match.x <= right and bottom <= match.y <= top


def test_point_in_wgs84_is_reprojected(tiny_data):
    match = find_tile_at(6.1695145, 49.6335945, "LU000", 2021, crs="EPSG:4326", root=str(tiny_data.root))
    assert match.filename == "4042000_2951690_0_637.tif"
    assert match.x == pytest.approx(4044386, abs=1) and match.y == pytest.approx(2953974, abs=1)


@pytest.mark.parametrize(
    "x, y, expected, n_candidates",
    [
        (4044500, 2953000, "4044500_2951690_0_638.tif", 2),  # shared vertical edge -> east tile
        (4043000, 2954190, "4042000_2954190_0_639.tif", 2),  # shared horizontal edge -> north tile
        (4044500, 2954190, "4044500_2954190_0_640.tif", 4),  # corner of four tiles -> north-east
        (4042000, 2951690, "4042000_2951690_0_637.tif", 1),  # outer south-west corner
        (4047000, 2956690, "4044500_2954190_0_640.tif", 1),  # outer north-east corner (closed box)
        (4042000, 2953000, "4042000_2951690_0_637.tif", 1),  # outer west edge
    ],
)
def test_points_on_tile_edges(tiny_data, x, y, expected, n_candidates):
    match = find_tile_at(x, y, "LU000", 2021, root=str(tiny_data.root))
    assert match.filename == expected
    assert len(match.candidates) == n_candidates and expected in match.candidates


def test_point_outside_every_tile_says_how_far_the_nearest_is(tiny_root):
    # Central Luxembourg City lies ~620 m west of the tiny grid.
    expected = r"outside every tile of LU000/2021.*4042000_2951690_0_637\.tif, is 620 m away"
    with pytest.raises(PointOutsideTilesError, match=expected) as info:
        find_tile_at(4041380, 2951682, "LU000", 2021)
    assert info.value.nearest == "4042000_2951690_0_637.tif"
    assert info.value.distance_m == pytest.approx(np.hypot(620, 8))
    with pytest.raises(PointOutsideTilesError, match=r"lon|EPSG:4326"):
        find_tile_at(2.3522, 48.8566, "LU000", 2021, crs="EPSG:4326")


def test_missing_index_names_the_region_and_year(tiny_root):
    expected = r"nuts='BE100', year=2018.*BE100/2018/filename2bbox\.parquet"
    with pytest.raises(FileNotFoundError, match=expected):
        load_tile_index("BE100", 2018)
    with pytest.raises(FileNotFoundError, match="filename2bbox"):
        find_tile_at(0, 0, "XX999", 2021)


def test_bad_points_and_parameters(tiny_data):
    root = str(tiny_data.root)
    with pytest.raises(ValueError, match="finite"):
        find_tile_at(float("nan"), 1.0, "LU000", 2021, root=root)
    with pytest.raises(ValueError, match="year="):
        find_tile_at(4044386, 2953974, "LU000", "21", root=root)
    with pytest.raises(ValueError, match="nuts="):
        find_tile_at(4044386, 2953974, "../LU000", 2021, root=root)


def _write_index(folder, frame):
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "filename2bbox.parquet")


def test_bad_index_files(tmp_path):
    folder = tmp_path / "images" / "LU000" / "2021"
    _write_index(folder, pd.DataFrame({"name": ["a.tif"], "bbox": [[0.0, 0.0, 1.0, 1.0]]}))
    with pytest.raises(DataFileError, match=r"filename2bbox\.parquet lacks column\(s\) \['filename'\]"):
        load_tile_index("LU000", 2021, root=str(tmp_path))
    _write_index(folder, pd.DataFrame({"filename": ["a.tif"], "bbox": [[0.0, 0.0, 1.0]]}))
    with pytest.raises(DataFileError, match="4 numbers"):
        load_tile_index("LU000", 2021, root=str(tmp_path))
    _write_index(folder, pd.DataFrame({"filename": ["a.tif"], "bbox": [[5.0, 0.0, 1.0, 1.0]]}))
    with pytest.raises(DataFileError, match="xmin, ymin, xmax, ymax"):
        load_tile_index("LU000", 2021, root=str(tmp_path))
    (folder / "filename2bbox.parquet").write_bytes(b"PAR1 not parquet")
    with pytest.raises(DataFileError, match="as Parquet"):
        load_tile_index("LU000", 2021, root=str(tmp_path))


def test_a_rewritten_local_index_is_read_again(tmp_path):
    folder = tmp_path / "images" / "LU000" / "2021"
    _write_index(folder, pd.DataFrame({"filename": ["0_0_0_1.tif"], "bbox": [[0.0, 0.0, 2500.0, 2500.0]]}))
    assert find_tile_at(10, 10, "LU000", 2021, root=str(tmp_path)).filename == "0_0_0_1.tif"
    _write_index(folder, pd.DataFrame({"filename": ["0_0_0_2.tif", "2500_0_0_3.tif"],
                                       "bbox": [[0.0, 0.0, 2500.0, 2500.0], [2500.0, 0.0, 5000.0, 2500.0]]}))
    assert find_tile_at(3000, 10, "LU000", 2021, root=str(tmp_path)).filename == "2500_0_0_3.tif"
    clear_tile_index_cache()
    assert len(load_tile_index("LU000", 2021, root=str(tmp_path))) == 2


def test_lookup_in_a_large_index_is_vectorised(tmp_path):
    """A 300 x 300 grid (90,000 tiles, far more than any region): every sampled point lands
    in the tile that its coordinates imply."""
    n = 300
    columns, rows = np.meshgrid(np.arange(n), np.arange(n))
    xmin = (columns.ravel() * 2500.0) + 4_000_000
    ymin = (rows.ravel() * 2500.0) + 2_900_000
    names = [f"{int(x)}_{int(y)}_0_{i}.tif" for i, (x, y) in enumerate(zip(xmin, ymin))]
    boxes = np.stack([xmin, ymin, xmin + 2500, ymin + 2500], axis=1)
    frame = pd.DataFrame({"filename": names, "bbox": list(boxes)})
    _write_index(tmp_path / "images" / "AT332" / "2024", frame)
    rng = np.random.default_rng(1)
    for x, y in zip(rng.uniform(4_000_000, 4_750_000, 50), rng.uniform(2_900_000, 3_650_000, 50)):
        match = find_tile_at(x, y, "AT332", 2024, root=str(tmp_path))
        column, row = int((x - 4_000_000) // 2500), int((y - 2_900_000) // 2500)
        assert match.filename == names[row * n + column]

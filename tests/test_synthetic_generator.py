"""The synthetic data generator: layout, formats, realism, determinism, interruption safety.

Two kinds of tests: those on a tiny configuration generated here (four LU000
cells, a few seconds), and those on the full synthetic data at ``data/synthetic`` that
``make test`` generates first (skipped when it is absent).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml
from scipy import ndimage

from landcover.bands import BAND_NAMES
from landcover.classes import class_table
from landcover.data.grid import TileGrid
from landcover.data.paths import format_tile_name
from landcover.synthetic import (
    GENERATOR_VERSION,
    LABEL_YEARS,
    MANIFEST_NAME,
    SMALL_REGIONS,
    SYNTHETIC_REGIONS,
    YEARS,
    SyntheticDataError,
    config_key,
    generate_synthetic,
    is_synthetic_complete,
    read_manifest,
    region_by_id,
    synthetic_status,
    validate_synthetic,
)
from landcover.synthetic.cli import main
from landcover.synthetic.legacy import (
    LEGACY_FOLDER_NAME,
    LEGACY_GENERATOR,
    LEGACY_MARKER,
    adopt_legacy_folder,
)
from landcover.synthetic.noise import SEED
from landcover.synthetic.regions import LU000_GRID

SEED_TILES = {  # tile id -> stem used by the original book (LU000)
    637: "4042000_2951690_0_637",
    402: "4017000_2974190_0_402",
    354: "4022000_2979190_0_354",
}
#: Mean reflectance per band of the real training data (DESIGN section 3).
REAL_MEANS = [0.0507, 0.0638, 0.0880, 0.0793, 0.1269, 0.2406, 0.2759, 0.2857, 0.2989, 0.2999, 0.1924, 0.1203]


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny configuration, generated once for this module (read-only for tests)."""
    root = tmp_path_factory.mktemp("small-synthetic") / "synthetic"
    report = generate_synthetic(root, regions=SMALL_REGIONS, workers=1, progress=False)
    assert not report.skipped
    return root


@pytest.fixture
def small_copy(small: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny synthetic data that a test may damage."""
    target = tmp_path / "synthetic"
    shutil.copytree(small, target)
    return target


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


def _tile_paths(root: Path, nuts: str | None = None, year: int | None = None) -> list[Path]:
    pattern = f"images/{nuts or '*'}/{year or '*'}/*.tif"
    return sorted(root.glob(pattern))


# --- grid and names --------------------------------------------------------------------


def test_lu000_grid_reproduces_the_books_tile_names() -> None:
    for tile_id, stem in SEED_TILES.items():
        row, col = LU000_GRID.row_col(tile_id)
        xmin, ymin, xmax, ymax = LU000_GRID.bounds(row, col)
        assert format_tile_name(xmin, ymin, 0, LU000_GRID.tile_id(row, col)) == stem
        assert (xmax - xmin, ymax - ymin) == (2500.0, 2500.0)
    # Luxembourg City centre falls in row 26, column 11 of the grid.
    assert LU000_GRID.cell_at(4041380, 2951682) == (26, 11)


def test_grid_rejects_cells_outside_it() -> None:
    grid = TileGrid(x0=0.0, top=10000.0, ncols=3, nrows=2)
    with pytest.raises(ValueError, match="outside"):
        grid.bounds(2, 0)
    with pytest.raises(ValueError, match="outside"):
        grid.row_col(6)


def test_synthetic_regions_are_real_nuts3_with_plausible_outlines() -> None:
    expected_km2 = {"LU000": 2586, "BE100": 161, "AT332": 105, "PT16I": 3300}
    for region in SYNTHETIC_REGIONS:
        area = region.outline.area / 1e6
        assert region.outline.is_valid
        assert abs(area - expected_km2[region.nuts_id]) / expected_km2[region.nuts_id] < 0.1, region.nuts_id
        xmin, ymin, xmax, ymax = region.outline.bounds
        grid = region.grid
        assert grid.x0 <= xmin and xmax <= grid.x0 + 2500 * grid.ncols
        assert grid.top >= ymax and ymin >= grid.top - 2500 * grid.nrows
    total = sum(len(r.cells) for r in SYNTHETIC_REGIONS)
    assert 100 <= total <= 130
    # BE100 is covered completely: every cell meeting the outline is simulated.
    brussels = region_by_id("BE100")
    assert all(cell.window == "all" for cell in brussels.cells)
    lu = region_by_id("LU000")
    assert set(SEED_TILES) <= {c.tile_id for c in lu.cells}


# --- the tiny synthetic data -------------------------------------------------------------------


def test_small_synthetic_data_is_valid_and_complete(small: Path) -> None:
    assert validate_synthetic(small) == []
    assert is_synthetic_complete(small, SMALL_REGIONS)
    assert not is_synthetic_complete(small, SYNTHETIC_REGIONS)  # another configuration
    manifest = read_manifest(small)
    assert manifest["version"] == GENERATOR_VERSION and manifest["seed"] == SEED
    assert manifest["config"] == config_key(SMALL_REGIONS, SEED)
    listed = {entry["path"] for entry in manifest["files"]}
    on_disk = {p.relative_to(small).as_posix() for p in small.rglob("*") if p.is_file()} - {MANIFEST_NAME}
    assert listed == on_disk


def test_layout_index_files_agree_with_folders_and_bounds(small: Path) -> None:
    cells = SMALL_REGIONS[0].cells
    for year in YEARS:
        folder = small / "images" / "LU000" / str(year)
        index = pd.read_parquet(folder / "filename2bbox.parquet")
        assert list(index.columns) == ["filename", "bbox"]
        assert sorted(index["filename"]) == sorted(p.name for p in folder.glob("*.tif"))
        assert sorted(index["filename"]) == sorted(f"{c.stem}.tif" for c in cells)
        for name, bbox in zip(index["filename"], index["bbox"], strict=True):
            assert len(bbox) == 4 and all(isinstance(v, float) for v in bbox)
            xmin, ymin = (float(v) for v in name.split("_")[:2])
            assert list(bbox) == [xmin, ymin, xmin + 2500.0, ymin + 2500.0]
            with rasterio.open(folder / name) as src:
                assert tuple(src.bounds) == tuple(bbox)
        labels = small / "labels" / "LU000" / str(year)
        if year in LABEL_YEARS:
            assert sorted(p.stem for p in labels.glob("*.npy")) == sorted(c.stem for c in cells)
        else:
            assert not labels.exists()


def test_tiles_follow_the_data_contract(small: Path) -> None:
    for path in _tile_paths(small):
        with rasterio.open(path) as src:
            assert src.driver == "GTiff"
            assert src.count == 14 and set(src.dtypes) == {"float64"}
            assert (src.width, src.height) == (250, 250)
            assert src.crs.to_epsg() == 3035
            assert src.res == (10.0, 10.0)
            assert src.nodata is None
            assert src.profile["tiled"] is False
            assert src.descriptions == BAND_NAMES
            tags = src.tags()
            assert tags["SYNTHETIC"] == "true"
            assert "SYNTHETIC" in tags["TIFFTAG_IMAGEDESCRIPTION"]
            data = src.read()
        assert data[:12].min() >= 0 and data[:12].max() <= 1
        # indices are computed from the stored bands (up to the 2**-13 rounding)
        b3, b4, b8 = data[2], data[3], data[7]
        with np.errstate(divide="ignore", invalid="ignore"):
            ndvi = np.where(b8 + b4 > 0, (b8 - b4) / (b8 + b4), 0)
            ndwi = np.where(b3 + b8 > 0, (b3 - b8) / (b3 + b8), 0)
        assert np.abs(data[12] - ndvi).max() <= 2.0**-13
        assert np.abs(data[13] - ndwi).max() <= 2.0**-13
        # quantised to multiples of 2**-13 (what keeps float64 files small)
        assert np.array_equal(data, np.round(data * 2**13) / 2**13)


def test_the_books_tile_637_is_there_with_exact_bounds(small: Path) -> None:
    stem = SEED_TILES[637]
    for year in YEARS:
        with rasterio.open(small / "images" / "LU000" / str(year) / f"{stem}.tif") as src:
            assert tuple(src.bounds) == (4042000.0, 2951690.0, 4044500.0, 2954190.0)
    for year in LABEL_YEARS:
        label = np.load(small / "labels" / "LU000" / str(year) / f"{stem}.npy")
        assert label.dtype == np.uint8 and label.shape == (250, 250)
        assert set(np.unique(label)) <= set(range(11))


def test_labels_align_with_the_images(small: Path) -> None:
    """Sealed pixels are not green; forest and grass are; per pixel, not just per tile."""
    ndvi_by_class: dict[int, list[np.ndarray]] = {}
    for path in _tile_paths(small, "LU000", 2021):
        label = np.load(small / "labels" / "LU000" / "2021" / f"{path.stem}.npy")
        with rasterio.open(path) as src:
            ndvi = src.read(13)
        for k in np.unique(label):
            ndvi_by_class.setdefault(int(k), []).append(ndvi[label == k])
    median = {k: float(np.median(np.concatenate(v))) for k, v in ndvi_by_class.items()}
    assert median[1] < 0.35
    assert median[3] > 0.65 and median[6] > 0.5
    assert median[1] < median[6] - 0.25


def test_small_synthetic_data_extras(small: Path) -> None:
    readme = (small / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "not real satellite data" in readme
    classes = pd.read_csv(small / "classes.csv")
    pd.testing.assert_frame_equal(classes, class_table())
    import geopandas as gpd

    nuts = gpd.read_file(small / "nuts" / "NUTS_RG_01M_2021_3035_LEVL_3.geojson")
    assert nuts.crs.to_epsg() == 3035
    assert list(nuts["NUTS_ID"]) == ["LU000"] and list(nuts["LEVL_CODE"]) == [3]
    assert {"NUTS_ID", "NUTS_NAME", "CNTR_CODE", "LEVL_CODE"} <= set(nuts.columns)
    for year in YEARS:
        text = (small / "images" / "LU000" / str(year) / "metrics-normalization.yaml").read_text()
        assert text.startswith("#")
        stats = yaml.safe_load(text)
        assert len(stats["mean"]) == 14 and len(stats["std"]) == 14
        with rasterio.open(_tile_paths(small, "LU000", year)[0]) as src:
            assert src.count == len(stats["mean"])
        # the file's statistics are those of the folder's tiles
        stack = np.stack([_read(p) for p in _tile_paths(small, "LU000", year)])
        assert np.allclose(stats["mean"], stack.mean(axis=(0, 2, 3)), atol=1e-5)
        assert np.allclose(stats["std"], stack.std(axis=(0, 2, 3)), atol=1e-5)


def test_generation_is_deterministic_whatever_the_worker_count(small: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_synthetic(again, regions=SMALL_REGIONS, workers=2, progress=False)
    assert _digests(again) == _digests(small)


#: sha256 of the tiny configuration's labels under generator version 1.1.0 (towns with a street grid). Labels depend on every
#: step of the landscape simulation (and on every draw, in order), so a refactoring that changes none
#: of them keeps these; a change on purpose is a new GENERATOR_VERSION, with these digests updated.
SMALL_LABEL_DIGESTS_1_1_0 = {
    "labels/LU000/2018/4039500_2949190_0_661.npy": "4091d882ae11527c2f22a233acd6f84f2bf8ae8aff3a9d78c47881be3d91a423",
    "labels/LU000/2018/4039500_2951690_0_636.npy": "2f6df6d79b476cb8096b0ad10b1d9a94962930da00c76eae7a5d46f7db05c404",
    "labels/LU000/2018/4042000_2949190_0_662.npy": "a423c35a61c71e36f0c3505e60c3f1f2099d9ce211884982ad3753b0ea2457dc",
    "labels/LU000/2018/4042000_2951690_0_637.npy": "3cea99631967cfd6327d14798713c0560e603b1759b016fc074327e67fffb32a",
    "labels/LU000/2021/4039500_2949190_0_661.npy": "2eb6200ce1449091ab469fa49d0e1efaae18cb346c02c23ea167315c831d8bb1",
    "labels/LU000/2021/4039500_2951690_0_636.npy": "6528bddf3e12333674f19db0e0769941890f0da3015a90c2fdd235fdbf4a85e2",
    "labels/LU000/2021/4042000_2949190_0_662.npy": "e5f352d4dea45ea4f1c72de7d377ee55e3ed8ec14d9694576edcb193382d61e2",
    "labels/LU000/2021/4042000_2951690_0_637.npy": "89048a12e0adaf36c044f6ba55f77c87cb2e268c1d360c42dc3ac82e47087e03",
}


def test_small_labels_are_the_same_for_the_same_generator_version(small: Path) -> None:
    assert GENERATOR_VERSION == "1.1.0", "a new generator version: update SMALL_LABEL_DIGESTS_1_1_0 with it"
    labels = {path: digest for path, digest in _digests(small).items() if path.startswith("labels/")}
    assert labels == SMALL_LABEL_DIGESTS_1_1_0


def test_complete_synthetic_data_is_skipped(small_copy: Path) -> None:
    report = generate_synthetic(small_copy, regions=SMALL_REGIONS, workers=1, progress=False)
    assert report.skipped and report.reason == "synthetic data complete, nothing to do"


def test_leftover_temporary_file_invalidates_and_is_cleaned(small_copy: Path) -> None:
    folder = small_copy / "images" / "LU000" / "2024"
    leftover = folder / f".{SEED_TILES[637]}.tif.12345.partial"
    leftover.write_bytes(b"half a tile")
    key = config_key(SMALL_REGIONS, SEED)
    status = synthetic_status(small_copy, key)
    assert not status.complete and "temporary" in status.reason
    assert any("temporary" in p for p in validate_synthetic(small_copy, deep=False))
    report = generate_synthetic(small_copy, regions=SMALL_REGIONS, workers=1, progress=False)
    assert not report.skipped
    assert not leftover.exists()
    assert synthetic_status(small_copy, key).complete


def test_missing_file_triggers_regeneration_with_the_same_bytes(small: Path, small_copy: Path) -> None:
    victim = small_copy / "images" / "LU000" / "2018" / f"{SEED_TILES[637]}.tif"
    victim.unlink()
    status = synthetic_status(small_copy, config_key(SMALL_REGIONS, SEED))
    assert not status.complete and "missing" in status.reason
    report = generate_synthetic(small_copy, regions=SMALL_REGIONS, workers=1, progress=False)
    assert not report.skipped
    assert _digests(small_copy) == _digests(small)


def test_stale_files_are_pruned_on_regeneration(small: Path, small_copy: Path) -> None:
    stale = small_copy / "images" / "LU000" / "2021" / "4000000_2900000_0_1.tif"
    shutil.copy(small_copy / "images" / "LU000" / "2021" / f"{SEED_TILES[637]}.tif", stale)
    unrelated = small_copy / "mlflow-artifacts" / "keep.txt"
    unrelated.parent.mkdir()
    unrelated.write_text("not ours")
    assert any("does not match the folder" in p for p in validate_synthetic(small_copy, deep=False))
    generate_synthetic(small_copy, regions=SMALL_REGIONS, workers=1, progress=False, force=True)
    assert not stale.exists()
    assert unrelated.read_text() == "not ours"  # files outside the generator's folders are left alone
    assert validate_synthetic(small_copy) == []


def test_validate_catches_corrupted_files(small_copy: Path) -> None:
    tile = small_copy / "images" / "LU000" / "2021" / f"{SEED_TILES[637]}.tif"
    raw = bytearray(tile.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 4096] = bytes(4096)  # same size, garbage in the middle
    tile.write_bytes(bytes(raw))
    label = small_copy / "labels" / "LU000" / "2018" / f"{SEED_TILES[637]}.npy"
    np.save(label, np.zeros((250, 250), np.int64))
    problems = validate_synthetic(small_copy)
    assert any(SEED_TILES[637] + ".tif" in p and "2021" in p for p in problems), problems
    assert any("labels/LU000/2018" in p and "uint8" in p for p in problems), problems


def test_validate_flags_labels_for_2024(small_copy: Path) -> None:
    folder = small_copy / "labels" / "LU000" / "2024"
    folder.mkdir(parents=True)
    np.save(folder / f"{SEED_TILES[637]}.npy", np.ones((250, 250), np.uint8))
    assert any("labels/LU000/2024" in p for p in validate_synthetic(small_copy, deep=False))


def test_refuses_a_folder_that_is_not_synthetic_data(tmp_path: Path) -> None:
    foreign = tmp_path / "real-data-copy"
    (foreign / "images" / "LU000").mkdir(parents=True)
    with pytest.raises(SyntheticDataError, match="was not made by this generator"):
        generate_synthetic(foreign, regions=SMALL_REGIONS, workers=1, progress=False)
    assert (foreign / "images" / "LU000").is_dir()


def test_unusable_output_folder_gives_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(SyntheticDataError, match="a-file"):
        generate_synthetic(blocker / "synthetic", regions=SMALL_REGIONS, workers=1, progress=False)
    assert main(["--out", str(blocker), "--quiet"]) == 2
    assert "not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as excinfo:
        main(["--out", str(tmp_path / "x"), "--workers", "0"])
    assert excinfo.value.code == 2
    with pytest.raises(ValueError, match="mosaic_regions"):
        generate_synthetic(tmp_path / "y", regions=SMALL_REGIONS, mosaic_regions=("BE100",), progress=False)


def test_manifest_is_written_last_and_lists_sizes(small: Path) -> None:
    manifest = json.loads((small / MANIFEST_NAME).read_text())
    newest = max(p.stat().st_mtime_ns for p in small.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)
    assert (small / MANIFEST_NAME).stat().st_mtime_ns >= newest
    for entry in manifest["files"]:
        assert (small / entry["path"]).stat().st_size == entry["size"]
    assert manifest["synthetic"] is True


# --- the full synthetic data (data/synthetic, made by `make data`) -------------------------------


@pytest.fixture(scope="module")
def full_labels(request: pytest.FixtureRequest) -> dict[tuple[str, int], dict[str, np.ndarray]]:
    """All labels of the full synthetic data, keyed by (region, year) then stem."""
    root = request.getfixturevalue("synthetic_dir")
    out: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    for path in sorted(root.glob("labels/*/*/*.npy")):
        out.setdefault((path.parent.parent.name, int(path.parent.name)), {})[path.stem] = np.load(path)
    return out


def test_full_synthetic_data_is_valid(synthetic_dir: Path) -> None:
    assert is_synthetic_complete(synthetic_dir)
    assert validate_synthetic(synthetic_dir, deep=False) == []
    manifest = read_manifest(synthetic_dir)
    assert manifest["total_bytes"] < 400e6
    for region in SYNTHETIC_REGIONS:
        for year in YEARS:
            tiles = list((synthetic_dir / "images" / region.nuts_id / str(year)).glob("*.tif"))
            assert len(tiles) == len(region.cells)
    for year in YEARS:
        assert (synthetic_dir / "images" / "BE100" / str(year) / "mosaic.vrt").exists()


def test_full_synthetic_data_has_the_books_tiles(synthetic_dir: Path) -> None:
    for tile_id, stem in SEED_TILES.items():
        xmin, ymin = (float(v) for v in stem.split("_")[:2])
        for year in YEARS:
            with rasterio.open(synthetic_dir / "images" / "LU000" / str(year) / f"{stem}.tif") as src:
                assert tuple(src.bounds) == (xmin, ymin, xmin + 2500, ymin + 2500), (tile_id, year)
        for year in LABEL_YEARS:
            assert (synthetic_dir / "labels" / "LU000" / str(year) / f"{stem}.npy").exists()


def test_all_classes_present_with_realistic_imbalance(full_labels) -> None:
    counts = np.zeros(11, np.int64)
    by_region: dict[str, np.ndarray] = {}
    for (nuts, _year), labels in full_labels.items():
        for label in labels.values():
            c = np.bincount(label.ravel(), minlength=11)
            counts += c
            by_region[nuts] = by_region.get(nuts, np.zeros(11, np.int64)) + c
    shares = counts[1:] / counts[1:].sum()
    assert (counts[1:] > 0).all(), "every class 1..10 occurs"
    assert shares.min() > 0.0005
    assert shares[7] < 0.01, "lichens and mosses are rare"  # class 8
    assert shares[3] < 0.06, "broadleaved evergreen is rare"  # class 4
    assert max(shares[0], shares[5], shares[6]) > 0.15  # sealed / grassland / arable dominate
    sealed = {k: v[1] / v[1:].sum() for k, v in by_region.items()}
    assert sealed["BE100"] > 0.3 and sealed["BE100"] > 2 * sealed["LU000"]
    assert 0 < counts[0] / counts.sum() < 0.01, "a little label nodata, under 1%"
    assert by_region["AT332"][8] > 0 and by_region["PT16I"][4] > 0


def test_land_cover_changes_a_little_between_years(full_labels, synthetic_dir: Path) -> None:
    changed = total = 0
    for stem, before in full_labels[("LU000", 2018)].items():
        after = full_labels[("LU000", 2021)][stem]
        valid = (before > 0) & (after > 0)
        changed += int(((before != after) & valid).sum())
        total += int(valid.sum())
    for nuts in ("BE100", "AT332", "PT16I"):
        for stem, before in full_labels[(nuts, 2018)].items():
            after = full_labels[(nuts, 2021)][stem]
            valid = (before > 0) & (after > 0)
            changed += int(((before != after) & valid).sum())
            total += int(valid.sum())
    assert 0.005 < changed / total < 0.1
    # images change too (crop rotation), even where the class does not
    with rasterio.open(synthetic_dir / "images" / "LU000" / "2018" / f"{SEED_TILES[637]}.tif") as a:
        with rasterio.open(synthetic_dir / "images" / "LU000" / "2021" / f"{SEED_TILES[637]}.tif") as b:
            assert not np.array_equal(a.read(8), b.read(8))


def _cloudy(path: Path) -> bool:
    with rasterio.open(path) as src:
        b2, b4, b8, ndvi = src.read(2), src.read(4), src.read(8), src.read(13)
    return int(((b2 > 0.3) & (b4 > 0.3) & (b8 > 0.3) & (np.abs(ndvi) < 0.15)).sum()) > 50


def test_clouds_only_in_some_2024_tiles(synthetic_dir: Path) -> None:
    for year in LABEL_YEARS:
        assert not any(_cloudy(p) for p in _tile_paths(synthetic_dir, year=year)), year
    tiles_2024 = _tile_paths(synthetic_dir, year=2024)
    share = sum(_cloudy(p) for p in tiles_2024) / len(tiles_2024)
    assert 0.05 <= share <= 0.3


def test_full_synthetic_data_labels_align_with_images(synthetic_dir: Path, full_labels) -> None:
    values: dict[int, list[np.ndarray]] = {}
    for (nuts, year), labels in full_labels.items():
        if year != 2021:
            continue
        for stem, label in labels.items():
            with rasterio.open(synthetic_dir / "images" / nuts / "2021" / f"{stem}.tif") as src:
                ndvi, ndwi = src.read(13), src.read(14)
            water = ndimage.binary_erosion(label == 10)  # away from shores (mixed pixels)
            if water.any():
                values.setdefault(10, []).append(np.stack([ndvi[water], ndwi[water]]))
            for k in (1, 2, 3, 6):
                mask = label == k
                values.setdefault(k, []).append(np.stack([ndvi[mask], ndwi[mask]]))
    med = {k: np.median(np.concatenate(v, axis=1), axis=1) for k, v in values.items()}
    assert med[10][0] < 0 < med[10][1], "water: negative NDVI, positive NDWI"
    assert med[1][0] < 0.35, "sealed: low NDVI"
    assert min(med[2][0], med[3][0], med[6][0]) > 0.6, "vegetation: high NDVI"


def test_per_band_statistics_resemble_real_data(synthetic_dir: Path) -> None:
    for region in SYNTHETIC_REGIONS:
        folder = synthetic_dir / "images" / region.nuts_id / "2021"
        stats = yaml.safe_load((folder / "metrics-normalization.yaml").read_text())
        ratio = np.array(stats["mean"][:12]) / np.array(REAL_MEANS)
        assert ((ratio > 0.4) & (ratio < 2.0)).all(), (region.nuts_id, ratio.round(2))
        assert 0.3 < stats["mean"][12] < 0.8  # NDVI


def test_look_alike_classes_are_learnable_but_not_trivial(synthetic_dir: Path, full_labels) -> None:
    """A per-pixel quadratic discriminant on the 14 bands: far from perfect, far from chance."""
    rng = np.random.default_rng(0)
    features, targets, groups = [], [], []
    for (nuts, year), labels in sorted(full_labels.items()):
        if year != 2021:
            continue
        for i, (stem, label) in enumerate(sorted(labels.items())):
            data = _read(synthetic_dir / "images" / nuts / "2021" / f"{stem}.tif").reshape(14, -1)
            pick = rng.choice(label.size, 600, replace=False)
            features.append(data[:, pick].T)
            targets.append(label.ravel()[pick])
            groups.append(np.full(600, i % 3))
    x, y, g = np.concatenate(features), np.concatenate(targets), np.concatenate(groups)
    keep = y > 0
    x, y, g = x[keep], y[keep], g[keep]
    train, test = g != 0, g == 0
    classes = [k for k in range(1, 11) if (y[train] == k).sum() > 30]
    scores = []
    for k in classes:
        xk = x[train][y[train] == k]
        mean, cov = xk.mean(axis=0), np.cov(xk, rowvar=False) + np.eye(14) * 1e-6
        inv = np.linalg.inv(cov)
        diff = x[test] - mean
        scores.append(-0.5 * np.einsum("ij,jk,ik->i", diff, inv, diff) - 0.5 * np.linalg.slogdet(cov)[1]
                      + np.log(len(xk)))  # fmt: skip
    predicted = np.array(classes)[np.argmax(scores, axis=0)]
    accuracy = float((predicted == y[test]).mean())
    assert 0.55 < accuracy < 0.9, accuracy
    for a, b in ((2, 3), (6, 7)):
        pair = np.isin(y[test], (a, b))
        pair_acc = float((predicted[pair] == y[test][pair]).mean())
        assert pair_acc < 0.95, (a, b, pair_acc)  # genuinely confusable


def test_cli_reports_nothing_to_do_on_complete_synthetic_data(
    synthetic_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    if not is_synthetic_complete(synthetic_dir):
        pytest.skip("the synthetic data at hand was made by another generator version")
    assert main(["--out", str(synthetic_dir), "--quiet"]) == 0
    assert "nothing to do" in capsys.readouterr().out


# --- data written under the earlier folder name ------------------------------------------


def test_synthetic_data_of_an_earlier_edition_is_moved_not_regenerated(small: Path, tmp_path: Path) -> None:
    legacy = tmp_path / "data" / LEGACY_FOLDER_NAME
    shutil.copytree(small, legacy)
    manifest = json.loads((legacy / MANIFEST_NAME).read_text())
    manifest["generator"] = LEGACY_GENERATOR
    (legacy / LEGACY_MARKER).write_text(json.dumps(manifest))
    (legacy / MANIFEST_NAME).unlink()
    target = tmp_path / "data" / "synthetic"

    assert adopt_legacy_folder(target, legacy) is True
    assert not legacy.exists() and not (target / LEGACY_MARKER).exists()
    assert read_manifest(target)["generator"] == "landcover.synthetic"
    report = generate_synthetic(target, regions=SMALL_REGIONS, workers=1, progress=False)
    assert report.skipped  # the moved data are complete: nothing is regenerated
    assert validate_synthetic(target) == []
    # A second call, or one where the new folder exists already, leaves everything alone.
    assert adopt_legacy_folder(target, legacy) is False


def test_a_folder_without_the_old_marker_is_not_adopted(tmp_path: Path) -> None:
    legacy = tmp_path / LEGACY_FOLDER_NAME
    legacy.mkdir()
    (legacy / "README.md").write_text("somebody else's files")
    assert adopt_legacy_folder(tmp_path / "synthetic", legacy) is False
    assert (legacy / "README.md").exists() and not (tmp_path / "synthetic").exists()


# --- the real bucket's tile layout ---------------------------------------------------------------


def test_tiles_can_be_written_in_the_real_buckets_layout_with_the_same_values(small: Path, tmp_path: Path) -> None:
    from landcover.data import read_tile

    bucket = tmp_path / "bucket-layout"
    report = generate_synthetic(bucket, regions=SMALL_REGIONS, workers=1, progress=False, layout="bucket")
    assert not report.skipped and validate_synthetic(bucket) == []
    assert read_manifest(bucket)["layout"] == "bucket"
    assert read_manifest(bucket)["config"] != read_manifest(small)["config"]  # not taken for the compact one
    tif = sorted((bucket / "images").rglob("*.tif"))[0]
    relative = tif.relative_to(bucket / "images")
    with rasterio.open(tif) as src:
        assert src.interleaving.name.upper() == "PIXEL"
        assert src.compression is None
        assert set(src.block_shapes) == {(1, 250)}  # one-row strips
        assert not src.is_tiled
        assert src.dtypes[0] == "float64" and src.count == 14
    with rasterio.open(small / "images" / relative) as compact:
        assert compact.interleaving.name.upper() == "BAND" and compact.compression is not None
    nuts, year, name = relative.parts
    stem = name.removesuffix(".tif")
    same = read_tile(nuts, int(year), stem, root=str(bucket))
    other = read_tile(nuts, int(year), stem, root=str(small))
    np.testing.assert_array_equal(same["array"], other["array"])  # the same values, stored differently
    assert same["transform"] == other["transform"] and tif.stat().st_size > 7_000_000
    # A bucket-layout folder is complete for itself, and asking for the compact layout regenerates it.
    assert generate_synthetic(bucket, regions=SMALL_REGIONS, workers=1, progress=False, layout="bucket").skipped
    with pytest.raises(ValueError, match="layout"):
        generate_synthetic(tmp_path / "x", regions=SMALL_REGIONS, workers=1, progress=False, layout="cog")

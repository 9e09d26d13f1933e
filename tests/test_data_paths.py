"""Locations of the contract's files under local, HTTPS and S3 data roots."""

from __future__ import annotations

from pathlib import Path

import pytest

from landcover import config
from landcover.data import paths

STEM = "4042000_2951690_0_637"


@pytest.mark.parametrize(
    "given",
    [STEM, f"{STEM}.tif", f"{STEM}.npy", f"LU000/2024/{STEM}.tif",
     f"https://example.org/data/images/LU000/2024/{STEM}.tif"],
)
def test_parse_tile_name_reads_corner_and_ids(given):
    name = paths.parse_tile_name(given)
    assert name == (4042000, 2951690, 0, 637)
    assert (name.xmin, name.ymin, name.idx, name.id) == (4042000, 2951690, 0, 637)
    assert isinstance(name.xmin, int)


@pytest.mark.parametrize(
    "bad", ["mosaic.vrt", "4042000_2951690_0", "a_b_c_d.tif", "", "4042000-2951690-0-637"]
)
def test_parse_tile_name_rejects_other_names(bad):
    with pytest.raises(ValueError, match="xmin"):
        paths.parse_tile_name(bad)


def test_tile_bounds_follow_from_the_name():
    assert paths.tile_bounds_from_name(STEM) == (4042000, 2951690, 4044500, 2954190)


def test_paths_under_the_default_local_root():
    root = config.data_root()
    assert root.endswith(str(Path("data") / "synthetic"))
    assert paths.image_path("LU000", 2024, STEM) == str(Path(root, "images", "LU000", "2024", f"{STEM}.tif"))
    assert paths.label_path("LU000", "2021", f"{STEM}.tif") == str(
        Path(root, "labels", "LU000", "2021", f"{STEM}.npy")
    )
    assert paths.index_path("BE100", 2018) == str(
        Path(root, "images", "BE100", "2018", "filename2bbox.parquet")
    )
    assert paths.normalization_path("AT332", 2021).endswith(
        str(Path("images", "AT332", "2021", "metrics-normalization.yaml"))
    )
    assert paths.nuts_file_path() == str(Path(root, "nuts", "NUTS_RG_01M_2021_3035_LEVL_3.geojson"))


def test_paths_follow_an_https_root(use_data_root):
    use_data_root(config.REAL_BUCKET_HTTPS + "/")
    assert paths.image_path("LU000", 2024, STEM) == f"{config.REAL_BUCKET_HTTPS}/images/LU000/2024/{STEM}.tif"
    assert paths.label_path("LU000", 2021, STEM) == f"{config.REAL_BUCKET_HTTPS}/labels/LU000/2021/{STEM}.npy"
    assert paths.index_path("LU000", 2024) == (
        f"{config.REAL_BUCKET_HTTPS}/images/LU000/2024/filename2bbox.parquet"
    )


def test_paths_follow_an_s3_root(use_data_root):
    use_data_root(config.REAL_BUCKET_S3)
    assert paths.image_path("LU000", 2024, STEM) == (
        f"s3://projet-funathon/2026/project3/data/images/LU000/2024/{STEM}.tif"
    )
    assert paths.nuts_file_path() == (
        "s3://projet-funathon/2026/project3/data/nuts/NUTS_RG_01M_2021_3035_LEVL_3.geojson"
    )


def test_an_explicit_root_wins_over_the_active_one():
    assert paths.index_path("LU000", 2021, root="s3://bucket/prefix/") == (
        "s3://bucket/prefix/images/LU000/2021/filename2bbox.parquet"
    )


@pytest.mark.parametrize("nuts", ["../etc", "LU 000", "", "a/b", None])
def test_nuts_codes_cannot_escape_their_folder(nuts):
    with pytest.raises(ValueError, match="nuts="):
        paths.image_path(nuts, 2024, STEM)


@pytest.mark.parametrize("year", ["24", "20x4", 202, "../2024"])
def test_years_must_have_four_digits(year):
    with pytest.raises(ValueError, match="year="):
        paths.index_path("LU000", year)


def test_split_tile_path_and_label_for_image():
    url = f"https://host/bucket/data/images/LU000/2021/{STEM}.tif"
    assert paths.split_tile_path(url) == ("LU000", 2021, STEM)
    assert paths.label_path_for_image(url) == f"https://host/bucket/data/labels/LU000/2021/{STEM}.npy"
    assert paths.label_path_for_image(f"s3://b/p/images/BE100/2018/{STEM}.tif") == (
        f"s3://b/p/labels/BE100/2018/{STEM}.npy"
    )
    local = Path("/data/synthetic/images/LU000/2018") / f"{STEM}.tif"
    assert paths.label_path_for_image(local) == str(Path("/data/synthetic/labels/LU000/2018") / f"{STEM}.npy")
    with pytest.raises(ValueError, match="images/"):
        paths.label_path_for_image(f"/elsewhere/LU000/2018/{STEM}.tif")
    with pytest.raises(ValueError, match="NUTS3"):
        paths.split_tile_path(f"{STEM}.tif")


def test_resolve_keeps_full_locations_and_roots_relative_ones(use_data_root, tmp_path, monkeypatch):
    use_data_root("https://example.org/data")
    assert paths.resolve(f"LU000/2024/{STEM}.tif") == f"https://example.org/data/images/LU000/2024/{STEM}.tif"
    assert paths.resolve(f"images/LU000/2024/{STEM}.tif") == (
        f"https://example.org/data/images/LU000/2024/{STEM}.tif"
    )
    assert paths.resolve(f"LU000/2021/{STEM}.npy", "labels") == (
        f"https://example.org/data/labels/LU000/2021/{STEM}.npy"
    )
    assert paths.resolve(f"projet-funathon/2026/project3/data/images/LU000/2024/{STEM}.tif") == (
        f"https://example.org/data/images/LU000/2024/{STEM}.tif"
    )
    assert paths.resolve("s3://b/k.tif") == "s3://b/k.tif"
    assert paths.resolve("/vsicurl/https://x/y.tif") == "/vsicurl/https://x/y.tif"
    assert paths.resolve("/abs/file.tif") == str(Path("/abs/file.tif"))
    # A relative path that exists on disk is taken as it is.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.tif").write_bytes(b"x")
    assert paths.resolve("mine.tif") == "mine.tif"

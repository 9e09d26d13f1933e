"""Integration: the data layer on the generated synthetic data (``make data``), locally, over HTTP and S3.

The S3 stand-in holds every small file of the synthetic data and the chapter-1 tile
(``4042000_2951690_0_637``, all years); the other two modes hold everything.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from landcover.data import (
    available_years,
    find_tile_at,
    geocode,
    list_regions,
    load_label,
    load_normalization,
    load_nuts3,
    load_tile_index,
    nuts3_at,
    parse_tile_name,
    read_tile,
)
from landcover.data.paths import tile_bounds_from_name

STEM = "4042000_2951690_0_637"
SYNTHETIC_REGIONS = ["AT332", "BE100", "LU000", "PT16I"]


def test_regions_and_years(synthetic_root):
    assert list_regions() == SYNTHETIC_REGIONS
    for nuts in SYNTHETIC_REGIONS:
        assert available_years(nuts) == [2018, 2021, 2024], nuts


def test_the_chapter_one_tile(synthetic_root, synthetic_dir):
    image = read_tile("LU000", 2024, STEM)
    assert image["array"].shape == (14, 250, 250)
    assert image["array"].dtype == np.float64
    assert image["crs"].to_epsg() == 3035
    assert tuple(image["bounds"]) == tile_bounds_from_name(STEM)
    assert (image["transform"].a, image["transform"].e) == (10, -10)
    reflectance = image["array"][:12]
    assert 0 <= reflectance.min() and reflectance.max() <= 1
    with rasterio.open(synthetic_dir / "images" / "LU000" / "2024" / f"{STEM}.tif") as src:
        np.testing.assert_array_equal(image["array"], src.read())


def test_labels_for_2018_and_2021_not_2024(synthetic_root):
    for year in (2018, 2021):
        label = load_label("LU000", year, STEM)
        assert label.dtype == np.uint8 and label.shape == (250, 250)
        assert set(np.unique(label)) <= set(range(11))
        assert (label > 0).mean() > 0.5, "a label tile is mostly classified"
    with pytest.raises(FileNotFoundError, match="no 2024 product"):
        load_label("LU000", 2024, STEM)


def test_indexes_match_the_tile_names(synthetic_root):
    for nuts in SYNTHETIC_REGIONS:
        index = load_tile_index(nuts, 2024)
        assert len(index) > 0
        for filename, bbox in zip(index["filename"], index["bbox"]):
            parse_tile_name(filename)
            assert tuple(bbox) == tile_bounds_from_name(filename), filename


def test_normalisation_statistics(synthetic_root):
    for nuts in SYNTHETIC_REGIONS:
        mean, std = load_normalization(nuts, 2021)
        assert mean.shape == std.shape == (14,)
        assert (std > 0).all()
        assert 0 < mean[:12].min() and mean[:12].max() < 1


def test_city_to_region_to_tile(synthetic_root):
    """The original chapter's path: a place -> its NUTS3 region -> the tile under it -> pixels."""
    lon, lat = geocode("5, rue Alphonse Weicker Luxembourg")
    nuts = nuts3_at(lon, lat)
    assert nuts == "LU000"
    match = find_tile_at(lon, lat, nuts, 2024, crs="EPSG:4326")
    assert match.filename == f"{STEM}.tif"
    image = read_tile(nuts, 2024, match.stem, bands=["B4", "B3", "B2"])
    assert image["array"].shape == (3, 250, 250)


def test_synthetic_outlines_hold_the_book_cities(synthetic_root):
    nuts = load_nuts3()
    assert sorted(nuts["NUTS_ID"]) == SYNTHETIC_REGIONS
    assert nuts.crs.to_epsg() == 3035
    expected = {"Luxembourg": "LU000", "Esch-sur-Alzette": "LU000", "Brussels": "BE100",
                "Innsbruck": "AT332", "Tomar": "PT16I"}
    for place, region in expected.items():
        assert nuts3_at(*geocode(place), nuts=nuts) == region, place

"""Reading 14-band tiles locally, over HTTP (GDAL range requests) and over S3, and every bad input."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import rasterio
from tests.support.tiny_data import FIRST_STEM, write_corrupt_tif, write_tile

from landcover.data import DataFileError, get_satellite_image, read_tile
from landcover.storage import open_raster
from landcover.data.paths import tile_bounds_from_name

RELATIVE = f"LU000/2021/{FIRST_STEM}.tif"


def _local_pixels(tiny_data, relative=RELATIVE):
    with rasterio.open(tiny_data.root / "images" / relative) as src:
        return src.read()


def test_tile_with_its_georeferencing_in_every_mode(tiny_root, tiny_data):
    image = get_satellite_image(f"{tiny_root.root}/images/{RELATIVE}", n_bands=14)
    assert image["array"].shape == (14, 250, 250)
    assert image["array"].dtype == np.float64
    assert image["crs"].to_epsg() == 3035
    assert tuple(image["bounds"]) == tile_bounds_from_name(FIRST_STEM)
    assert image["transform"].a == 10 and image["transform"].e == -10
    assert (image["transform"].c, image["transform"].f) == (4042000, 2954190)
    assert image["band_names"][8] == "B8A" and image["band_names"][-1] == "NDWI"
    np.testing.assert_array_equal(image["array"], _local_pixels(tiny_data))


def test_relative_paths_are_read_under_the_active_root(tiny_root, tiny_data):
    by_relative = get_satellite_image(RELATIVE, n_bands=3)
    assert by_relative["path"].startswith(tiny_root.root)
    np.testing.assert_array_equal(by_relative["array"], _local_pixels(tiny_data)[:3])
    by_images = get_satellite_image(f"images/{RELATIVE}", n_bands=1)
    assert by_images["array"].shape == (1, 250, 250)


def test_band_subsets_by_name_or_index(tiny_root, tiny_data):
    pixels = _local_pixels(tiny_data)
    rgb = read_tile("LU000", 2021, FIRST_STEM, bands=["B4", "B3", "B2"])
    assert rgb["array"].shape == (3, 250, 250)
    np.testing.assert_array_equal(rgb["array"], pixels[[3, 2, 1]])
    assert rgb["band_names"] == ["B4", "B3", "B2"]
    nir = read_tile("LU000", 2021, FIRST_STEM, bands=[9])
    np.testing.assert_array_equal(nir["array"][0], pixels[8])
    assert nir["band_names"] == ["B8A"]


def test_n_bands_reads_the_first_bands(tiny_data):
    image = get_satellite_image(tiny_data.root / "images" / RELATIVE, n_bands=12)
    assert image["array"].shape == (12, 250, 250)


# --- bad input -----------------------------------------------------------------------


def test_missing_tile_names_the_path(tiny_root):
    with pytest.raises(FileNotFoundError, match=r"LU000/2021/4042000_2951690_0_999\.tif"):
        read_tile("LU000", 2021, "4042000_2951690_0_999")


def test_too_few_bands_names_the_count(tmp_path):
    path = write_tile(tmp_path / "images/LU000/2021/4042000_2951690_0_1.tif", 4042000, 2951690, n_bands=4)
    with pytest.raises(DataFileError, match=r"4042000_2951690_0_1\.tif has 4 band\(s\).*n_bands=14"):
        get_satellite_image(path, n_bands=14)
    with pytest.raises(ValueError, match="bands="):
        get_satellite_image(path, bands=["B8"])
    assert get_satellite_image(path, n_bands=4)["array"].shape == (4, 250, 250)


def test_wrong_crs_is_refused(tmp_path):
    path = write_tile(tmp_path / "utm.tif", 500000, 5500000, crs="EPSG:32632")
    with pytest.raises(DataFileError, match=r"utm\.tif is in EPSG:32632.*EPSG:3035"):
        get_satellite_image(path)


def test_corrupt_file_is_refused(tmp_path):
    path = write_corrupt_tif(tmp_path / "broken.tif")
    with pytest.raises(DataFileError, match=r"broken\.tif"):
        get_satellite_image(path)


def test_truncated_file_is_refused(tmp_path, tiny_data):
    source = tiny_data.root / "images" / RELATIVE
    path = tmp_path / "truncated.tif"
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 3])
    with pytest.raises(DataFileError, match=r"truncated\.tif"):
        get_satellite_image(path)


@pytest.mark.parametrize("n_bands", [0, -1, 2.5, "14", True])
def test_bad_n_bands(tiny_data, n_bands):
    with pytest.raises(ValueError, match="n_bands="):
        get_satellite_image(tiny_data.root / "images" / RELATIVE, n_bands=n_bands)


@pytest.mark.parametrize(
    "bands, error", [([0], ValueError), (["B10"], ValueError), ([], ValueError), ([1.5], TypeError)]
)
def test_bad_band_lists(tiny_data, bands, error):
    with pytest.raises(error, match="B10|bands="):
        get_satellite_image(tiny_data.root / "images" / RELATIVE, bands=bands)


@pytest.mark.network
def test_bad_files_over_http_are_told_apart(tmp_path, http_server):
    folder = tmp_path / "served"
    write_corrupt_tif(folder / "broken.tif")
    write_tile(folder / "utm.tif", 500000, 5500000, crs="EPSG:32632")
    url = http_server(folder).url
    with pytest.raises(FileNotFoundError, match=rf"{url}/absent\.tif"):
        get_satellite_image(f"{url}/absent.tif")
    with pytest.raises(DataFileError, match=rf"{url}/broken\.tif"):
        get_satellite_image(f"{url}/broken.tif")
    with pytest.raises(DataFileError, match="EPSG:32632"):
        get_satellite_image(f"{url}/utm.tif")


# --- GDAL really reads over HTTP -------------------------------------------------------------


@pytest.mark.network
def test_gdal_reads_a_window_over_http_with_range_requests(tmp_path, tiny_data, http_server):
    """A small window costs a small part of the file: no download of the whole tile."""
    folder = tmp_path / "range"  # a fresh server, so GDAL's cache holds nothing of it yet
    target = folder / "images" / RELATIVE
    target.parent.mkdir(parents=True)
    shutil.copy(tiny_data.root / "images" / RELATIVE, target)
    server = http_server(folder)
    size = target.stat().st_size

    with open_raster(f"{server.url}/images/{RELATIVE}") as src:
        window = src.read(1, window=((0, 8), (0, 8)))
    np.testing.assert_array_equal(window, _local_pixels(tiny_data)[0, :8, :8])

    gets = [r for r in server.log.for_path(".tif") if r.method == "GET"]
    assert gets and all(r.range and r.range.startswith("bytes=") for r in gets)
    assert all(r.status == 206 for r in gets)
    transferred = server.log.bytes_for(".tif")
    assert 0 < transferred < size / 10, f"{transferred} of {size} bytes were sent for an 8 x 8 window"

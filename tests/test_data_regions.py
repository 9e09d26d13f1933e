"""Regions and years per data-root mode; NUTS3 outlines from the root, GISCO (stand-in) or nowhere."""

from __future__ import annotations

import shutil

import geopandas as gpd
import pytest
import shapely

from landcover.data import (
    DataFileError,
    OnlineAccessDisabled,
    RegionNotFoundError,
    available_years,
    geocode,
    list_regions,
    load_nuts3,
    nuts3_at,
    region_table,
)
from landcover.data.regions import PUBLISHED_REGIONS, cached_download_path, gisco_nuts3_url, read_nuts


def test_published_table_matches_the_original_chapter():
    table = region_table()
    assert len(table) == len(PUBLISHED_REGIONS) == 30
    assert table["nuts_id"].is_unique
    by_id = table.set_index("nuts_id")
    assert by_id.loc["LU000", "years"] == [2018, 2021, 2024]
    assert by_id.loc["CY000", "years"] == [2021, 2024]
    assert by_id.loc["IE061", "years"] == [2018, 2021]
    assert by_id.loc["PT16I", "country"] == "Portugal"


def test_regions_and_years_in_every_mode(tiny_root):
    assert list_regions() == ["BE100", "LU000"]
    assert available_years("LU000") == [2018, 2021, 2024]
    assert available_years("BE100") == [2021]
    assert available_years("AT332") == []


@pytest.mark.network
def test_http_lists_only_the_regions_it_serves(tmp_path, tiny_data, http_server):
    """A server with only LU000/2021 lists LU000 and only that year."""
    folder = tmp_path / "partial"
    shutil.copytree(tiny_data.root / "images" / "LU000" / "2021", folder / "images" / "LU000" / "2021")
    url = http_server(folder).url
    assert list_regions(url) == ["LU000"]
    assert available_years("LU000", url) == [2021]


def test_missing_images_folder_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"no images folder at {tmp_path}"):
        list_regions(str(tmp_path))


def test_nuts_outlines_from_the_data_root(tiny_root):
    nuts = load_nuts3()
    assert nuts.crs.to_epsg() == 3035
    assert set(nuts["NUTS_ID"]) == {"LU000", "BE100"}
    assert {"NUTS_NAME", "CNTR_CODE", "LEVL_CODE", "geometry"} <= set(nuts.columns)
    assert nuts.attrs["source"].startswith(tiny_root.root)
    luxembourg = nuts.set_index("NUTS_ID").loc["LU000"].geometry
    assert 2.0e9 < luxembourg.area < 8.0e9  # m²: a few thousand km²
    only = load_nuts3(["BE100"])
    assert list(only["NUTS_ID"]) == ["BE100"]
    with pytest.raises(RegionNotFoundError, match=r"\['FR101'\]"):
        load_nuts3(["BE100", "FR101"])


def test_spatial_join_of_geocoded_cities(tiny_root):
    assert nuts3_at(*geocode("Luxembourg")) == "LU000"
    assert nuts3_at(*geocode("Esch-sur-Alzette")) == "LU000"
    assert nuts3_at(*geocode("Brussels, Belgium")) == "BE100"
    with pytest.raises(RegionNotFoundError, match=r"lon=2\.3522, lat=48\.8566"):
        nuts3_at(*geocode("Paris"))


def test_spatial_join_with_given_outlines_and_bad_coordinates(tiny_data):
    nuts = load_nuts3(root=str(tiny_data.root))
    assert nuts3_at(6.13, 49.61, nuts=nuts) == "LU000"
    with pytest.raises(ValueError, match="lat=95"):
        nuts3_at(6.13, 95, nuts=nuts)
    with pytest.raises(ValueError, match="lon=-200"):
        nuts3_at(-200, 49.6, nuts=nuts)
    with pytest.raises(RegionNotFoundError, match="longitude comes first"):
        nuts3_at(49.61, 6.13, nuts=nuts)  # swapped


def test_without_outlines_offline_the_error_says_how_to_opt_in(tmp_path):
    with pytest.raises(OnlineAccessDisabled, match=r"LANDCOVER_ONLINE=1") as info:
        load_nuts3(root=str(tmp_path))
    assert "gisco-services.ec.europa.eu" in str(info.value)
    assert str(tmp_path) in str(info.value)


@pytest.mark.network
def test_outlines_from_a_gisco_stand_in_when_online(tmp_path, tiny_data, http_server, monkeypatch):
    """Online, the GISCO file is downloaded once, cached, and then used offline too."""
    gisco = tmp_path / "gisco"
    (gisco / "nuts").mkdir(parents=True)
    shutil.copy(tiny_data.root / "nuts" / "NUTS_RG_01M_2021_3035_LEVL_3.geojson", gisco / "nuts")
    server = http_server(gisco)
    url = f"{server.url}/nuts/NUTS_RG_01M_2021_3035_LEVL_3.geojson"
    monkeypatch.setenv("LANDCOVER_GISCO_NUTS_URL", url)
    monkeypatch.setenv("LANDCOVER_CACHE_DIR", str(tmp_path / "cache"))
    assert gisco_nuts3_url() == url
    empty_root = tmp_path / "empty"
    empty_root.mkdir()

    monkeypatch.setenv("LANDCOVER_ONLINE", "1")
    nuts = load_nuts3(root=str(empty_root))
    assert nuts.attrs["source"] == url
    assert set(nuts["NUTS_ID"]) == {"LU000", "BE100"}
    assert len(server.log.for_path(".geojson")) == 1
    cached = list((tmp_path / "cache").iterdir())
    assert len(cached) == 1 and cached[0].name.endswith("NUTS_RG_01M_2021_3035_LEVL_3.geojson")

    monkeypatch.setenv("LANDCOVER_ONLINE", "0")
    again = load_nuts3(["LU000"], root=str(empty_root))
    assert list(again["NUTS_ID"]) == ["LU000"]
    assert len(server.log.for_path(".geojson")) == 1, "the cached copy must be used"


@pytest.mark.filterwarnings("ignore:'crs' was not provided", "ignore:.*(non conformant|should be 'gpkg')")
def test_outlines_without_a_crs_are_refused_by_name(tmp_path):
    """Coordinates without a CRS could be metres or degrees: the file is refused, not assumed EPSG:3035.

    A GeoJSON always has a CRS (WGS84 unless it says otherwise), so the CRS-less
    file at the data root's NUTS path is a GeoPackage under that name.
    """
    path = tmp_path / "nuts" / "NUTS_RG_01M_2021_3035_LEVL_3.geojson"
    path.parent.mkdir()
    outline = shapely.box(4049200, 2944100, 4056700, 2951600)
    gpd.GeoDataFrame({"NUTS_ID": ["XX001"]}, geometry=[outline], crs=None).to_file(path, driver="GPKG")
    with pytest.raises(DataFileError, match=rf"{path}.*no CRS"):
        load_nuts3(root=str(tmp_path))


@pytest.mark.network
def test_a_failed_download_names_the_url_and_caches_nothing(tmp_path, http_server):
    server = http_server(tmp_path)  # serves an empty folder: every file is a 404
    url = f"{server.url}/nuts/NUTS_RG_01M_2021_3035_LEVL_3.geojson"
    cache = tmp_path / "cache"
    with pytest.raises(OnlineAccessDisabled, match=r"LANDCOVER_ONLINE=1"):
        read_nuts(url, cache)  # offline by default, even for 127.0.0.1
    with pytest.raises(ConnectionError, match=rf"could not download the NUTS3 boundaries from {url}.*404"):
        read_nuts(url, cache, download=True)
    assert not cached_download_path(url, cache).exists()

"""landcover.inference.export: COGs that validate and open styled, GeoParquet, a STAC catalog.

The COG layout is checked with rio-cogeo's ``cog_validate``; the STAC objects
with the core schemas that pystac bundles. The extension schemas (projection
v2, classification v2) live on stac-extensions.github.io and cannot be fetched
offline, so their fields are checked here against what those schemas require.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pystac
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from pystac.errors import STACValidationError
from rio_cogeo.cogeo import cog_validate

from landcover.classes import CLASS_COLOURS, CLASS_IDS, CLASS_NAMES, colour_table
from landcover.data import get_satellite_image, load_label
from landcover.inference import export as E
from landcover.inference.polygons import create_geojson_from_mask
from tests.support.tiny_data import FIRST_STEM, TinyDataset

PROJECTION_V2 = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
CLASSIFICATION_V2 = "https://stac-extensions.github.io/classification/v2.0.0/schema.json"


@pytest.fixture(scope="module")
def tiny_tile(tiny_data: TinyDataset) -> tuple[dict, np.ndarray]:
    image = get_satellite_image(tiny_data.image("LU000", 2021, FIRST_STEM))
    return image, load_label(tiny_data.label("LU000", 2021, FIRST_STEM))


@pytest.fixture(scope="module")
def exported(tiny_tile: tuple[dict, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> E.PredictionExport:
    image, mask = tiny_tile
    folder = tmp_path_factory.mktemp("export") / "stac"
    return E.export_prediction(
        image, mask, folder, FIRST_STEM, 2021, polygons=create_geojson_from_mask(image, mask),
        description="Prediction of a tile of synthetic test data",
    )


def no_leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def test_the_class_cog_validates_and_opens_styled(exported: E.PredictionExport, tiny_tile: tuple) -> None:
    image, mask = tiny_tile
    valid, errors, warnings = cog_validate(exported.classification, quiet=True)
    assert valid and not errors and not warnings
    with rasterio.open(exported.classification) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.compression.name == "deflate" and src.nodata == 0 and src.dtypes == ("uint8",)
        assert src.crs.to_epsg() == 3035 and src.transform == image["transform"]
        assert src.overviews(1) == [2, 4]  # 250 -> 125 -> 63 pixels
        assert src.colorinterp[0].name == "palette"
        table = src.colormap(1)
        for class_id in CLASS_IDS:
            assert "#%02x%02x%02x" % table[class_id][:3] == CLASS_COLOURS[class_id] and table[class_id][3] == 255
        assert table[0][3] == 0  # nodata transparent
        assert src.tags(1)["CLASS_2"] == CLASS_NAMES[2]
        np.testing.assert_array_equal(src.read(1), mask)
    assert not no_leftovers(Path(exported.classification).parent)


def test_overviews_take_the_most_frequent_class(tmp_path: Path) -> None:
    # Each 2 x 2 block holds three pixels of class 7 and one of class 1, the 1 in every position in turn:
    # MODE gives 7 everywhere, NEAREST would show class 1 in a quarter of the blocks, an average neither.
    mask = np.full((256, 256), 7, dtype=np.uint8)
    for k, (dr, dc) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        mask[dr::2, dc::2][:, k::4] = 1
    assert (mask == 1).mean() == pytest.approx(0.25)
    path = E.write_class_cog(mask, Affine(10, 0, 4_000_000, 0, -10, 3_000_000), "EPSG:3035", tmp_path / "m.tif")
    with rasterio.open(path, overview_level=0) as level:
        assert level.shape == (128, 128)
        assert set(np.unique(level.read(1)).tolist()) == {7}


def test_the_overview_cog_is_a_tenth_of_the_resolution(exported: E.PredictionExport, tiny_tile: tuple) -> None:
    image, mask = tiny_tile
    assert cog_validate(exported.overview, quiet=True)[0]
    with rasterio.open(exported.overview) as src:
        assert src.shape == (25, 25) and src.res == (100.0, 100.0)
        assert (src.transform.c, src.transform.f) == (image["transform"].c, image["transform"].f)
        assert src.colormap(1)[6][:3] == colour_table()[6][:3]
        coarse = src.read(1)
    # Independent check: where one class holds most of a 10 x 10 block (nodata not voting), it wins.
    blocks = mask.reshape(25, 10, 25, 10).transpose(0, 2, 1, 3).reshape(25, 25, 100)
    checked = 0
    for r in range(25):
        for c in range(25):
            counts = np.bincount(blocks[r, c], minlength=11)[1:]
            if counts.max() and (counts == counts.max()).sum() == 1:
                assert coarse[r, c] == counts.argmax() + 1
                checked += 1
            elif not counts.max():
                assert coarse[r, c] == 0
    assert checked > 400  # of 625 blocks; the others are ties
    with pytest.raises(ValueError, match="factor"):
        E.downsample_mask(mask, image["transform"], image["crs"], factor=0)


def test_bad_input_writes_nothing(tmp_path: Path, tiny_tile: tuple) -> None:
    image, mask = tiny_tile
    target = tmp_path / "out" / "bad.tif"
    with pytest.raises(ValueError, match="mask"):
        E.write_class_cog(mask.astype(np.float32), image["transform"], image["crs"], target)
    with pytest.raises(ValueError, match="blocksize"):
        E.write_class_cog(mask, image["transform"], image["crs"], target, blocksize=100)
    with pytest.raises(PermissionError, match="read-only"):
        E.write_class_cog(mask, image["transform"], image["crs"], "https://example.org/x.tif")
    assert not target.exists() and not no_leftovers(tmp_path)
    with pytest.raises(ValueError, match="year"):
        E.export_prediction(image, mask, tmp_path / "stac", "x", 21)
    with pytest.raises(ValueError, match="shape"):
        E.export_prediction(image, mask[:10], tmp_path / "stac", "x", 2021)
    assert not (tmp_path / "stac").exists()


def test_the_geoparquet_holds_the_polygons(exported: E.PredictionExport, tiny_tile: tuple) -> None:
    image, mask = tiny_tile
    frame = gpd.read_parquet(exported.polygons)
    assert frame.crs.to_epsg() == 3035 and list(frame.columns) == ["class_id", "class_name", "area_km2", "geometry"]
    expected = create_geojson_from_mask(image, mask)
    assert frame.geometry.geom_equals(expected.geometry).all()
    assert frame.groupby("class_id")["area_km2"].sum().to_dict() == pytest.approx(
        {i: (mask == i).sum() / 1e4 for i in CLASS_IDS if (mask == i).any()}
    )
    geo = json.loads(pq.read_metadata(exported.polygons).metadata[b"geo"])
    assert geo["primary_column"] == "geometry" and geo["columns"]["geometry"]["encoding"] == "WKB"
    with pytest.raises(ValueError, match="CRS"):
        E.write_polygons_parquet(frame.set_crs(None, allow_override=True), Path(exported.polygons).with_name("x.parquet"))


def test_the_stac_item_describes_grid_time_classes_and_assets(exported: E.PredictionExport, tiny_tile: tuple) -> None:
    image, _ = tiny_tile
    catalog = pystac.Catalog.from_file(exported.catalog)
    items = list(catalog.get_items())
    assert [item.id for item in items] == [FIRST_STEM]
    item = items[0]
    assert E.validate_stac(catalog) and E.validate_stac(item)  # core schemas, from pystac's own copies
    data = item.to_dict()
    assert set(data["stac_extensions"]) == {PROJECTION_V2, CLASSIFICATION_V2}
    props = data["properties"]
    assert props["datetime"] is None
    assert (props["start_datetime"], props["end_datetime"]) == ("2021-01-01T00:00:00Z", "2021-12-31T23:59:59Z")
    # Projection extension v2: proj:code, proj:bbox in the CRS's metres, proj:shape [rows, cols], proj:transform.
    assert props["proj:code"] == "EPSG:3035"
    assert props["proj:bbox"] == list(image["bounds"])
    assert props["proj:shape"] == [250, 250]
    assert props["proj:transform"] == list(image["transform"])[:6]
    # The WGS84 footprint contains the tile's corners.
    to_wgs84 = Transformer.from_crs(3035, 4326, always_xy=True)
    west, south, east, north = data["bbox"]
    left, bottom, right, top = image["bounds"]
    for x, y in [(left, bottom), (left, top), (right, bottom), (right, top)]:
        lon, lat = to_wgs84.transform(x, y)
        assert west - 1e-6 <= lon <= east + 1e-6 and south - 1e-6 <= lat <= north + 1e-6
    # Assets: roles, media types, files that exist next to the item (relative hrefs).
    assets = data["assets"]
    assert set(assets) == {"classification", "overview", "polygons"}
    assert assets["classification"]["roles"] == ["data"] and "overview" in assets["overview"]["roles"]
    assert assets["classification"]["type"] == pystac.MediaType.COG == assets["overview"]["type"]
    assert assets["polygons"]["type"] == "application/vnd.apache.parquet"
    for asset in item.assets.values():
        assert asset.href.startswith("./") or Path(asset.get_absolute_href()).exists()
        assert Path(asset.get_absolute_href()).exists()
    assert assets["overview"]["proj:shape"] == [25, 25] and assets["overview"]["proj:transform"][0] == 100.0
    # Classification extension v2: value and name (letters, digits, - and _) required; colour as 6 hex digits.
    classes = {c["value"]: c for c in assets["classification"]["classification:classes"]}
    assert set(classes) == {0, *CLASS_IDS} and classes[0]["nodata"] is True
    for class_id in CLASS_IDS:
        entry = classes[class_id]
        assert re.fullmatch(r"[0-9A-Za-z\-_]+", entry["name"])
        assert entry["title"] == CLASS_NAMES[class_id]
        assert re.fullmatch(r"[0-9A-Fa-f]{6}", entry["color_hint"])
        assert "#" + entry["color_hint"].lower() == CLASS_COLOURS[class_id]
    assert len({c["name"] for c in classes.values()}) == len(classes)


def test_the_catalog_is_self_contained_and_validation_bites(exported: E.PredictionExport, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(Path(exported.catalog).parent, moved)
    item = next(pystac.Catalog.from_file(str(moved / "catalog.json")).get_items())
    with rasterio.open(item.assets["classification"].get_absolute_href()) as src:
        assert src.shape == (250, 250)
    assert not no_leftovers(moved)
    broken = item.to_dict()
    del broken["properties"]["start_datetime"]  # datetime null needs start and end
    with pytest.raises(STACValidationError):
        E.validate_stac(broken)


@pytest.mark.network
def test_export_to_s3(s3_env, tiny_tile: tuple) -> None:  # noqa: ANN001
    image, mask = tiny_tile
    bucket = s3_env.create_bucket("exports")
    result = E.export_prediction(image, mask, f"s3://{bucket}/run1", FIRST_STEM, 2021)
    fs = s3_env.filesystem()
    names = sorted(p.rsplit("/", 1)[-1] for p in fs.find(f"{bucket}/run1"))
    assert names == sorted([
        "catalog.json", f"{FIRST_STEM}.json", f"{FIRST_STEM}_classified.tif", f"overview_{FIRST_STEM}_classified.tif"
    ])
    assert result.catalog == f"s3://{bucket}/run1/catalog.json"
    item = json.loads(fs.cat_file(f"{bucket}/run1/{FIRST_STEM}/{FIRST_STEM}.json"))
    assert item["assets"]["classification"]["href"] == f"./{FIRST_STEM}_classified.tif"

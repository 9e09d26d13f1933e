"""The region download pipeline, end to end and offline.

Stand-ins on 127.0.0.1 play every service: the OData catalogue, the CLC+
ImageServer, GISCO's NUTS file and two S3 buckets (moto): the EO archive holding
synthetic L2A products in UTM zone 32N, and the destination. The made-up region
XX001 is a rectangle in EPSG:3035; its grid is 3 x 3 tiles:

- product A (baseline 04.00, 5 % cloud) covers the west, with a bright square;
- product B (baseline 03.01, no offset, 30 % cloud) covers the east, with a no-data
  strip on its west edge, so the middle-east tiles need both products;
- product C (60 % cloud) would cover the southern row, but the cloud filter (50 %)
  excludes it, so that row is only partly covered and must be skipped.
"""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from pyproj import Transformer
from rasterio.io import MemoryFile

from landcover.bands import N_BANDS
from landcover.data import grid
from landcover.download import cli, patches, writer
from landcover.download.region import RegionRequest, build_region, load_region, tiles_over
from landcover.errors import DataFileError, RegionNotFoundError
from landcover.sources.standins import (
    ClcPlusImageServer,
    ODataCatalogue,
    SyntheticProduct,
    expected_labels,
    product_entry,
    serve,
)
from landcover.sources.standins.gisco import NUTS3_PATH, GiscoNuts, nuts_geojson
from landcover.sources.standins.s2product import BASE_REFLECTANCE, BRIGHT_REFLECTANCE
from landcover.sources.standins.s3 import s3_filesystem
from landcover.sources.standins.suite import DEMO_REGION_3035, demo_region_products

PROJECT = Path(__file__).resolve().parents[1]
SCRIPT = PROJECT / "final_solution" / "download_region.py"

REGION = DEMO_REGION_3035  # EPSG:3035
PRODUCT_A, PRODUCT_B = demo_region_products()  # A: baseline 04.00 with a bright square; B: no data in the west
SQUARE_UTM = PRODUCT_A.bright_square  # EPSG:32632
PRODUCT_C = SyntheticProduct(
    "S2A_MSIL2A_20210804T103031_N0500_R108_T32ULA_20210804T140000.SAFE",
    (300000, 5490000, 310020, 5494980),
    60.0,
    "2021-08-04T10:30:31.024Z",
)
COMPLETE = [
    "4049200_2949100_0_0",
    "4051700_2949100_0_1",
    "4054200_2949100_0_2",
    "4049200_2946600_0_3",
    "4051700_2946600_0_4",
    "4054200_2946600_0_5",
]
SKIPPED = ["4049200_2944100_0_6", "4051700_2944100_0_7", "4054200_2944100_0_8"]


# --- units: grid, radiometry, indices, writes ----------------------------------------------


def test_grid_reproduces_the_published_lu000_names():
    region = shapely.box(4013000, 2940000, 4073000, 3015000)
    lu_grid = grid.region_grid(region, origin=(4012000, 3016690), ncols=25)
    assert lu_grid.tile(25, 12).stem == "4042000_2951690_0_637"  # a real LU000 tile
    assert lu_grid.tile(25, 12).bounds == (4042000, 2951690, 4044500, 2954190)
    assert lu_grid.tile(0, 0).stem == "4012000_3014190_0_0"


def test_default_origin_is_the_bounding_box_snapped_outward():
    region = shapely.box(4049203.4, 2945000.2, 4056500, 2951591.5)
    tile_grid = grid.region_grid(region)
    assert (tile_grid.x0, tile_grid.top, tile_grid.ncols, tile_grid.nrows) == (4049200, 2951600, 3, 3)
    tiles = tiles_over(tile_grid, region)
    assert [t.id for t in tiles] == list(range(9))
    transform = tiles[4].transform()
    assert (transform.a, transform.e, transform.c, transform.f) == (10.0, -10.0, tiles[4].xmin, tiles[4].ymax)


def test_tiles_that_only_touch_the_region_are_left_out():
    tile_grid = grid.TileGrid(x0=0, top=5000, ncols=3, nrows=2)
    region = shapely.box(0, 2500, 5000, 5000)  # exactly the two first tiles of the top row
    assert [t.id for t in tiles_over(tile_grid, region)] == [0, 1]


def test_bad_grid_parameters_are_explained():
    with pytest.raises(ValueError, match="left of and above"):
        grid.region_grid(REGION, origin=(4050000, 2951600))
    with pytest.raises(ValueError, match="too few"):
        grid.region_grid(REGION, ncols=2)


def test_radiometry_follows_the_baseline_not_the_date():
    new = patches.Radiometry.for_baseline("04.00")
    old = patches.Radiometry.for_baseline("03.01")
    dn = np.array([1000, 2000, 11000], dtype=np.uint16)
    np.testing.assert_allclose(new.to_reflectance(dn, "B04"), [0.0, 0.1, 1.0])
    np.testing.assert_allclose(old.to_reflectance(dn, "B04"), [0.1, 0.2, 1.0])  # 1.1 clipped to 1
    with pytest.raises(ValueError, match="baseline is unknown"):
        patches.Radiometry.for_baseline(None)
    parsed = patches.parse_l2a_metadata(PRODUCT_A.metadata_xml())
    assert parsed.baseline == "04.00" and parsed.offset("B8A") == -1000 and parsed.quantification == 10000
    old_product = SyntheticProduct(
        PRODUCT_C.name.replace("_N0500_", "_N0214_"), PRODUCT_C.bounds, 1.0, PRODUCT_C.start
    )
    parsed_old = patches.parse_l2a_metadata(old_product.metadata_xml())  # lists no offsets
    assert parsed_old.baseline == "02.14" and parsed_old.offset("B02") == 0


def test_indices_and_mosaic():
    values = np.stack([np.full((2, 2), v, dtype=np.float32) for v in BASE_REFLECTANCE.values()])
    channels = patches.add_indices(values)
    assert channels.shape == (N_BANDS, 2, 2) and channels.dtype == np.float64
    b3, b4, b8 = BASE_REFLECTANCE["B03"], BASE_REFLECTANCE["B04"], BASE_REFLECTANCE["B08"]
    np.testing.assert_allclose(channels[12], (b8 - b4) / (b8 + b4))
    np.testing.assert_allclose(channels[13], (b3 - b8) / (b3 + b8))
    tile = grid.TileGrid(x0=0, top=20, ncols=1, nrows=1, tile_px=2).tile(0, 0)
    mosaic = patches.TileMosaic(tile, size=2)
    first = values.copy()
    first[:, 0, 0] = np.nan
    assert mosaic.add(first, "A") == 3 and not mosaic.complete
    second = values * 2
    assert mosaic.add(second, "B") == 1 and mosaic.complete  # only the empty pixel is taken from B
    np.testing.assert_allclose(mosaic.values[:, 0, 0], second[:, 0, 0])
    np.testing.assert_allclose(mosaic.values[:, 1, 1], values[:, 1, 1])


def test_validation_rejects_wrong_files():
    tile = grid.region_grid(REGION).tile(0, 0)
    channels = np.full((N_BANDS, 250, 250), 0.1)
    good = writer.tiff_bytes(channels, tile)
    assert writer.validate_image_bytes(good, tile) is not None
    other = grid.region_grid(REGION).tile(0, 1)
    assert writer.validate_image_bytes(good, other) is None  # wrong place
    assert writer.validate_image_bytes(good[: len(good) // 2], tile) is None  # truncated
    assert writer.validate_image_bytes(b"not a tiff", tile) is None
    assert writer.validate_image_bytes(writer.tiff_bytes(channels * np.nan, tile), tile) is None
    assert writer.validate_label_bytes(writer.npy_bytes(np.ones((250, 250))), tile) is not None
    assert writer.validate_label_bytes(writer.npy_bytes(np.full((250, 250), 254)), tile) is None


# --- end to end ---------------------------------------------------------------------------


class Scenario:
    def __init__(self, s3_server, eodata, catalogue, clcplus, gisco_url, catalogue_url, clcplus_url):
        self.s3_server = s3_server
        self.eodata = eodata
        self.catalogue = catalogue
        self.clcplus = clcplus
        self.gisco_url = gisco_url
        self.catalogue_url = catalogue_url
        self.clcplus_url = clcplus_url

    def request(self, output: str, **changes) -> RegionRequest:
        values = {
            "nuts_id": "XX001",
            "year": 2021,
            "output": output,
            "max_cloud": 50,
            "nuts_source": self.gisco_url,
            "catalogue_url": self.catalogue_url,
            "clcplus_url": self.clcplus_url,
            "page_size": 1,
            "progress": False,
        }
        values.update(changes)
        return RegionRequest(**values)


@pytest.fixture(scope="module")
def scenario(s3_server):
    s3_server.create_bucket("eodata")
    eodata = s3_filesystem(s3_server.endpoint_url)
    entries = []
    for product in (PRODUCT_A, PRODUCT_B, PRODUCT_C):
        s3_path = product.upload(eodata)
        entries.append(
            product_entry(
                product.name, product.footprint_lonlat(), product.start, product.cloud_cover, s3_path=s3_path
            )
        )
    catalogue = ODataCatalogue(entries)
    clcplus = ClcPlusImageServer()
    gisco = GiscoNuts(
        {"NUTS_RG_01M_2021_3035_LEVL_3.geojson": nuts_geojson({"XX001": REGION, "XX002": REGION})}
    )
    with (
        serve(catalogue.app()) as odata_url,
        serve(clcplus.app()) as clc_url,
        serve(gisco.app()) as gisco_url,
    ):
        yield Scenario(
            s3_server,
            eodata,
            catalogue,
            clcplus,
            gisco_url + NUTS3_PATH,
            odata_url + "/odata/v1",
            clc_url + "/arcgis/rest/services",
        )


def _read_tiff(content: bytes):
    with MemoryFile(content) as memfile, memfile.open() as dataset:
        return dataset.read(), dataset.transform, dataset.crs, dataset.profile


@pytest.mark.network
def test_command_builds_the_region_into_a_bucket(scenario, s3_env, capsys):
    bucket = s3_env.create_bucket("region-out")
    code = cli.main(
        [
            "--nuts",
            "XX001",
            "--year",
            "2021",
            "--output",
            f"s3://{bucket}/data",
            "--max-cloud",
            "50",
            "--nuts-source",
            scenario.gisco_url,
            "--catalogue-url",
            scenario.catalogue_url,
            "--clcplus-url",
            scenario.clcplus_url,
            "--eo-endpoint",
            scenario.s3_server.endpoint_url,
            "--eo-key",
            "eo-key",
            "--eo-secret",
            "eo-secret",
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "skipped (not fully covered by any mix of products): 3" in capsys.readouterr().out
    out = s3_filesystem(scenario.s3_server.endpoint_url)
    images = f"{bucket}/data/images/XX001/2021"
    labels = f"{bucket}/data/labels/XX001/2021"
    names = sorted(p.rsplit("/", 1)[-1] for p in out.find(f"{bucket}/data"))
    assert names == sorted(
        [
            *(s + ".tif" for s in COMPLETE),
            *(s + ".npy" for s in COMPLETE),
            "filename2bbox.parquet",
            "metrics-normalization.yaml",
        ]
    )  # nothing else, no temp files

    # every tile follows the contract, and the mixed-baseline mosaic is seamless
    statistics = writer.BandStatistics()
    for stem in COMPLETE:
        channels, transform, crs, profile = _read_tiff(out.cat_file(f"{images}/{stem}.tif"))
        xmin, ymin = (float(v) for v in stem.split("_")[:2])
        assert channels.shape == (14, 250, 250) and channels.dtype == np.float64
        assert crs.to_epsg() == 3035 and (transform.c, transform.f, transform.a) == (xmin, ymin + 2500, 10.0)
        assert not profile.get("tiled") and profile["nodata"] is None
        assert np.isfinite(channels).all()
        statistics.add(channels)
        if stem != COMPLETE[0]:  # no bright square: every pixel is the base reflectance, whatever product
            np.testing.assert_allclose(
                channels[:12].reshape(12, -1).T,
                np.tile(list(BASE_REFLECTANCE.values()), (250 * 250, 1)),
                atol=2e-4,
            )
        labels_array = np.load(io.BytesIO(out.cat_file(f"{labels}/{stem}.npy")))
        assert labels_array.dtype == np.uint8 and labels_array.shape == (250, 250)
        np.testing.assert_array_equal(
            labels_array, expected_labels((xmin, ymin, xmin + 2500, ymin + 2500), 2021)
        )

    # geometry: the bright square is found where its UTM position falls in EPSG:3035
    channels, transform, _, _ = _read_tiff(out.cat_file(f"{images}/{COMPLETE[0]}.tif"))
    bright = channels[1] > (BRIGHT_REFLECTANCE + BASE_REFLECTANCE["B02"]) / 2
    rows, cols = np.nonzero(bright)
    centre_x, centre_y = transform @ (cols.mean() + 0.5, rows.mean() + 0.5)
    to_utm = Transformer.from_crs("EPSG:3035", "EPSG:32632", always_xy=True)
    x, y = to_utm.transform(centre_x, centre_y)
    assert abs(x - 302100) < 3 and abs(y - 5498100) < 3  # within a third of a pixel
    expected_col, expected_row = ~transform @ Transformer.from_crs(
        "EPSG:32632", "EPSG:3035", always_xy=True
    ).transform(302100, 5498100)
    assert bright[int(expected_row), int(expected_col)]
    assert 120 <= bright.sum() <= 170  # a 120 m square is about 144 pixels of 10 m

    # index and normalisation statistics
    index = pd.read_parquet(io.BytesIO(out.cat_file(f"{images}/filename2bbox.parquet")))
    assert list(index.columns) == ["filename", "bbox"]
    assert list(index["filename"]) == [s + ".tif" for s in COMPLETE]
    assert [list(b) for b in index["bbox"]][5] == [4054200.0, 2946600.0, 4056700.0, 2949100.0]
    metrics = yaml.safe_load(out.cat_file(f"{images}/metrics-normalization.yaml"))
    assert len(metrics["mean"]) == len(metrics["std"]) == 14
    np.testing.assert_allclose(metrics["mean"], statistics.mean, rtol=1e-9)
    np.testing.assert_allclose(metrics["std"], statistics.std, rtol=1e-9, atol=1e-12)

    # the catalogue was asked for cloud cover below 50 % and paged (page size 100 here, one page)
    assert "Value lt 50.00" in scenario.catalogue.queries[-1]["$filter"]


@pytest.mark.network
def test_an_interrupted_run_resumes_and_corrupt_tiles_are_redone(scenario, tmp_path, monkeypatch):
    output = tmp_path / "data"
    request = scenario.request(str(output))
    calls = {"n": 0}
    original = writer.RegionOutput.write_image

    def crash_on_third(self, tile, channels):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated crash")
        return original(self, tile, channels)

    monkeypatch.setattr(writer.RegionOutput, "write_image", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        build_region(request, eodata_fs=scenario.eodata)
    images = output / "images" / "XX001" / "2021"
    labels = output / "labels" / "XX001" / "2021"
    assert sorted(p.name for p in images.iterdir()) == [f"{s}.tif" for s in sorted(COMPLETE[:2])]
    monkeypatch.setattr(writer.RegionOutput, "write_image", original)

    # second run: the two finished tiles are kept, the rest is built; labels only fetched where missing
    scenario.clcplus.requests.clear()
    report = build_region(request, eodata_fs=scenario.eodata)
    assert (report.images_kept, report.images_written, report.images_redone) == (2, 4, 0)
    assert report.skipped == SKIPPED
    assert report.products_used == [PRODUCT_A.name, PRODUCT_B.name]  # least cloudy first; C is over 50 %
    assert PRODUCT_C.name not in report.products_read
    assert len(scenario.clcplus.requests) == 4 and report.labels_kept == 2
    assert sorted(p.name for p in images.glob("*.tif")) == sorted(f"{s}.tif" for s in COMPLETE)
    assert not [p for p in output.rglob("*") if ".tmp-" in p.name]

    # third run after damage: a truncated tile, a tile of the wrong place, a missing label
    first = images / f"{COMPLETE[1]}.tif"
    first.write_bytes(first.read_bytes()[:1000])
    (images / f"{COMPLETE[4]}.tif").write_bytes((images / f"{COMPLETE[3]}.tif").read_bytes())
    (labels / f"{COMPLETE[2]}.npy").unlink()
    (images / ".leftover.tif.tmp-123").write_bytes(b"half")  # as left by a killed run
    report = build_region(request, eodata_fs=scenario.eodata)
    assert (report.images_kept, report.images_written, report.images_redone) == (4, 2, 2)
    assert report.labels_written == 1
    assert not (images / ".leftover.tif.tmp-123").exists()
    for stem in COMPLETE:
        tile = _tile(stem)
        assert writer.validate_image_bytes((images / f"{stem}.tif").read_bytes(), tile) is not None
        assert writer.validate_label_bytes((labels / f"{stem}.npy").read_bytes(), tile) is not None

    # a fourth run only looks again for the skipped row (one search, two pages of one product)
    queries = len(scenario.catalogue.queries)
    report = build_region(request, eodata_fs=scenario.eodata)
    assert report.images_kept == 6 and report.images_written == 0 and report.labels_written == 0
    assert report.products_used == [] and report.skipped == SKIPPED  # read again, but no tile completed
    assert len(scenario.catalogue.queries) == queries + 2


def _tile(stem: str) -> grid.Tile:
    tile_grid = grid.region_grid(REGION)
    return next(t for t in tile_grid.tiles() if t.stem == stem)


@pytest.mark.network
def test_clear_errors_for_bad_arguments(scenario, s3_env, tmp_path, capsys):
    common = [
        "--nuts-source",
        scenario.gisco_url,
        "--catalogue-url",
        scenario.catalogue_url,
        "--eo-endpoint",
        scenario.s3_server.endpoint_url,
        "--eo-key",
        "k",
        "--eo-secret",
        "s",
        "--quiet",
    ]
    assert cli.main(["--nuts", "XX0001", "--year", "2021", "--output", str(tmp_path), *common]) == 2
    assert "close codes: XX001" in capsys.readouterr().err
    assert cli.main(["--nuts", "XX001", "--year", "2012", "--output", str(tmp_path), *common]) == 2
    assert "from 2017" in capsys.readouterr().err
    assert (
        cli.main(["--nuts", "XX001", "--year", "2021", "--output", "https://example.org/x", *common]) == 2
    )
    assert "read-only" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert cli.main(["--nuts", "XX001", "--year", "2021", "--output", str(blocker / "sub"), *common]) == 2
    assert "not a writable folder" in capsys.readouterr().err
    assert (
        cli.main(["--nuts", "XX001", "--year", "2021", "--output", "s3://no-such-bucket-xyz/d", *common])
        == 2
    )
    assert "no-such-bucket-xyz" in capsys.readouterr().err
    assert (
        cli.main(
            ["--nuts", "XX001", "--year", "2021", "--output", str(tmp_path), "--label-year", "2019", *common]
        )
        == 2
    )
    assert "label_year=2019" in capsys.readouterr().err
    missing = scenario.gisco_url.replace("LEVL_3", "LEVL_9")  # the stand-in answers 404
    args = ["--nuts", "XX001", "--year", "2021", "--output", str(tmp_path), *common, "--nuts-source", missing]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "could not download the NUTS3 boundaries" in err and missing in err and "404" in err
    with pytest.raises(RegionNotFoundError):
        load_region("ZZ999", scenario.gisco_url)


def test_region_from_a_local_nuts_file(tmp_path):
    path = tmp_path / "nuts.geojson"
    lonlat = gpd.GeoSeries([REGION.segmentize(100)], crs=3035).to_crs(4326).iloc[0]
    path.write_text(nuts_geojson({"XX001": lonlat}, crs="EPSG:4326"))  # any CRS: reprojected to 3035
    region = load_region("xx001", str(path))
    assert region.symmetric_difference(REGION).area < 1e-6 * REGION.area  # same outline, to rounding
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_region("XX001", str(tmp_path / "missing.geojson"))


@pytest.mark.filterwarnings("ignore:'crs' was not provided", "ignore:.*(non conformant|should be 'gpkg')")
def test_a_nuts_file_without_a_crs_is_refused_by_name(tmp_path):
    """Coordinates without a CRS could be metres or degrees: the file is refused, not guessed.

    A GeoJSON always has a CRS (WGS84 unless it says otherwise), so the CRS-less
    file here is a GeoPackage.
    """
    path = tmp_path / "nuts-without-crs.gpkg"
    gpd.GeoDataFrame({"NUTS_ID": ["XX001"]}, geometry=[REGION], crs=None).to_file(path)
    with pytest.raises(DataFileError, match=rf"{path}.*no CRS"):
        load_region("XX001", str(path))


def test_script_metadata_points_uv_at_this_repository():
    text = SCRIPT.read_text()
    block = text.split("# /// script\n", 1)[1].split("# ///\n", 1)[0]
    metadata = tomllib.loads(
        "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in block.splitlines())
    )
    assert metadata["dependencies"] == ["landcover"]
    source = metadata["tool"]["uv"]["sources"]["landcover"]
    assert source["editable"] is True
    assert (SCRIPT.parent / source["path"] / "pyproject.toml").resolve() == PROJECT / "pyproject.toml"


def test_the_command_is_a_package_entry_point():
    """``pip install -e .`` installs ``landcover-download-region`` as :func:`landcover.download.cli.main`."""
    scripts = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["landcover-download-region"].partition(":")
    assert getattr(importlib.import_module(module), name) is cli.main
    assert "--nuts" in cli.build_parser().format_help()
    with pytest.raises(SystemExit) as info:
        cli.main(["--nuts", "XX001"])  # --year and --output missing
    assert info.value.code == 2


def test_the_thin_script_delegates_to_the_package():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=120, cwd=PROJECT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: download_region.py")
    assert "--nuts-source" in result.stdout and "--label-year" in result.stdout
    assert "def build_parser" not in SCRIPT.read_text()  # the options live in landcover.download.cli

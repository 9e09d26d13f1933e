"""The checks of the appendix on the source APIs (``api-...``), against the package's stand-ins."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from rasterio.io import MemoryFile

from landcover.classes import remap_raw_clcplus
from landcover.data import geocode, label_path, tile_bounds_from_name
from landcover.storage import write_bytes_atomic
from landcover.exercises import evaluate
from landcover.exercises.source_apis import APPENDIX_TILE
from landcover.sources import cdse_auth, clcplus, odata, sentinelhub
from landcover.sources.standins.suite import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    USERNAME,
    Services,
    start_services,
)

pytestmark = pytest.mark.network
NUTS, YEAR, STEM = APPENDIX_TILE
BBOX = tile_bounds_from_name(STEM)


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    with start_services() as running:
        yield running


def export_params(**changes: str) -> dict[str, str]:
    params = {
        "f": "image",
        "format": "tiff",
        "pixelType": "U8",
        "bbox": ",".join(str(int(v)) for v in BBOX),
        "bboxSR": "3035",
        "imageSR": "3035",
        "size": "250,250",
        "interpolation": "RSP_NearestNeighbor",
    }
    params.update(changes)
    return params


def fetch_raw(services: Services) -> np.ndarray:
    response = requests.get(
        clcplus.export_image_url(YEAR, services.clcplus_url), params=export_params(), timeout=30
    )
    response.raise_for_status()
    with MemoryFile(response.content) as memfile, memfile.open() as dataset:
        return dataset.read(1)


def assert_hint(result: Any, expected: str) -> None:
    assert result.status == "incorrect", result
    assert expected in result.message, result.message


def test_clcplus(services: Services) -> None:
    raw = fetch_raw(services)
    assert {11, 255} <= set(np.unique(raw).tolist())  # the appendix's tile shows the remapping at work
    label = remap_raw_clcplus(raw)
    assert evaluate("api-clcplus", export_params(), raw, label).passed
    assert_hint(evaluate("api-clcplus", export_params(bboxSR="4326"), raw, label), "metres of EPSG:3035")
    assert_hint(evaluate("api-clcplus", export_params(imageSR="4326"), raw, label), "not reprojected")
    assert_hint(evaluate("api-clcplus", export_params(size="512,512"), raw, label), "one pixel per 10 m")
    bilinear = export_params(interpolation="RSP_BilinearInterpolation")
    assert_hint(evaluate("api-clcplus", bilinear, raw, label), "never averaged")
    assert_hint(evaluate("api-clcplus", export_params(), raw, raw), "not remapped")
    no_snow = label.copy()
    no_snow[raw == 11] = 0
    assert_hint(evaluate("api-clcplus", export_params(), raw, no_snow), "snow and ice")


def test_write_label(tmp_path: Path, services: Services) -> None:
    label = remap_raw_clcplus(fetch_raw(services))
    target = label_path(NUTS, YEAR, STEM, str(tmp_path))
    buffer = io.BytesIO()
    np.save(buffer, label)
    write_bytes_atomic(target, buffer.getvalue())
    assert evaluate("api-write-label", target, label).passed
    wrong_place = str(tmp_path / "images" / NUTS / str(YEAR) / f"{STEM}.npy")
    assert_hint(evaluate("api-write-label", wrong_place, label), "under images/")
    missing = label_path(NUTS, YEAR, STEM, str(tmp_path / "elsewhere"))
    assert_hint(evaluate("api-write-label", missing, label), "nothing was written")
    write_bytes_atomic(target, label.tobytes())  # raw bytes, no .npy header
    assert_hint(evaluate("api-write-label", target, label), "not a .npy file")


def test_sentinelhub(services: Services) -> None:
    session = cdse_auth.authorized_session(
        cdse_auth.ClientCredentials(CLIENT_ID, CLIENT_SECRET, token_url=services.token_url)
    )
    evalscript = sentinelhub.reflectance_evalscript(["B04", "B03", "B02"])

    def order(**changes: Any) -> tuple[dict[str, Any], np.ndarray]:
        options: dict[str, Any] = {"bbox": BBOX, "bbox_crs_epsg": 3035, "resolution": 10}
        options.update(changes)
        body = sentinelhub.process_body(
            start="2021-06-01", end="2021-08-31", evalscript=evalscript, **options
        )
        image, _ = sentinelhub.process_array(session, body, base_url=services.sentinelhub_url)
        return body, image

    body, image = order()
    assert image.shape == (3, 250, 250)
    assert evaluate("api-sentinelhub", body, image).passed
    lon, lat = geocode("Eurostat")
    degrees = [lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05]
    assert_hint(
        evaluate("api-sentinelhub", *order(bbox=degrees, bbox_crs_epsg=4326, resolution=0.0001)), "in degrees"
    )
    assert_hint(
        evaluate("api-sentinelhub", *order(resolution=None, width=512, height=512)), "width and height"
    )
    assert_hint(evaluate("api-sentinelhub", *order(resolution=20)), "pixels of 20.0 m")


def test_odata(tmp_path: Path, services: Services) -> None:
    lon, lat = geocode("Eurostat")
    point = f"OData.CSC.Intersects(area=geography'SRID=4326;POINT({lon} {lat})')"
    good = [
        "Collection/Name eq 'SENTINEL-2'",
        "ContentDate/Start gt 2021-07-01T00:00:00.000Z",
        "ContentDate/Start lt 2021-07-31T23:59:59.999Z",
        "Attributes/OData.CSC.DoubleAttribute/any(att:att/Name eq 'cloudCover' and "
        "att/OData.CSC.DoubleAttribute/Value lt 20.00)",
        point,
    ]
    expression = " and ".join(good)
    products = list(odata.iter_products(expression, catalogue_url=services.catalogue_url, page_size=1))
    assert len(products) == 2  # two pages of one
    best = min(products, key=lambda p: p.cloud_cover)
    session = cdse_auth.authorized_session(
        cdse_auth.PasswordCredentials(USERNAME, PASSWORD, token_url=services.token_url)
    )
    path = odata.download_product(
        best.id,
        tmp_path / f"{best.name}.zip",
        session,
        download_base_url=services.download_url,
        progress=False,
    )
    assert evaluate("api-odata", expression, products, path).passed
    swapped = expression.replace(f"POINT({lon} {lat})", f"POINT({lat} {lon})")
    assert_hint(evaluate("api-odata", swapped, products, path), "POINT(latitude longitude)")
    june = expression.replace("2021-07-01T00", "2021-06-01T00")
    assert_hint(evaluate("api-odata", june, products, path), "July 2021 starts")
    cloudy = expression.replace("Value lt 20.00", "Value lt 50.00")
    assert_hint(evaluate("api-odata", cloudy, products, path), "below 50.00 %")
    assert_hint(evaluate("api-odata", expression, [], path), "is empty")
    assert_hint(evaluate("api-odata", expression, products, tmp_path / "nothing.zip"), "no downloaded file")
    worst = max(products, key=lambda p: p.cloud_cover)
    other = odata.download_product(
        worst.id,
        tmp_path / f"{worst.name}.zip",
        session,
        download_base_url=services.download_url,
        progress=False,
    )
    assert_hint(evaluate("api-odata", expression, products, other), "not the least cloudy")

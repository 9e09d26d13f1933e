"""CLC+ Backbone labels through ``exportImage``, against the ImageServer stand-in."""

from __future__ import annotations

import numpy as np
import pytest

from landcover.errors import OnlineAccessDisabled
from landcover.sources import clcplus
from landcover.sources.http import ServiceError
from landcover.sources.standins import ClcPlusImageServer, expected_labels, serve

pytestmark = pytest.mark.network

# A tile whose area includes raw 254 (x in 4000..4001 km) and 255 (y in 2944..2945 km) codes.
BBOX = (4000000.0, 2943500.0, 4002500.0, 2946000.0)


@pytest.fixture(scope="module")
def image_server():
    server = ClcPlusImageServer(years=(2018, 2021))
    with serve(server.app()) as url:
        yield server, f"{url}/arcgis/rest/services"


def test_labels_match_the_service_pixel_for_pixel(image_server):
    _, base = image_server
    labels = clcplus.fetch_labels(BBOX, 2021, base_url=base)
    assert labels.dtype == np.uint8 and labels.shape == (250, 250)
    np.testing.assert_array_equal(labels, expected_labels(BBOX, 2021))
    raw = clcplus.fetch_raw_clcplus(BBOX, 2021, base_url=base)
    assert {254, 255} <= set(np.unique(raw).tolist())  # the raw codes are there...
    assert set(np.unique(labels).tolist()) <= set(range(11))  # ...and become 0
    assert (labels[(raw == 254) | (raw == 255)] == 0).all()
    assert (labels[raw == 11] == 9).all()


def test_request_uses_the_arcgis_parameters_for_a_class_raster(image_server):
    server, base = image_server
    server.requests.clear()
    clcplus.fetch_labels(BBOX, 2018, base_url=base)
    (sent,) = server.requests
    assert sent["year"] == "2018"
    assert sent["bbox"] == "4000000,2943500,4002500,2946000"
    assert (sent["bboxSR"], sent["imageSR"], sent["size"]) == ("3035", "3035", "250,250")
    assert (sent["f"], sent["format"], sent["interpolation"]) == ("image", "tiff", "RSP_NearestNeighbor")


def test_export_url_follows_the_real_service_pattern():
    assert clcplus.export_image_url(2021) == (
        "https://copernicus.discomap.eea.europa.eu/arcgis/rest/services/CLC_plus/"
        "CLMS_CLCplus_RASTER_2021_010m_eu/ImageServer/exportImage"
    )


def test_arcgis_json_error_with_status_200_is_an_error(image_server):
    _, base = image_server  # this stand-in has no 2023 service
    with pytest.raises(ServiceError, match="not found"):
        clcplus.fetch_labels(BBOX, 2023, base_url=base)


@pytest.mark.parametrize(
    ("bbox", "year", "message"),
    [
        (BBOX, 2024, "2018, 2021, 2023"),
        ((0, 0, 2505, 2500), 2021, "whole number"),
        ((10, 0, 0, 10), 2021, "empty"),
        ((0, 0, 50000, 50000), 2021, "split"),
    ],
)
def test_bad_requests_are_refused_before_any_call(bbox, year, message):
    with pytest.raises(ValueError, match=message):
        clcplus.fetch_labels(bbox, year, base_url="http://127.0.0.1:9/nothing")


def test_real_service_needs_the_online_switch():
    with pytest.raises(OnlineAccessDisabled, match="LANDCOVER_ONLINE=1"):
        clcplus.fetch_labels(BBOX, 2021)

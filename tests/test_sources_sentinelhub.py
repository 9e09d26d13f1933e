"""Sentinel Hub Catalog (paged STAC search) and Processing API, against the stand-in."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from landcover.errors import OnlineAccessDisabled
from landcover.sources import cdse_auth, sentinelhub
from landcover.sources.http import ServiceError
from landcover.sources.standins import TOKEN_PATH, SentinelHub, TokenIssuer, serve, stac_item

pytestmark = pytest.mark.network

ITEMS = [
    stac_item(
        f"S2A_item_{i}", shapely.box(6.0 + i, 49.0, 7.0 + i, 50.0), f"2021-07-{10 + i:02d}T10:30:00Z", cloud
    )
    for i, cloud in enumerate([5.0, 80.0, 12.0, 3.0, 40.0, 19.0, 1.0])
]


@pytest.fixture(scope="module")
def hub():
    issuer = TokenIssuer()
    service = SentinelHub(items=ITEMS, issuer=issuer)
    with serve(issuer.app()) as identity, serve(service.app()) as url:
        provider = cdse_auth.ClientCredentials("test-client", "test-secret", token_url=identity + TOKEN_PATH)
        yield service, cdse_auth.authorized_session(provider), url


def test_catalog_search_reads_every_page(hub):
    service, session, url = hub
    service.searches.clear()
    items = sentinelhub.search_catalog(
        session, [5.0, 48.0, 20.0, 51.0], "2021-07-01", "2021-07-31", max_cloud=20, page_size=2, base_url=url
    )
    expected = [f"S2A_item_{i}" for i in (0, 2, 3, 5, 6)]  # cloud cover below 20 %
    assert [item["id"] for item in items] == expected
    assert len(service.searches) == 3  # pages of 2, 2 and 1
    first = service.searches[0]
    assert first["filter"] == "eo:cloud_cover < 20" and first["filter-lang"] == "cql2-text"
    assert first["datetime"] == "2021-07-01T00:00:00Z/2021-07-31T23:59:59Z"
    assert [s.get("next") for s in service.searches] == [None, 2, 4]


def test_catalog_search_stops_at_max_items(hub):
    _, session, url = hub
    items = sentinelhub.search_catalog(
        session, [5.0, 48.0, 20.0, 51.0], "2021-07-01", "2021-07-31", page_size=2, max_items=3, base_url=url
    )
    assert len(items) == 3


def test_process_returns_an_array_on_the_requested_grid(hub):
    service, session, url = hub
    bbox = (4012000.0, 2951690.0, 4014500.0, 2954190.0)
    body = sentinelhub.process_body(
        bbox,
        "2021-06-01",
        "2021-08-31",
        sentinelhub.reflectance_evalscript(),
        resolution=10,
        bbox_crs_epsg=3035,
        max_cloud=20,
    )
    array, profile = sentinelhub.process_array(session, body, base_url=url)
    assert array.shape == (12, 250, 250) and array.dtype == np.float32
    assert profile["crs"].to_epsg() == 3035
    assert tuple(profile["transform"])[:6] == (10.0, 0.0, 4012000.0, 0.0, -10.0, 2954190.0)
    # the stand-in writes (k + 1) / 100 + col / (10 * width) in band k
    np.testing.assert_allclose(array[:, 0, 0], (np.arange(12) + 1) / 100, atol=1e-6)
    assert (np.diff(array[0], axis=1) > 0).all()
    sent = service.processed[-1]
    assert sent["input"]["data"][0]["dataFilter"]["maxCloudCoverage"] == 20
    assert sent["input"]["bounds"]["properties"]["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3035"


def test_true_colour_request_in_lon_lat(hub):
    _, session, url = hub
    body = sentinelhub.process_body(
        [6.08, 49.58, 6.18, 49.68],
        "2024-06-01",
        "2024-08-31",
        sentinelhub.TRUE_COLOUR_EVALSCRIPT,
        width=64,
        height=48,
    )
    array, profile = sentinelhub.process_array(session, body, base_url=url)
    assert array.shape == (3, 48, 64) and array.dtype == np.uint8
    assert profile["crs"].to_epsg() == 4326


def test_service_errors_carry_the_message(hub):
    _, session, url = hub
    body = sentinelhub.process_body([6.0, 49.0, 6.1, 49.1], "2021-06-01", "2021-06-30", "return 1;", width=8)
    with pytest.raises(ServiceError, match="evalscript"):
        sentinelhub.process_array(session, body, base_url=url)


def test_process_body_needs_one_way_to_size_the_output():
    with pytest.raises(ValueError, match="either"):
        sentinelhub.process_body([0, 0, 1, 1], "2021-06-01", "2021-06-30", "x", width=10, resolution=10)


def test_real_service_needs_the_online_switch(hub):
    _, session, _ = hub
    with pytest.raises(OnlineAccessDisabled):
        sentinelhub.search_catalog(session, [6, 49, 7, 50], "2021-07-01", "2021-07-31")

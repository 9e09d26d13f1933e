"""The CDSE OData catalogue (filter, paging, attributes) and product download, against stand-ins."""

from __future__ import annotations

import pytest
import requests
import shapely

from landcover.errors import OnlineAccessDisabled
from landcover.sources import cdse_auth, odata
from landcover.sources.http import ServiceError
from landcover.sources.standins import TOKEN_PATH, ODataCatalogue, TokenIssuer, product_entry, serve

pytestmark = pytest.mark.network

LUXEMBOURG = shapely.box(6.0, 49.5, 6.3, 49.8)


def _name(day: int, baseline: str = "0509") -> str:
    return f"S2B_MSIL2A_202107{day:02d}T103629_N{baseline}_R008_T31UGR_202107{day:02d}T135720.SAFE"


PRODUCTS = [
    product_entry(_name(3), shapely.box(5.5, 49.0, 7.0, 50.0), "2021-07-03T10:36:29.024Z", 9.5),
    product_entry(_name(8), shapely.box(5.5, 49.0, 7.0, 50.0), "2021-07-08T10:36:29.024Z", 42.0),
    product_entry(_name(13, "0301"), shapely.box(5.5, 49.0, 7.0, 50.0), "2021-07-13T10:36:29.024Z", 1.25),
    product_entry(_name(18), shapely.box(5.5, 49.0, 7.0, 50.0), "2021-07-18T10:36:29.024Z", 7.0),
    product_entry(_name(23), shapely.box(5.5, 49.0, 7.0, 50.0), "2021-07-23T10:36:29.024Z", 14.9),
    product_entry(
        _name(28), shapely.box(20.0, 40.0, 21.0, 41.0), "2021-07-28T10:36:29.024Z", 0.5
    ),  # elsewhere
    product_entry(_name(2), shapely.box(5.5, 49.0, 7.0, 50.0), "2021-09-02T10:36:29.024Z", 0.1),  # too late
    product_entry(
        _name(4).replace("MSIL2A", "MSIL1C"),
        shapely.box(5.5, 49.0, 7.0, 50.0),
        "2021-07-04T10:36:29.024Z",
        0.2,
        product_type="S2MSI1C",
    ),
]


@pytest.fixture(scope="module")
def catalogue():
    issuer = TokenIssuer()
    service = ODataCatalogue(
        PRODUCTS, issuer=issuer, payloads={PRODUCTS[0]["Id"]: b"PK" + bytes(range(256)) * 900}
    )
    with serve(issuer.app()) as identity, serve(service.app()) as url:
        yield service, url + "/odata/v1", identity + TOKEN_PATH


def test_filter_expression_has_every_clause():
    expression = odata.build_filter("2021-06-01", "2021-08-31", LUXEMBOURG, max_cloud=15)
    assert "Collection/Name eq 'SENTINEL-2'" in expression
    assert "att/OData.CSC.StringAttribute/Value eq 'S2MSI2A'" in expression
    assert "ContentDate/Start gt 2021-06-01T00:00:00.000Z" in expression
    assert "ContentDate/Start lt 2021-08-31T23:59:59.999Z" in expression
    assert "att/Name eq 'cloudCover' and att/OData.CSC.DoubleAttribute/Value lt 15.00" in expression
    assert "OData.CSC.Intersects(area=geography'SRID=4326;POLYGON ((6.3 49.5, 6.3 49.8" in expression
    assert expression.endswith("Online eq true")
    with pytest.raises(ValueError):
        odata.build_filter("2021-13-01", "2021-08-31")


def test_search_reads_every_page_and_the_cloud_cover_attribute(catalogue):
    service, url, _ = catalogue
    service.queries.clear()
    products = odata.search_products(
        LUXEMBOURG, "2021-06-01", "2021-08-31", max_cloud=15, catalogue_url=url, page_size=2
    )
    # L2A, in the window, over the area, below 15 %: least cloudy first
    assert [p.cloud_cover for p in products] == [1.25, 7.0, 9.5, 14.9]
    assert len(service.queries) == 2  # two pages of two, followed through @odata.nextLink
    assert all(q["$expand"] == "Attributes" for q in service.queries[:1])
    first = products[0]
    assert first.processing_baseline == "03.01"
    assert first.s3_path.startswith("/eodata/Sentinel-2/MSI/L2A/2021/07/13/")
    assert first.footprint.contains(shapely.Point(6.1, 49.6))
    assert first.start.year == 2021 and first.attributes["productType"] == "S2MSI2A"


def test_paging_with_skip_when_the_service_gives_no_next_link():
    service = ODataCatalogue(PRODUCTS, next_links=False)
    with serve(service.app()) as url:
        products = odata.search_products(
            LUXEMBOURG, "2021-06-01", "2021-08-31", max_cloud=50, catalogue_url=url + "/odata/v1", page_size=2
        )
    assert len(products) == 5
    assert [q["$skip"] for q in service.queries] == ["0", "2", "4"]


def test_without_expand_there_is_no_cloud_cover(catalogue):
    _, url, _ = catalogue
    expression = odata.build_filter("2021-06-01", "2021-08-31", LUXEMBOURG)
    response = requests.get(url + "/Products", params={"$filter": expression, "$top": 1}, timeout=10)
    assert "Attributes" not in response.json()["value"][0]  # as the real service: attributes need $expand


def test_bad_filter_is_reported_with_the_services_message(catalogue):
    _, url, _ = catalogue
    with pytest.raises(ServiceError, match="Invalid filter clause"):
        list(odata.iter_products("Cloudiness lt 3", catalogue_url=url))


def test_download_streams_to_the_final_name_only_when_complete(catalogue, tmp_path):
    service, url, token_url = catalogue
    provider = cdse_auth.PasswordCredentials("reader@example.org", "correct horse", token_url=token_url)
    session = cdse_auth.authorized_session(provider)
    product_id = PRODUCTS[0]["Id"]
    target = odata.download_product(
        product_id, tmp_path / "product.zip", session, download_base_url=url, chunk_size=4096, progress=False
    )
    assert target.read_bytes() == service.payloads[product_id]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["product.zip"]


def test_interrupted_download_leaves_nothing_behind(catalogue, tmp_path, monkeypatch):
    _, url, token_url = catalogue
    session = cdse_auth.authorized_session(
        cdse_auth.PasswordCredentials("reader@example.org", "correct horse", token_url=token_url)
    )
    original = requests.Response.iter_content

    def broken(self, chunk_size=1, decode_unicode=False):
        for number, chunk in enumerate(original(self, chunk_size, decode_unicode)):
            if number == 3:
                raise requests.ConnectionError("connection reset")
            yield chunk

    monkeypatch.setattr(requests.Response, "iter_content", broken)
    with pytest.raises(requests.ConnectionError):
        odata.download_product(
            PRODUCTS[0]["Id"],
            tmp_path / "product.zip",
            session,
            download_base_url=url,
            chunk_size=4096,
            progress=False,
        )
    assert list(tmp_path.iterdir()) == []


def test_download_needs_a_token(catalogue, tmp_path):
    _, url, _ = catalogue
    with pytest.raises(ServiceError, match="401"):
        odata.download_product(
            PRODUCTS[0]["Id"], tmp_path / "p.zip", requests.Session(), download_base_url=url, progress=False
        )


def test_baseline_from_the_product_name():
    assert odata.processing_baseline(_name(3, "0400")) == "04.00"
    assert (
        odata.processing_baseline("S2A_MSIL2A_20180704T103021_N0208_R108_T32ULA_20180704T134536.SAFE")
        == "02.08"
    )
    assert odata.processing_baseline("no baseline here") is None


def test_real_catalogue_needs_the_online_switch():
    with pytest.raises(OnlineAccessDisabled):
        odata.search_products(LUXEMBOURG, "2021-06-01", "2021-08-31")


def test_the_demo_suite_answers_every_client(tmp_path):
    """The appendix's offline path: every client against the ready-made stand-ins."""
    from landcover.sources import clcplus, sentinelhub
    from landcover.sources.standins.suite import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, start_services

    with start_services() as services:
        products = odata.search_products(
            shapely.box(6.0, 49.5, 6.3, 49.8),
            "2021-06-01",
            "2021-08-31",
            max_cloud=20,
            catalogue_url=services.catalogue_url,
        )
        assert [p.cloud_cover for p in products] == [3.1, 11.4]
        session = cdse_auth.authorized_session(
            cdse_auth.PasswordCredentials(USERNAME, PASSWORD, token_url=services.token_url)
        )
        path = odata.download_product(
            products[0].id,
            tmp_path / "p.zip",
            session,
            download_base_url=services.download_url,
            progress=False,
        )
        assert path.stat().st_size == 22
        hub = cdse_auth.authorized_session(
            cdse_auth.ClientCredentials(CLIENT_ID, CLIENT_SECRET, token_url=services.token_url)
        )
        items = sentinelhub.search_catalog(
            hub,
            [6.0, 49.5, 6.3, 49.8],
            "2021-07-01",
            "2021-07-31",
            max_cloud=20,
            base_url=services.sentinelhub_url,
        )
        assert len(items) == 2
        labels = clcplus.fetch_labels(
            (4042000, 2951690, 4044500, 2954190), 2021, base_url=services.clcplus_url
        )
        assert labels.shape == (250, 250)

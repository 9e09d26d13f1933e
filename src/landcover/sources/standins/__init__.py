"""Local stand-ins for the online services of the book, for tests and offline readers.

Each is a Starlette app answering like the real service (same paths, parameters
and response shapes) over synthetic data; :func:`serve` runs one on 127.0.0.1 in
a background thread (:class:`StandinServer` does the same and logs every request):

    from landcover.sources.standins import serve, ClcPlusImageServer
    with serve(ClcPlusImageServer().app()) as url:
        fetch_labels(bbox, 2021, base_url=f"{url}/arcgis/rest/services")

- :class:`TokenIssuer` — CDSE identity (``/auth/realms/CDSE/protocol/openid-connect/token``)
- :class:`ODataCatalogue` — OData catalogue (``/odata/v1/Products``) and zipper downloads
- :class:`SentinelHub` — Sentinel Hub Catalog and Processing APIs (``/api/v1/...``)
- :class:`ClcPlusImageServer` — CLC+ Backbone ``exportImage``
- :func:`serve_folder` — the data bucket over HTTPS: a folder served with ``Range`` support
- :func:`nominatim_app` — OpenStreetMap Nominatim's ``/search``
- :class:`S3Server` / :func:`moto_s3` — an S3 server (moto) for buckets
- :func:`landcover.sources.standins.suite.start_services` — all of them at once, with demo content
"""

from landcover.sources.standins.bucket import serve_folder, static_app
from landcover.sources.standins.clcplus import ClcPlusImageServer, expected_labels
from landcover.sources.standins.identity import TOKEN_PATH, TokenIssuer
from landcover.sources.standins.nominatim import nominatim_app
from landcover.sources.standins.odata import ODataCatalogue, product_entry
from landcover.sources.standins.s2product import SyntheticProduct
from landcover.sources.standins.s3 import S3Server, make_bucket, moto_s3, s3_filesystem
from landcover.sources.standins.sentinelhub import SentinelHub, stac_item
from landcover.sources.standins.server import RequestLog, RequestRecord, StandinServer, serve

__all__ = [
    "TOKEN_PATH",
    "ClcPlusImageServer",
    "ODataCatalogue",
    "RequestLog",
    "RequestRecord",
    "S3Server",
    "SentinelHub",
    "StandinServer",
    "SyntheticProduct",
    "TokenIssuer",
    "expected_labels",
    "make_bucket",
    "moto_s3",
    "nominatim_app",
    "product_entry",
    "s3_filesystem",
    "serve",
    "serve_folder",
    "stac_item",
    "static_app",
]

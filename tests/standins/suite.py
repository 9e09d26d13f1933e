"""All the service stand-ins at once, with demo content, for the book's appendix and quick trials.

    from standins.suite import start_services
    services = start_services()          # servers on 127.0.0.1, in background threads
    services.token_url, services.catalogue_url, services.download_url,
    services.sentinelhub_url, services.clcplus_url, services.nuts_url
    services.close()                     # or use it as a context manager

Demo content: three Sentinel-2 L2A products over Luxembourg in July 2021 (one of
them cloudy), the matching Sentinel Hub catalogue items, a zip to download, the
synthetic CLC+ map, and a NUTS file with LU000 as a simple polygon. Accounts:
client ``test-client`` / ``test-secret``; user ``reader@example.org`` /
``correct horse``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Self

import shapely

from standins.clcplus import ClcPlusImageServer
from standins.gisco import NUTS3_PATH, GiscoNuts, nuts_geojson
from standins.identity import TOKEN_PATH, TokenIssuer
from standins.odata import ODataCatalogue, product_entry
from standins.sentinelhub import SentinelHub, stac_item
from standins.server import serve

#: Demo accounts accepted by the identity stand-in.
CLIENT_ID, CLIENT_SECRET = "test-client", "test-secret"
USERNAME, PASSWORD = "reader@example.org", "correct horse"

_LUXEMBOURG_LONLAT = shapely.box(5.5, 49.2, 6.7, 50.3)
_LU000_3035 = shapely.box(4012500, 2940000, 4074000, 3016000)
_DEMO = [
    ("S2A_MSIL2A_20210705T103031_N0301_R108_T31UGR_20210705T134500.SAFE", "2021-07-05T10:30:31.024Z", 3.1),
    ("S2B_MSIL2A_20210717T104029_N0301_R008_T31UGR_20210717T131200.SAFE", "2021-07-17T10:40:29.024Z", 48.7),
    ("S2A_MSIL2A_20210725T103031_N0301_R108_T32ULA_20210725T134900.SAFE", "2021-07-25T10:30:31.024Z", 11.4),
]


@dataclass
class Services:
    """Running stand-ins and the base URLs to give the clients."""

    token_url: str
    catalogue_url: str  # for odata.search_products(catalogue_url=...)
    download_url: str  # for odata.download_product(download_base_url=...)
    sentinelhub_url: str  # for sentinelhub.*(base_url=...)
    clcplus_url: str  # for clcplus.fetch_labels(base_url=...)
    nuts_url: str  # a GISCO-like NUTS3 GeoJSON
    issuer: TokenIssuer
    catalogue: ODataCatalogue
    sentinelhub: SentinelHub
    clcplus: ClcPlusImageServer
    _stack: contextlib.ExitStack = field(repr=False, default_factory=contextlib.ExitStack)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start_services() -> Services:
    """Start every stand-in with the demo content; call ``close()`` when done."""
    issuer = TokenIssuer(clients={CLIENT_ID: CLIENT_SECRET}, users={USERNAME: PASSWORD})
    entries = [product_entry(name, _LUXEMBOURG_LONLAT, start, cloud) for name, start, cloud in _DEMO]
    catalogue = ODataCatalogue(
        entries, issuer=issuer, payloads={e["Id"]: b"PK\x05\x06" + bytes(18) for e in entries}
    )
    hub = SentinelHub(
        [stac_item(name[:-5], _LUXEMBOURG_LONLAT, start, cloud) for name, start, cloud in _DEMO],
        issuer=issuer,
    )
    clcplus = ClcPlusImageServer()
    gisco = GiscoNuts({"NUTS_RG_01M_2021_3035_LEVL_3.geojson": nuts_geojson({"LU000": _LU000_3035})})
    stack = contextlib.ExitStack()
    try:
        identity = stack.enter_context(serve(issuer.app()))
        odata_url = stack.enter_context(serve(catalogue.app()))
        sh_url = stack.enter_context(serve(hub.app()))
        clc_url = stack.enter_context(serve(clcplus.app()))
        gisco_url = stack.enter_context(serve(gisco.app()))
    except BaseException:
        stack.close()
        raise
    return Services(
        token_url=identity + TOKEN_PATH,
        catalogue_url=odata_url + "/odata/v1",
        download_url=odata_url + "/odata/v1",
        sentinelhub_url=sh_url,
        clcplus_url=clc_url + "/arcgis/rest/services",
        nuts_url=gisco_url + NUTS3_PATH,
        issuer=issuer,
        catalogue=catalogue,
        sentinelhub=hub,
        clcplus=clcplus,
        _stack=stack,
    )

"""All the service stand-ins at once, with demo content, for the book's appendix and quick trials.

    from landcover.sources.standins.suite import start_services
    services = start_services()          # servers on 127.0.0.1, in background threads
    services.token_url, services.catalogue_url, services.download_url,
    services.sentinelhub_url, services.clcplus_url, services.nuts_url
    services.close()                     # or use it as a context manager

:func:`start_region_demo` starts what the region pipeline needs (see its docstring).

Demo content of :func:`start_services`: three Sentinel-2 L2A products over Luxembourg in July 2021 (one of
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

from landcover.sources.standins.clcplus import ClcPlusImageServer
from landcover.sources.standins.gisco import NUTS3_PATH, GiscoNuts, nuts_geojson
from landcover.sources.standins.identity import TOKEN_PATH, TokenIssuer
from landcover.sources.standins.odata import ODataCatalogue, product_entry
from landcover.sources.standins.sentinelhub import SentinelHub, stac_item
from landcover.sources.standins.server import serve

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


class _StopsServers:
    """``close()`` (or leaving a ``with`` block) stops the servers held in ``self._stack``."""

    _stack: contextlib.ExitStack

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Services(_StopsServers):
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


# --- a whole region, for the download pipeline ------------------------------------------------------

#: The demo region of :func:`start_region_demo`: a 7.3 km x 6.6 km box in Luxembourg (EPSG:3035).
DEMO_REGION_ID = "XX001"
DEMO_REGION_3035 = shapely.box(4049200, 2945000, 4056500, 2951600)


def demo_region_products() -> list:
    """The demo region's two L2A products (UTM zone 32N), as :func:`start_region_demo` serves them.

    The first (baseline 04.00, radiometric offset) has a bright square at
    ``(302040, 5498040, 302160, 5498160)`` to check the geometry of a reprojection;
    the second (no metadata file) has no data west of x = 305000.
    """
    from landcover.sources.standins.s2product import SyntheticProduct

    return [
        SyntheticProduct(
            "S2A_MSIL2A_20210715T103031_N0400_R108_T32ULA_20210715T135720.SAFE",
            (300000, 5494020, 306000, 5500020),
            5.0,
            "2021-07-15T10:30:31.024Z",
            bright_square=(302040, 5498040, 302160, 5498160),
        ),
        SyntheticProduct(
            "S2B_MSIL2A_20210720T103029_N0301_R108_T32ULA_20210720T131500.SAFE",
            (304020, 5494020, 310020, 5500020),
            30.0,
            "2021-07-20T10:30:29.024Z",
            nodata_west_of=305000,
            with_metadata=False,
        ),
    ]


@dataclass
class RegionDemo(_StopsServers):
    """Stand-ins for everything the region pipeline reads, and the arguments to give it.

    Two synthetic L2A products in UTM zone 32N cover the top two rows of the
    region's 3 x 3 tiles (one of them from processing baseline 04.00, with the
    radiometric offset, the other with missing data on its west side); the
    bottom row is covered by none, so the pipeline must report it, not invent it.
    The products' band files lie in an in-memory file system standing for the
    CDSE EO S3 archive.
    """

    nuts_id: str
    year: int
    nuts_url: str  # RegionRequest(nuts_source=...)
    catalogue_url: str  # RegionRequest(catalogue_url=...)
    clcplus_url: str  # RegionRequest(clcplus_url=...)
    eodata_fs: object  # build_region(eodata_fs=...)
    products: list
    _stack: contextlib.ExitStack = field(repr=False, default_factory=contextlib.ExitStack)


def start_region_demo() -> RegionDemo:
    """Start the stand-ins of a small region build (NUTS, OData, CLC+, EO archive in memory)."""
    import fsspec

    products = demo_region_products()
    eodata = fsspec.filesystem("memory")
    entries = []
    for product in products:
        s3_path = product.upload(eodata)
        entries.append(
            product_entry(
                product.name, product.footprint_lonlat(), product.start, product.cloud_cover, s3_path=s3_path
            )
        )
    catalogue = ODataCatalogue(entries)
    gisco = GiscoNuts(
        {"NUTS_RG_01M_2021_3035_LEVL_3.geojson": nuts_geojson({DEMO_REGION_ID: DEMO_REGION_3035})}
    )
    stack = contextlib.ExitStack()
    try:
        odata_url = stack.enter_context(serve(catalogue.app()))
        clc_url = stack.enter_context(serve(ClcPlusImageServer().app()))
        gisco_url = stack.enter_context(serve(gisco.app()))
    except BaseException:
        stack.close()
        raise
    return RegionDemo(
        nuts_id=DEMO_REGION_ID,
        year=2021,
        nuts_url=gisco_url + NUTS3_PATH,
        catalogue_url=odata_url + "/odata/v1",
        clcplus_url=clc_url + "/arcgis/rest/services",
        eodata_fs=eodata,
        products=products,
        _stack=stack,
    )

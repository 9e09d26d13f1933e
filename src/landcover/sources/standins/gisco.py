"""Stand-in for Eurostat GISCO's NUTS download: serves one GeoJSON at the real path.

``GET /distribution/v2/nuts/geojson/NUTS_RG_01M_2021_3035_LEVL_3.geojson`` (and
any other file name registered) returns the given GeoJSON text.
"""

from __future__ import annotations

from shapely.geometry.base import BaseGeometry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

NUTS3_PATH = "/distribution/v2/nuts/geojson/NUTS_RG_01M_2021_3035_LEVL_3.geojson"


class GiscoNuts:
    """GISCO's NUTS download folder over fixed files; ``requests`` lists the names asked for.

    ``files`` maps a file name (``NUTS_RG_01M_2021_3035_LEVL_3.geojson``) to its GeoJSON text.
    """

    def __init__(self, files: dict[str, str]) -> None:
        self.files = dict(files)
        self.requests: list[str] = []

    async def get(self, request: Request) -> Response:
        """One file of the folder as GeoJSON, or 404 for a name it does not hold."""
        name = request.path_params["name"]
        self.requests.append(name)
        if name not in self.files:
            return PlainTextResponse("Not Found", status_code=404)
        return Response(self.files[name], media_type="application/geo+json")

    def app(self) -> Starlette:
        """The ASGI app answering under ``/distribution/v2/nuts/geojson/``."""
        return Starlette(routes=[Route("/distribution/v2/nuts/geojson/{name}", self.get, methods=["GET"])])


def nuts_geojson(regions: dict[str, BaseGeometry], crs: str = "EPSG:3035") -> str:
    """GeoJSON text of NUTS3 regions (``NUTS_ID`` -> shapely geometry in ``crs``), GISCO columns."""
    import geopandas as gpd

    frame = gpd.GeoDataFrame(
        {
            "NUTS_ID": list(regions),
            "NUTS_NAME": [f"Test region {k}" for k in regions],
            "CNTR_CODE": [k[:2] for k in regions],
            "LEVL_CODE": [3] * len(regions),
        },
        geometry=list(regions.values()),
        crs=crs,
    )
    return frame.to_json(to_wgs84=False, drop_id=True)

"""Stand-in for OpenStreetMap's Nominatim search (``/search``), which :mod:`landcover.data.geocode` asks.

It answers like ``format=jsonv2``: a list of objects with ``lat`` and ``lon`` as
strings, an empty list for a place it does not know, and HTTP 403 to a request
without a ``User-Agent`` (the real service's usage policy allows it to refuse
those). The query ``server error`` answers HTTP 500, to try a client's error path.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def nominatim_app(places: dict[str, tuple[float, float]]) -> Starlette:
    """A Nominatim ``/search`` over ``places``: a lower-case query -> ``(lon, lat)`` in EPSG:4326 degrees."""

    async def search(request: Request) -> JSONResponse:
        if not request.headers.get("user-agent"):
            return JSONResponse({"error": "a User-Agent is required"}, status_code=403)
        query = request.query_params.get("q", "").strip().lower()
        if query == "server error":
            return JSONResponse({"error": "boom"}, status_code=500)
        if query not in places:
            return JSONResponse([])
        lon, lat = places[query]
        return JSONResponse(
            [
                {
                    "place_id": 1,
                    "lat": f"{lat:.7f}",
                    "lon": f"{lon:.7f}",
                    "display_name": query.title(),
                    "category": "boundary",
                    "type": "administrative",
                    "importance": 0.8,
                }
            ]
        )

    return Starlette(routes=[Route("/search", search)])

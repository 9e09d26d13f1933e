"""Stand-in for Sentinel Hub on CDSE: Catalog (STAC item search) and Processing API.

- ``POST /api/v1/catalog/1.0.0/search``: body with ``collections``, ``datetime``
  (``start/end``), ``bbox`` (lon/lat), ``limit`` (1..100), ``next`` and an optional
  CQL2 text ``filter`` of the form ``eo:cloud_cover < N``. Answers a GeoJSON
  FeatureCollection with ``context`` (``next``, ``limit``, ``returned``) and, when
  more items match, a ``rel: next`` link to POST again with ``{"next": n}`` merged.
- ``POST /api/v1/process``: JSON body (bounds + CRS URI, data type, output size or
  resolution, evalscript). Answers an ``image/tiff`` with as many bands and the
  sample type the evalscript's ``setup()`` declares. Band ``k`` (from 0) holds
  ``(k + 1) / 100 + col / (10 * width)``: constant down a column, rising to the
  east, so a test can check order and orientation.

Both need a valid bearer token; errors use Sentinel Hub's ``{"error": {...}}`` shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from affine import Affine
from rasterio.io import MemoryFile
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from landcover.sources.standins.identity import TokenIssuer

CATALOG_PATH = "/api/v1/catalog/1.0.0/search"
PROCESS_PATH = "/api/v1/process"
_CRS = re.compile(r"^http://www\.opengis\.net/def/crs/(?:EPSG/0/(\d+)|OGC/1\.3/CRS84)$")
_SAMPLE_TYPES = {"AUTO": "uint8", "UINT8": "uint8", "UINT16": "uint16", "FLOAT32": "float32"}


def stac_item(
    item_id: str, footprint: BaseGeometry | Mapping[str, Any], when: str, cloud_cover: float
) -> dict[str, Any]:
    """A STAC item like those of the Sentinel Hub catalog (footprint in lon/lat)."""
    geometry = footprint if hasattr(footprint, "geom_type") else shape(footprint)
    return {
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "type": "Feature",
        "id": item_id,
        "bbox": list(geometry.bounds),
        "geometry": shapely.geometry.mapping(geometry),
        "properties": {
            "datetime": when,
            "platform": "sentinel-2a",
            "instruments": ["msi"],
            "constellation": "sentinel-2",
            "gsd": 10,
            "eo:cloud_cover": float(cloud_cover),
            "proj:epsg": 32632,
        },
        "assets": {},
        "links": [],
        "collection": "sentinel-2-l2a",
    }


def _error(status: int, message: str, code: str = "COMMON_BAD_PAYLOAD") -> JSONResponse:
    reason = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(status, "Error")
    return JSONResponse(
        {"error": {"status": status, "reason": reason, "message": message, "code": code}}, status_code=status
    )


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


class SentinelHub:
    """Catalog over a fixed list of STAC items, and a synthetic Processing API."""

    def __init__(self, items: list[dict[str, Any]] | None = None, issuer: TokenIssuer | None = None) -> None:
        self.items = list(items or [])
        self.issuer = issuer or TokenIssuer()
        self.searches: list[dict[str, Any]] = []
        self.processed: list[dict[str, Any]] = []

    async def search(self, request: Request) -> Response:
        """Catalog search: the items over a box and time range, under a cloud cover, paged by ``next``."""
        if not self.issuer.check(request.headers.get("authorization")):
            return _error(401, "Invalid or expired token", "COMMON_UNAUTHORIZED")
        body = await request.json()
        self.searches.append(body)
        if body.get("collections") != ["sentinel-2-l2a"]:
            return _error(400, f"Unknown collections {body.get('collections')}")
        limit = int(body.get("limit", 10))
        if not 1 <= limit <= 100:
            return _error(400, "limit must be between 1 and 100")
        try:
            first, last = (_instant(t) for t in str(body["datetime"]).split("/"))
        except (KeyError, ValueError):
            return _error(400, "datetime must be 'start/end' in ISO 8601")
        area = shapely.box(*body["bbox"]) if "bbox" in body else None
        max_cloud = None
        if "filter" in body:
            match = re.fullmatch(r"\s*eo:cloud_cover\s*<\s*([\d.]+)\s*", str(body["filter"]))
            if not match or body.get("filter-lang") != "cql2-text":
                return _error(400, f"Unsupported filter {body['filter']!r}")
            max_cloud = float(match.group(1))
        matches = [
            item
            for item in self.items
            if first <= _instant(item["properties"]["datetime"]) <= last
            and (area is None or shape(item["geometry"]).intersects(area))
            and (max_cloud is None or item["properties"]["eo:cloud_cover"] < max_cloud)
        ]
        start = int(body.get("next", 0))
        page = matches[start : start + limit]
        context: dict[str, Any] = {"limit": limit, "returned": len(page)}
        links = []
        if start + limit < len(matches):
            context["next"] = start + limit
            links.append(
                {
                    "href": str(request.url),
                    "rel": "next",
                    "type": "application/geo+json",
                    "method": "POST",
                    "body": {"next": start + limit},
                    "merge": True,
                }
            )
        return JSONResponse(
            {"type": "FeatureCollection", "features": page, "links": links, "context": context}
        )

    async def process(self, request: Request) -> Response:
        """Processing API: a synthetic GeoTIFF of the requested box, size and sample type."""
        if not self.issuer.check(request.headers.get("authorization")):
            return _error(401, "Invalid or expired token", "COMMON_UNAUTHORIZED")
        try:
            body = await request.json()
            bounds = body["input"]["bounds"]
            bbox = [float(v) for v in bounds["bbox"]]
            crs_match = _CRS.match(
                bounds.get("properties", {}).get("crs", "http://www.opengis.net/def/crs/OGC/1.3/CRS84")
            )
            data = body["input"]["data"]
            output = body.get("output", {})
            evalscript = body["evalscript"]
        except (KeyError, TypeError, ValueError) as exc:
            return _error(400, f"Invalid request: {exc}")
        self.processed.append(body)
        if not crs_match:
            return _error(400, f"Unsupported CRS {bounds['properties']['crs']}")
        if not data or data[0].get("type") != "sentinel-2-l2a":
            return _error(400, "input.data[0].type must be sentinel-2-l2a")
        if "//VERSION=3" not in evalscript or "evaluatePixel" not in evalscript:
            return _error(
                400,
                "Failed to evaluate script! evalscript must define setup() and evaluatePixel()",
                "RENDERER_EXCEPTION",
            )
        bands_match = re.search(r"bands\s*:\s*(\d+)", evalscript)
        type_match = re.search(r"sampleType\s*:\s*\"?(\w+)\"?", evalscript)
        count = int(bands_match.group(1)) if bands_match else 1
        sample_type = (type_match.group(1) if type_match else "AUTO").upper()
        if sample_type not in _SAMPLE_TYPES:
            return _error(400, f"Unknown sampleType {sample_type}", "RENDERER_EXCEPTION")
        xmin, ymin, xmax, ymax = bbox
        if "width" in output:
            width, height = int(output["width"]), int(output.get("height", output["width"]))
        elif "resx" in output:
            width = round((xmax - xmin) / float(output["resx"]))
            height = round((ymax - ymin) / float(output["resy"]))
        else:
            width = height = 256
        if not (1 <= width <= 2500 and 1 <= height <= 2500):
            return _error(400, "Output size must be between 1 and 2500 pixels a side")
        columns = np.arange(width, dtype=np.float64) / (10.0 * width)
        values = np.stack([np.broadcast_to((k + 1) / 100.0 + columns, (height, width)) for k in range(count)])
        dtype = _SAMPLE_TYPES[sample_type]
        if dtype == "uint8":
            values = np.clip(np.round(values * 255), 0, 255)
        elif dtype == "uint16":
            values = np.round(values * 10000)
        epsg = int(crs_match.group(1)) if crs_match.group(1) else 4326
        profile = {
            "driver": "GTiff",
            "width": width,
            "height": height,
            "count": count,
            "dtype": dtype,
            "crs": f"EPSG:{epsg}",
            "transform": Affine((xmax - xmin) / width, 0, xmin, 0, -(ymax - ymin) / height, ymax),
        }
        with MemoryFile() as memfile:
            with memfile.open(**profile) as dataset:
                dataset.write(values.astype(dtype))
            content = memfile.read()
        return Response(content, media_type="image/tiff")

    def app(self) -> Starlette:
        """The ASGI app of the Catalog and Processing APIs."""
        return Starlette(
            routes=[
                Route(CATALOG_PATH, self.search, methods=["POST"]),
                Route(PROCESS_PATH, self.process, methods=["POST"]),
            ]
        )

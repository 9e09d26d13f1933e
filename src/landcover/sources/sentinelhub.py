"""Sentinel Hub on CDSE: Catalog search (STAC) and the Processing API.

Sentinel Hub renders imagery on request: the Processing API takes a box, a time
range and an *evalscript* (a small JavaScript function choosing bands and
computing outputs per pixel) and returns a ready GeoTIFF. The Catalog API is a
STAC item search over the same archive. Both need a bearer token from an OAuth
client (:class:`landcover.sources.cdse_auth.ClientCredentials`).

Sentinel Hub "harmonizes" L2A values by default, removing the processing-baseline
offset, so reflectances from the Processing API need no correction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import requests
from rasterio.io import MemoryFile

from landcover.bands import PRODUCT_BAND_NAMES
from landcover.sources.http import DEFAULT_TIMEOUT, ServiceError, check_response, require_online

#: Sentinel Hub on the Copernicus Data Space Ecosystem (the real default).
SH_BASE_URL = "https://sh.dataspace.copernicus.eu"
CATALOG_PATH = "/api/v1/catalog/1.0.0/search"
PROCESS_PATH = "/api/v1/process"
#: Collection id of Sentinel-2 Level-2A in Sentinel Hub.
S2L2A = "sentinel-2-l2a"

_CRS_URI = "http://www.opengis.net/def/crs/EPSG/0/{epsg}"

#: True colour (B04, B03, B02), reflectance stretched to bytes by ``sampleType: AUTO``.
TRUE_COLOUR_EVALSCRIPT = """//VERSION=3
function setup() {
  return { input: ["B04", "B03", "B02"], output: { bands: 3, sampleType: "AUTO" } };
}
function evaluatePixel(sample) {
  return [2.5 * sample.B04, 2.5 * sample.B03, 2.5 * sample.B02];
}
"""

#: Sentinel Hub names of the 12 spectral bands of the book's tiles, in file order (no B10).
SH_BANDS: tuple[str, ...] = PRODUCT_BAND_NAMES


def reflectance_evalscript(bands: Sequence[str] = SH_BANDS) -> str:
    """An evalscript returning the given bands as float32 reflectance (0..1), in order."""
    names = ", ".join(f'"{b}"' for b in bands)
    values = ", ".join(f"sample.{b}" for b in bands)
    return (
        "//VERSION=3\n"
        "function setup() {\n"
        f'  return {{ input: [{{ bands: [{names}], units: "REFLECTANCE" }}],\n'
        f'           output: {{ bands: {len(bands)}, sampleType: "FLOAT32" }} }};\n'
        "}\n"
        "function evaluatePixel(sample) {\n"
        f"  return [{values}];\n"
        "}\n"
    )


def _datetime_range(start: str, end: str) -> tuple[str, str]:
    """ISO 8601 instants for a day range (``2021-06-01`` -> ``2021-06-01T00:00:00Z``)."""
    first = start if "T" in start else f"{start}T00:00:00Z"
    last = end if "T" in end else f"{end}T23:59:59Z"
    return first, last


def search_catalog(
    session: requests.Session,
    bbox: Sequence[float],
    start: str,
    end: str,
    collection: str = S2L2A,
    max_cloud: float | None = None,
    bbox_crs_epsg: int = 4326,
    page_size: int = 50,
    max_items: int | None = None,
    base_url: str = SH_BASE_URL,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> list[dict[str, Any]]:
    """STAC items (GeoJSON features) of ``collection`` over ``bbox`` between two dates.

    Follows the service's ``next`` links until every page is read (or
    ``max_items`` are collected). ``max_cloud`` becomes the CQL2 filter
    ``eo:cloud_cover < max_cloud``.
    """
    return list(
        iter_catalog(
            session,
            bbox,
            start,
            end,
            collection=collection,
            max_cloud=max_cloud,
            bbox_crs_epsg=bbox_crs_epsg,
            page_size=page_size,
            max_items=max_items,
            base_url=base_url,
            timeout=timeout,
        )
    )


def iter_catalog(
    session: requests.Session,
    bbox: Sequence[float],
    start: str,
    end: str,
    collection: str = S2L2A,
    max_cloud: float | None = None,
    bbox_crs_epsg: int = 4326,
    page_size: int = 50,
    max_items: int | None = None,
    base_url: str = SH_BASE_URL,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> Iterator[dict[str, Any]]:
    """Like :func:`search_catalog`, one item at a time (pages fetched as needed)."""
    url = base_url.rstrip("/") + CATALOG_PATH
    require_online(url, "the Sentinel Hub Catalog API")
    first, last = _datetime_range(start, end)
    body: dict[str, Any] = {
        "collections": [collection],
        "datetime": f"{first}/{last}",
        "bbox": [float(v) for v in bbox],
        "limit": int(page_size),
    }
    if bbox_crs_epsg != 4326:
        body["bbox-crs"] = _CRS_URI.format(epsg=bbox_crs_epsg)
    if max_cloud is not None:
        body["filter"] = f"eo:cloud_cover < {float(max_cloud):g}"
        body["filter-lang"] = "cql2-text"
    count = 0
    method, target, payload = "POST", url, body
    seen_pages: set[str] = set()
    while True:
        if method == "POST":
            response = session.post(target, json=payload, timeout=timeout)
        else:
            response = session.get(target, timeout=timeout)
        check_response(response, "Sentinel Hub catalog search")
        page = response.json()
        for feature in page.get("features", []):
            yield feature
            count += 1
            if max_items is not None and count >= max_items:
                return
        following = _next_request(page, body)
        if following is None:
            return
        key = repr(following)
        if key in seen_pages:  # a server repeating itself would otherwise loop for ever
            raise ServiceError(f"Sentinel Hub catalog at {url} returned the same next page twice")
        seen_pages.add(key)
        method, target, payload = following
        if method == "POST" and not target:
            target = url


def _next_request(page: dict[str, Any], body: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """The request for the next page, from a ``rel: next`` link or ``context.next``."""
    for link in page.get("links", []) or []:
        if link.get("rel") != "next":
            continue
        method = str(link.get("method", "GET")).upper()
        if method == "POST":
            extra = link.get("body") or {}
            merged = {**body, **extra} if link.get("merge", True) else dict(extra)
            return "POST", link.get("href", ""), merged
        return "GET", link["href"], {}
    token = (page.get("context") or {}).get("next")
    if token is not None:
        return "POST", "", {**body, "next": token}
    return None


def process_body(
    bbox: Sequence[float],
    start: str,
    end: str,
    evalscript: str,
    width: int | None = None,
    height: int | None = None,
    resolution: float | None = None,
    bbox_crs_epsg: int = 4326,
    collection: str = S2L2A,
    max_cloud: float | None = None,
    mosaicking_order: str = "leastCC",
) -> dict[str, Any]:
    """JSON body of a Processing API request returning one GeoTIFF.

    Give either ``width``/``height`` in pixels or ``resolution`` in units of
    the bbox CRS (metres for EPSG:3035, so ``resolution=10`` gives 10 m pixels).
    """
    if (width is None) == (resolution is None):
        raise ValueError("give either width and height, or resolution (not both)")
    first, last = _datetime_range(start, end)
    data_filter: dict[str, Any] = {
        "timeRange": {"from": first, "to": last},
        "mosaickingOrder": mosaicking_order,
    }
    if max_cloud is not None:
        data_filter["maxCloudCoverage"] = float(max_cloud)
    output: dict[str, Any] = {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]}
    if width is not None:
        output["width"], output["height"] = int(width), int(height if height is not None else width)
    else:
        output["resx"], output["resy"] = float(resolution), float(resolution)
    return {
        "input": {
            "bounds": {
                "bbox": [float(v) for v in bbox],
                "properties": {"crs": _CRS_URI.format(epsg=bbox_crs_epsg)},
            },
            "data": [{"type": collection, "dataFilter": data_filter}],
        },
        "output": output,
        "evalscript": evalscript,
    }


def process_tiff(
    session: requests.Session,
    body: dict[str, Any],
    base_url: str = SH_BASE_URL,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> bytes:
    """POST a Processing API request; the GeoTIFF bytes of the answer."""
    url = base_url.rstrip("/") + PROCESS_PATH
    require_online(url, "the Sentinel Hub Processing API")
    response = session.post(url, json=body, headers={"Accept": "image/tiff"}, timeout=timeout)
    check_response(response, "Sentinel Hub process request")
    content_type = response.headers.get("Content-Type", "")
    if "tiff" not in content_type:
        raise ServiceError(
            f"Sentinel Hub process request returned {content_type or 'no content type'}, expected image/tiff"
        )
    return response.content


def process_array(
    session: requests.Session,
    body: dict[str, Any],
    base_url: str = SH_BASE_URL,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Run a Processing API request; ``(array (bands, rows, cols), rasterio profile)``.

    The GeoTIFF is opened in memory (``MemoryFile``), never written to disk.
    """
    content = process_tiff(session, body, base_url=base_url, timeout=timeout)
    with MemoryFile(content) as memfile, memfile.open() as dataset:
        return dataset.read(), dict(dataset.profile)

"""CLC+ Backbone labels from the EEA's ArcGIS ImageServer (``exportImage``).

The Copernicus Land Monitoring Service publishes CLC+ Backbone (10 m, EPSG:3035)
as one ImageServer per reference year. ``exportImage`` cuts any box out of it:
asking for exactly the tile's bounds in EPSG:3035 (``bboxSR`` and ``imageSR``)
and exactly one output pixel per 10 m (``size``) returns the label raster
aligned pixel for pixel with the Sentinel-2 tile. ``interpolation`` is set to
nearest neighbour: class codes must never be averaged. No account is needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import requests
from rasterio.io import MemoryFile

from landcover.classes import remap_raw_clcplus
from landcover.sources.http import DEFAULT_TIMEOUT, ServiceError, check_response, new_session, require_online

#: Root of the EEA's ArcGIS REST services (the real default).
CLCPLUS_BASE_URL = "https://copernicus.discomap.eea.europa.eu/arcgis/rest/services"
#: Service path of one reference year under the root.
CLCPLUS_SERVICE = "CLC_plus/CLMS_CLCplus_RASTER_{year}_010m_eu/ImageServer"
#: Reference years with a published CLC+ Backbone raster (there is no 2024 product).
CLCPLUS_YEARS: tuple[int, ...] = (2018, 2021, 2023)
#: Native pixel size of CLC+ Backbone, in metres (EPSG:3035).
CLCPLUS_RESOLUTION_M = 10.0
#: ArcGIS refuses exports larger than this many pixels a side (service limit, typically 4100).
MAX_EXPORT_PX = 4000


def export_image_url(year: int, base_url: str = CLCPLUS_BASE_URL) -> str:
    """URL of the ``exportImage`` operation of the CLC+ Backbone service for ``year``."""
    if int(year) not in CLCPLUS_YEARS:
        raise ValueError(f"year={year!r}: CLC+ Backbone exists for {', '.join(map(str, CLCPLUS_YEARS))} only")
    return f"{base_url.rstrip('/')}/{CLCPLUS_SERVICE.format(year=int(year))}/exportImage"


def _number(value: float) -> str:
    """``4012000`` rather than ``4012000.0``; decimals kept when there are any."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def export_params(
    bbox: Sequence[float], resolution: float = CLCPLUS_RESOLUTION_M, crs_epsg: int = 3035
) -> dict[str, str]:
    """Query parameters of an ``exportImage`` call returning a GeoTIFF of class codes.

    ``bbox`` is ``(xmin, ymin, xmax, ymax)`` in metres of ``crs_epsg``; its sides
    must be whole multiples of ``resolution`` so that the output pixels fall on
    the 10 m grid of the tile.
    """
    xmin, ymin, xmax, ymax = (float(v) for v in bbox)
    if xmax <= xmin or ymax <= ymin:
        raise ValueError(f"bbox={tuple(bbox)!r} is empty: expected (xmin, ymin, xmax, ymax) with xmin < xmax")
    width, height = (xmax - xmin) / resolution, (ymax - ymin) / resolution
    if not (float(width).is_integer() and float(height).is_integer()):
        raise ValueError(
            f"bbox={tuple(bbox)!r} is not a whole number of {resolution:g} m pixels ({width:g} x {height:g})"
        )
    if max(width, height) > MAX_EXPORT_PX:
        raise ValueError(
            f"bbox={tuple(bbox)!r} asks for {int(width)} x {int(height)} px; split it "
            f"into boxes of at most {MAX_EXPORT_PX} px a side"
        )
    return {
        "f": "image",
        "bbox": ",".join(_number(v) for v in (xmin, ymin, xmax, ymax)),
        "bboxSR": str(crs_epsg),
        "imageSR": str(crs_epsg),
        "size": f"{int(width)},{int(height)}",
        "format": "tiff",
        "pixelType": "U8",
        "interpolation": "RSP_NearestNeighbor",
    }


def fetch_raw_clcplus(
    bbox: Sequence[float],
    year: int,
    base_url: str = CLCPLUS_BASE_URL,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> np.ndarray:
    """Raw CLC+ Backbone codes (uint8, rows from north to south) for a box in EPSG:3035.

    Raises :class:`~landcover.sources.http.ServiceError` when the server answers
    with an error (ArcGIS often does so as JSON with status 200) or with an image
    of another size or place than asked.
    """
    url = export_image_url(year, base_url)
    params = export_params(bbox)
    require_online(url, "the CLC+ Backbone ImageServer")
    session = session or new_session()
    response = check_response(session.get(url, params=params, timeout=timeout), "CLC+ exportImage")
    content = response.content
    if content[:1] in (b"{", b"<") or "json" in response.headers.get("Content-Type", ""):
        raise ServiceError(f"CLC+ exportImage at {response.url} returned no image: {content[:300]!r}")
    width, height = (int(v) for v in params["size"].split(","))
    with MemoryFile(content) as memfile, memfile.open() as dataset:
        raw = dataset.read(1)
        if (dataset.width, dataset.height) != (width, height):
            raise ServiceError(
                f"CLC+ exportImage returned {dataset.width} x {dataset.height} px, "
                f"asked for {width} x {height}"
            )
        if dataset.crs is not None and dataset.transform is not None and not dataset.transform.is_identity:
            xmin, ymin, xmax, ymax = (float(v) for v in bbox)
            left, bottom, right, top = dataset.bounds
            tolerance = CLCPLUS_RESOLUTION_M / 2
            if max(abs(left - xmin), abs(bottom - ymin), abs(right - xmax), abs(top - ymax)) > tolerance:
                raise ServiceError(
                    f"CLC+ exportImage returned bounds {tuple(dataset.bounds)}, asked for {tuple(bbox)}"
                )
    return raw


def fetch_labels(
    bbox: Sequence[float],
    year: int,
    base_url: str = CLCPLUS_BASE_URL,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> np.ndarray:
    """The book's labels for a box: uint8 classes 1..10, 0 where CLC+ has none (254, 255, ...)."""
    raw = fetch_raw_clcplus(bbox, year, base_url=base_url, session=session, timeout=timeout)
    return remap_raw_clcplus(raw)

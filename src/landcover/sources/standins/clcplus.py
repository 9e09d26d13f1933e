"""Stand-in for the EEA's CLC+ Backbone ArcGIS ImageServer (``exportImage``).

``GET /arcgis/rest/services/CLC_plus/CLMS_CLCplus_RASTER_{year}_010m_eu/ImageServer/exportImage``
with the ArcGIS parameters ``bbox``, ``bboxSR``, ``imageSR``, ``size``, ``format``,
``pixelType``, ``interpolation`` and ``f``. With ``f=image`` and ``format=tiff`` it
answers a georeferenced uint8 GeoTIFF; like ArcGIS, a bad request or unknown
service is answered as JSON ``{"error": {"code": ..., "message": ...}}``.

Class codes come from :func:`synthetic_code` evaluated at each pixel centre
(EPSG:3035), so a test can predict the label of any pixel; it includes the raw
codes 254 (outside area) and 255 (no data) that the client must map to 0.
"""

from __future__ import annotations

import numpy as np
from affine import Affine
from rasterio.io import MemoryFile
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SERVICE_PATH = "/arcgis/rest/services/CLC_plus/CLMS_CLCplus_RASTER_{year}_010m_eu/ImageServer/exportImage"
YEARS = (2018, 2021, 2023)


def synthetic_code(x: np.ndarray, y: np.ndarray, year: int) -> np.ndarray:
    """Raw CLC+ codes at EPSG:3035 points: 500 m stripes of classes 1..11, some 254 and 255."""
    band = (np.floor(x / 500.0) + np.floor(y / 500.0) + (year % 7)).astype(np.int64)
    codes = (band % 11 + 1).astype(np.uint8)
    codes[(np.floor(x / 1000.0) % 9) == 4] = 254
    codes[(np.floor(y / 1000.0) % 13) == 6] = 255
    return codes


def _error(code: int, message: str, details: list[str] | None = None) -> JSONResponse:
    # ArcGIS answers errors with HTTP 200 and a JSON body.
    return JSONResponse({"error": {"code": code, "message": message, "details": details or []}})


class ClcPlusImageServer:
    """The ImageServer of each CLC+ year, over a synthetic but predictable map."""

    def __init__(self, years: tuple[int, ...] = YEARS) -> None:
        self.years = years
        self.requests: list[dict[str, str]] = []

    async def export_image(self, request: Request) -> Response:
        """``exportImage``: the synthetic map over the requested box as a uint8 GeoTIFF, or an ArcGIS error."""
        year = int(request.path_params["year"])
        params = dict(request.query_params)
        self.requests.append({"year": str(year), **params})
        if year not in self.years:
            return _error(404, f"Service CLC_plus/CLMS_CLCplus_RASTER_{year}_010m_eu/ImageServer not found")
        try:
            xmin, ymin, xmax, ymax = (float(v) for v in params["bbox"].split(","))
            width, height = (int(v) for v in params["size"].split(","))
        except (KeyError, ValueError):
            return _error(400, "Unable to complete operation.", ["Invalid or missing bbox/size"])
        if params.get("bboxSR") != "3035" or params.get("imageSR") != "3035":
            return _error(400, "Unable to complete operation.", ["This stand-in serves EPSG:3035 only"])
        if params.get("f") != "image" or params.get("format") != "tiff":
            return _error(400, "Unable to complete operation.", ["Use f=image and format=tiff"])
        if params.get("pixelType", "U8") != "U8":
            return _error(
                400, "Unable to complete operation.", [f"pixelType {params['pixelType']} unsupported"]
            )
        if not (0 < width <= 4100 and 0 < height <= 4100) or xmax <= xmin or ymax <= ymin:
            return _error(400, "Unable to complete operation.", ["Invalid size or extent"])
        xres, yres = (xmax - xmin) / width, (ymax - ymin) / height
        xs = xmin + (np.arange(width) + 0.5) * xres
        ys = ymax - (np.arange(height) + 0.5) * yres
        codes = synthetic_code(*np.meshgrid(xs, ys), year)
        profile = {
            "driver": "GTiff",
            "width": width,
            "height": height,
            "count": 1,
            "dtype": "uint8",
            "crs": "EPSG:3035",
            "transform": Affine((xmax - xmin) / width, 0, xmin, 0, -(ymax - ymin) / height, ymax),
        }
        with MemoryFile() as memfile:
            with memfile.open(**profile) as dataset:
                dataset.write(codes, 1)
            content = memfile.read()
        return Response(content, media_type="image/tiff")

    def app(self) -> Starlette:
        """The ASGI app answering at :data:`SERVICE_PATH` for every year."""
        path = SERVICE_PATH.replace("{year}", "{year:int}")
        return Starlette(routes=[Route(path, self.export_image, methods=["GET"])])


def expected_labels(
    bbox: tuple[float, float, float, float], year: int, resolution: float = 10.0
) -> np.ndarray:
    """The book's labels the stand-in implies for a box (after remapping 254/255/253 to 0, 11 to 9).

    ``bbox`` is ``(xmin, ymin, xmax, ymax)`` in EPSG:3035 metres; ``resolution`` in metres.
    """
    from landcover.classes import remap_raw_clcplus

    xmin, ymin, xmax, ymax = bbox
    xs = xmin + (np.arange(round((xmax - xmin) / resolution)) + 0.5) * resolution
    ys = ymax - (np.arange(round((ymax - ymin) / resolution)) + 0.5) * resolution
    return remap_raw_clcplus(synthetic_code(*np.meshgrid(xs, ys), year))

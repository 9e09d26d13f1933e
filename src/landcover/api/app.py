"""The FastAPI application: five GET endpoints over :class:`~landcover.api.service.LandcoverService`.

:func:`create_app` builds the app; the model is loaded once, when the server
starts (FastAPI lifespan), from the settings. Blocking work runs in threads,
predictions in the service's own small pool, so the event loop keeps
answering ``/health`` while a region is predicted. Known errors become 4xx
(bad parameter 422, nothing there 404) or 503 (data or storage unavailable),
each with a message that says what to change. Interactive documentation is
served at ``/docs``, the OpenAPI spec at ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from enum import IntEnum
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response

from landcover.api.schemas import (
    ErrorResponse,
    Health,
    ImageMatch,
    ImagePredictionResponse,
    NutsRegion,
    RegionPredictionResponse,
    ValidationErrorResponse,
)
from landcover.api.service import LandcoverService
from landcover.api.settings import ApiSettings
from landcover.api.validation import IMAGE_EXAMPLE, MAX_IMAGE_LENGTH, NotFoundError, ParameterError
from landcover.errors import DataFileError, OnlineAccessDisabled, PointOutsideTilesError, RegionNotFoundError

T = TypeVar("T")

TITLE = "Land-cover API"
DESCRIPTION = """Land cover of European NUTS3 regions predicted from Sentinel-2 tiles by a SegFormer model.

Points are `lon`, `lat` in WGS84 degrees. Areas are in km² (from the 10 m pixels of the prediction).
Polygons are GeoJSON FeatureCollections in EPSG:4326 (RFC 7946); ask `crs=3035` for EPSG:3035 metres.
Predictions are kept in a prediction store, keyed by model name, model version and tile, so a tile
is predicted once per model version. With the default data root every figure comes from the
**synthetic** data set, not from real observations.
"""


class PolygonCrs(IntEnum):
    """EPSG code of the polygons: 4326 (longitude, latitude; GeoJSON's own) or 3035 (metres)."""

    wgs84 = 4326
    laea_europe = 3035


Lon = Annotated[float, Query(ge=-180.0, le=180.0, description="Longitude, WGS84 degrees", examples=[6.13])]
Lat = Annotated[float, Query(ge=-90.0, le=90.0, description="Latitude, WGS84 degrees", examples=[49.61])]
Year = Annotated[int, Query(ge=1000, le=9999, description="Year of the tiles (2018, 2021, 2024)", examples=[2024])]
Crs = Annotated[PolygonCrs, Query(description="EPSG code of the polygons: 4326 (default) or 3035")]

#: Responses every endpoint may give besides its own (documented in the OpenAPI spec).
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Nothing there: no region, year, tile or point match"},
    422: {"model": ValidationErrorResponse, "description": "A malformed parameter"},
    503: {"model": ErrorResponse, "description": "Data, outlines or storage unavailable"},
}


def _service(request: Request) -> LandcoverService:
    return request.app.state.service


async def _predicting(request: Request, function: Callable[..., T], *args: Any) -> T:
    """Run a blocking prediction in the service's pool, keeping the event loop free."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_service(request).executor, functools.partial(function, *args))


def _json(text: str) -> Response:
    """An ``application/json`` response from already-serialised JSON."""
    return Response(content=text, media_type="application/json")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": message})


def add_error_handlers(app: FastAPI) -> None:
    """Map the package's known errors to 4xx and 503 answers with their messages."""

    async def bad_parameter(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ParameterError)
        item = {"loc": ["query", error.parameter], "msg": str(error), "type": "value_error"}
        return JSONResponse(status_code=422, content={"detail": [item]})

    async def not_found(request: Request, error: Exception) -> JSONResponse:
        return _error(404, str(error) or "not found")

    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        return _error(503, f"{type(error).__name__}: {error}")

    app.add_exception_handler(ParameterError, bad_parameter)
    for kind in (NotFoundError, RegionNotFoundError, PointOutsideTilesError, FileNotFoundError):
        app.add_exception_handler(kind, not_found)
    for kind in (OnlineAccessDisabled, DataFileError, OSError):
        app.add_exception_handler(kind, unavailable)


def create_app(settings: ApiSettings | None = None, *, service: LandcoverService | None = None) -> FastAPI:
    """The land-cover API.

    Parameters
    ----------
    settings : ApiSettings, optional
        Data root, model, prediction store (default :meth:`ApiSettings.from_env`).
        Read when the server starts, which is when the model is loaded.
    service : LandcoverService, optional
        An already built service (its model loaded); ``settings`` is then unused.

    Returns
    -------
    fastapi.FastAPI
        The app; serve it with uvicorn (``python -m landcover.api``).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = service
        if running is None:
            running = await run_in_threadpool(LandcoverService, settings or ApiSettings.from_env())
        app.state.service = running
        with contextlib.suppress(Exception):  # an unreadable file is reported by the first request that needs it
            await run_in_threadpool(running.outlines)  # the look-ups below then never read files on the event loop
        try:
            yield
        finally:
            await run_in_threadpool(running.close)

    app = FastAPI(title=TITLE, description=DESCRIPTION, version="1.0", lifespan=lifespan)
    add_error_handlers(app)
    # Region polygons run to megabytes of JSON; fast compression (level 1) shrinks them about 3 times.
    app.add_middleware(GZipMiddleware, minimum_size=4096, compresslevel=1)

    @app.get("/health", response_model=Health, responses={503: ERRORS[503]})
    def health(request: Request) -> Health:
        """The server is up: its model (name, version), data root, prediction store and counts."""
        return _service(request).health()

    # The two look-ups answer in well under a millisecond once the outlines and indexes are loaded
    # (a spatial index, one NumPy comparison), so they run on the event loop: a hop to the thread
    # pool would cost more than the work, and under many clients it is what makes the tail slow.
    @app.get("/find_nuts", response_model=NutsRegion, responses=ERRORS)
    async def find_nuts(request: Request, lon: Lon, lat: Lat) -> NutsRegion:
        """The NUTS3 region holding a point: its code, name and the years with tiles."""
        return _service(request).find_nuts(lon, lat)

    @app.get("/find_image", response_model=ImageMatch, responses=ERRORS)
    async def find_image(request: Request, lon: Lon, lat: Lat, year: Year) -> ImageMatch:
        """The tile of a year under a point: its path relative to the images folder and its box (EPSG:3035)."""
        return _service(request).find_image(lon, lat, year)

    @app.get("/predict_image", response_model=ImagePredictionResponse, responses=ERRORS)
    async def predict_image(
        request: Request,
        image: Annotated[str, Query(
            max_length=MAX_IMAGE_LENGTH, examples=[IMAGE_EXAMPLE],
            description="Tile path relative to the images folder, {NUTS3}/{year}/{stem}.tif, as /find_image gives it",
        )],
        polygons: Annotated[bool, Query(description="Also return the tile's class polygons")] = False,
        crs: Crs = PolygonCrs.wgs84,
    ) -> Response:
        """Class areas (km², shares) of one tile, predicted once per model version; polygons on request."""
        service = _service(request)
        # An answer given before is served from memory on the event loop; only the others need a thread.
        answer = service.remembered_image_answer(image, polygons, int(crs))
        if answer is None:
            answer = await _predicting(request, service.predict_image, image, polygons, int(crs))
        return _json(answer)

    @app.get("/predict_nuts", response_model=RegionPredictionResponse, responses=ERRORS)
    async def predict_nuts(
        request: Request,
        nuts: Annotated[str, Query(max_length=12, examples=["LU000"], description="NUTS3 code")],
        year: Year,
        crs: Crs = PolygonCrs.wgs84,
        simplify: Annotated[float, Query(
            ge=0.0, le=1000.0, description="Simplification tolerance of the polygons, metres (0: pixel edges)",
        )] = 10.0,
        min_patch: Annotated[int, Query(
            ge=0, le=10_000,
            description="Polygons only: merge patches smaller than this many pixels into their neighbours "
            "(a minimum mapping unit for maps; 0: none). Areas are always those of the unsieved map.",
        )] = 0,
    ) -> Response:
        """Class areas over every tile of a region and year, and one dissolved, simplified polygon per class."""
        return _json(await _predicting(
            request, _service(request).predict_nuts, nuts, year, int(crs), simplify, min_patch
        ))

    return app

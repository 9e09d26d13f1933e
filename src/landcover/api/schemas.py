"""The JSON the API answers with, as pydantic models: they document the responses in the OpenAPI spec.

Areas are in square kilometres, computed from the pixels of the prediction
(10 m x 10 m = 0.0001 km² each on the contract's grid). Bounds are
``(xmin, ymin, xmax, ymax)`` in EPSG:3035 metres. GeoJSON FeatureCollections
are JSON objects (never strings inside JSON), in EPSG:4326 with longitude
first, as RFC 7946 requires, unless ``crs=3035`` was asked for.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorItem(BaseModel):
    """One problem with a request: where (``["query", "image"]``), what, and its kind."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    """A malformed request (HTTP 422): one item per bad parameter."""

    detail: list[ErrorItem]


class ErrorResponse(BaseModel):
    """A request the API cannot answer (HTTP 404 or 503): what is missing or unavailable."""

    detail: str


class ModelInfo(BaseModel):
    """The model every prediction of this server comes from."""

    name: str = Field(description="Registered model name")
    version: str = Field(description="Registry version, else the MLflow run id")
    cache_version: str = Field(description="Version part of the prediction store's key")
    run_id: str | None = Field(description="MLflow run that logged the model")
    module_name: str = Field(description="Architecture recorded in params.json")
    tiles_size: int = Field(description="Tile size in pixels the model was trained on")


class DataRootInfo(BaseModel):
    """Where the tiles are read from."""

    kind: Literal["local", "https", "http", "s3"]
    location: str
    regions: list[str] = Field(description="NUTS3 regions with tiles")


class StoreInfo(BaseModel):
    """The prediction store and what this process did with it since it started."""

    kind: Literal["local", "s3"]
    location: str
    tiles_computed: int = Field(description="Tiles the model predicted since start-up")
    tiles_from_store: int = Field(description="Tile predictions read from the store since start-up")


class Health(BaseModel):
    """``/health``: the server is up, with its model, data and store."""

    status: Literal["ok"]
    model: ModelInfo
    data_root: DataRootInfo
    prediction_store: StoreInfo


class NutsRegion(BaseModel):
    """The NUTS3 region of a point."""

    nuts: str = Field(description="NUTS3 code", examples=["LU000"])
    name: str = Field(description="Region name (NUTS_NAME)")
    country: str | None = Field(description="Country code (CNTR_CODE)")
    years: list[int] = Field(description="Years with tiles for the region (empty: no data)")


class Bounds(BaseModel):
    """A box in EPSG:3035 metres."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float


class ImageMatch(BaseModel):
    """The tile under a point."""

    nuts: str
    year: int
    image: str = Field(description="Path relative to the images folder; pass it to /predict_image",
                       examples=["LU000/2024/4042000_2951690_0_637.tif"])
    bounds: Bounds = Field(description="Tile box, EPSG:3035 metres")
    crs: Literal["EPSG:3035"] = "EPSG:3035"


class ClassArea(BaseModel):
    """The predicted area of one land-cover class."""

    id: int = Field(description="Class id, 1..10")
    name: str
    pixels: int
    area_km2: float
    share: float = Field(description="Fraction of the classified area (0..1)")


class AreaSummary(BaseModel):
    """Per-class areas of a prediction, with the area that got no class."""

    classes: list[ClassArea]
    classified_km2: float
    nodata_km2: float
    pixel_area_m2: float


class CacheInfo(BaseModel):
    """How this answer was made: tiles predicted now, tiles read from the prediction store."""

    tiles: int
    computed: int
    from_store: int


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection (a JSON object); features carry ``class_id``, ``class_name`` and ``area_km2`` (km², pixel-exact)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]


class PredictedModel(BaseModel):
    """The name and version of the model behind an answer."""

    name: str
    version: str


class ImagePredictionResponse(BaseModel):
    """``/predict_image``: class areas of one tile, and its polygons on request."""

    image: str
    nuts: str
    year: int
    model: PredictedModel
    bounds: Bounds
    areas: AreaSummary
    cache: CacheInfo
    crs: Literal["EPSG:4326", "EPSG:3035"] = Field(description="CRS of the polygons")
    polygons: FeatureCollection | None = Field(description="The tile's class polygons, when asked")


class RegionPredictionResponse(BaseModel):
    """``/predict_nuts``: class areas over a region's tiles and its dissolved, simplified polygons."""

    nuts: str
    year: int
    model: PredictedModel
    bounds: Bounds = Field(description="Box of the region's tiles, EPSG:3035 metres")
    areas: AreaSummary = Field(description="Areas over the region's tiles (not clipped to the NUTS3 outline)")
    cache: CacheInfo
    crs: Literal["EPSG:4326", "EPSG:3035"]
    simplify_m: float = Field(description="Simplification tolerance used, metres")
    min_patch_px: int = Field(0, description="Smallest patch kept in the polygons, pixels (0: all)")
    polygons: FeatureCollection = Field(description="One feature per class present, dissolved and simplified")

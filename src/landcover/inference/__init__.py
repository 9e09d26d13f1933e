"""Applying the segmentation model (chapter 3 of the book): the model contract, without training.

- :mod:`~landcover.inference.params`: ``params.json``, the parameters a
  prediction needs besides the weights (:func:`load_params`, :func:`parse_params`);
- :mod:`~landcover.inference.loading`: the published model under the data root
  (:func:`published_model_location`, :func:`load_published_model`);
- :mod:`~landcover.inference.logits`: the forward pass shared with training
  (:func:`forward_logits`, :func:`model_logits`);
- :mod:`~landcover.inference.predict`: :func:`predict_tile`, which reproduces a
  prediction from the parameters and the MLflow model;
- :mod:`~landcover.inference.model`: :func:`load_model`, one call for the
  registry, a model folder or the published layout, returning a
  :class:`LoadedModel` that knows its ``name`` and ``version``;
- :mod:`~landcover.inference.windows` and :mod:`~landcover.inference.prediction`:
  :func:`predict` for images of any size (overlapping, blended windows, batched);
- :mod:`~landcover.inference.scenes`: :func:`predict_scene` for large rasters, read window by window;
- :mod:`~landcover.inference.regions`: :func:`predict_region`, every tile of a region
  and year as one mosaic;
- :mod:`~landcover.inference.cache`: :class:`PredictionStore`, predictions keyed by
  model name, model version and image;
- :mod:`~landcover.inference.polygons`: class polygons from a mask (real transform,
  EPSG:3035), dissolved and simplified for regions, GeoJSON in EPSG:4326;
- :mod:`~landcover.inference.export`: the class mask as a Cloud-Optimised GeoTIFF with a
  colour table, an overview COG, GeoParquet polygons and a STAC Catalog and Item.

Training builds on this package, never the reverse.
"""

from landcover.inference.cache import (
    PREDICTION_STORE_VARIABLE,
    CachedPrediction,
    ModelKey,
    PredictionStore,
    model_key,
    prediction_store_location,
)
from landcover.inference.distributed import predict_region_distributed
from landcover.inference.export import (
    PredictionExport,
    downsample_mask,
    export_prediction,
    save_catalog,
    stac_catalog,
    stac_item,
    validate_cog,
    validate_stac,
    write_class_cog,
    write_overview_cog,
    write_polygons_parquet,
)
from landcover.inference.loading import (
    MODEL_NAME,
    LoadedModel,
    PublishedModel,
    load_published_model,
    published_model_location,
)
from landcover.inference.logits import LogitsModel, forward_logits, model_logits
from landcover.inference.model import load_model
from landcover.inference.params import PARAM_KEYS, ModelParams, load_params, params_from_run, parse_params
from landcover.inference.polygons import (
    class_areas_km2,
    class_polygons_for_region,
    create_geojson_from_mask,
    dissolve_by_class,
    mask_to_geojson,
    sieve_mask,
    simplify_polygons,
    to_geojson,
)
from landcover.inference.predict import logits_to_labels, predict_tile, preprocess
from landcover.inference.prediction import ImagePrediction, predict
from landcover.inference.regions import RegionPrediction, TileEntry, predict_region, region_grid
from landcover.inference.scenes import ScenePrediction, predict_scene, write_mask_geotiff
from landcover.inference.windows import PixelWindow, blend_weights, image_windows, window_starts

__all__ = [
    "MODEL_NAME",
    "PARAM_KEYS",
    "PREDICTION_STORE_VARIABLE",
    "CachedPrediction",
    "ImagePrediction",
    "LoadedModel",
    "LogitsModel",
    "ModelKey",
    "ModelParams",
    "PixelWindow",
    "PredictionExport",
    "PredictionStore",
    "PublishedModel",
    "RegionPrediction",
    "ScenePrediction",
    "TileEntry",
    "blend_weights",
    "class_areas_km2",
    "class_polygons_for_region",
    "create_geojson_from_mask",
    "dissolve_by_class",
    "downsample_mask",
    "export_prediction",
    "forward_logits",
    "image_windows",
    "load_model",
    "load_params",
    "load_published_model",
    "logits_to_labels",
    "mask_to_geojson",
    "model_key",
    "model_logits",
    "params_from_run",
    "parse_params",
    "predict",
    "predict_region",
    "predict_region_distributed",
    "predict_scene",
    "predict_tile",
    "prediction_store_location",
    "preprocess",
    "published_model_location",
    "region_grid",
    "save_catalog",
    "sieve_mask",
    "simplify_polygons",
    "stac_catalog",
    "stac_item",
    "to_geojson",
    "validate_cog",
    "validate_stac",
    "window_starts",
    "write_class_cog",
    "write_mask_geotiff",
    "write_overview_cog",
    "write_polygons_parquet",
]

"""Applying the segmentation model (chapter 3 of the book).

- :mod:`~landcover.inference.predict`: ``params.json`` handling and
  :func:`predict_tile`, which reproduces a prediction from the parameters and
  the MLflow model;
- :func:`published_model_location` / :func:`load_published_model`: the
  pre-trained model published under the data root (``make model``) or, on the
  real bucket, the model published with the data.
"""

from landcover.inference.predict import (
    PARAM_KEYS,
    load_params,
    logits_to_labels,
    params_from_run,
    parse_params,
    predict_tile,
    preprocess,
)
from landcover.training.publish import PublishedModel, load_published_model, published_model_location

__all__ = [
    "PARAM_KEYS",
    "PublishedModel",
    "load_params",
    "load_published_model",
    "logits_to_labels",
    "params_from_run",
    "parse_params",
    "predict_tile",
    "preprocess",
    "published_model_location",
]

"""Applying the segmentation model (chapter 3 of the book): the model contract, without training.

- :mod:`~landcover.inference.params`: ``params.json``, the parameters a
  prediction needs besides the weights (:func:`load_params`, :func:`parse_params`);
- :mod:`~landcover.inference.loading`: the published model under the data root
  (:func:`published_model_location`, :func:`load_published_model`);
- :mod:`~landcover.inference.logits`: the forward pass shared with training
  (:func:`forward_logits`, :func:`model_logits`);
- :mod:`~landcover.inference.predict`: :func:`predict_tile`, which reproduces a
  prediction from the parameters and the MLflow model.

Training builds on this package, never the reverse.
"""

from landcover.inference.loading import (
    LoadedModel,
    PublishedModel,
    load_published_model,
    published_model_location,
)
from landcover.inference.logits import LogitsModel, forward_logits, model_logits
from landcover.inference.params import PARAM_KEYS, ModelParams, load_params, params_from_run, parse_params
from landcover.inference.predict import logits_to_labels, predict_tile, preprocess

__all__ = [
    "PARAM_KEYS",
    "LoadedModel",
    "LogitsModel",
    "ModelParams",
    "PublishedModel",
    "forward_logits",
    "load_params",
    "load_published_model",
    "logits_to_labels",
    "model_logits",
    "params_from_run",
    "parse_params",
    "predict_tile",
    "preprocess",
    "published_model_location",
]

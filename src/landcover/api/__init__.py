"""The land-cover API (chapter 5 of the book): find regions and tiles, predict them, cache the predictions.

- :mod:`~landcover.api.app`: :func:`create_app`, the FastAPI application
  (``/health``, ``/find_nuts``, ``/find_image``, ``/predict_image``, ``/predict_nuts``);
- :mod:`~landcover.api.service`: :class:`LandcoverService`, what the endpoints do, without HTTP;
- :mod:`~landcover.api.settings`: :class:`ApiSettings`, from environment variables;
- :mod:`~landcover.api.schemas`: the response models (the OpenAPI spec);
- :mod:`~landcover.api.validation`: parameter checks, above all of the ``image`` path;

Serve it with ``python -m landcover.api`` (or ``make api``): 127.0.0.1:8000, docs at ``/docs``.
"""

from landcover.api.app import create_app
from landcover.api.service import LandcoverService
from landcover.api.settings import ApiSettings

__all__ = ["ApiSettings", "LandcoverService", "create_app"]

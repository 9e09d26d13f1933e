"""The API's settings: which data, which model, where predictions are kept, where to listen.

Each setting has an environment variable (also read from ``.env``, which
:mod:`landcover.config` loads on import), so the same image runs on the
synthetic data or the real bucket by changing variables only:

==============================  ==========================================================
``LANDCOVER_DATA_ROOT``         data root (local folder, ``https://`` or ``s3://``)
``LANDCOVER_MODEL``             model: registry URI (``models:/name/1``), a local model
                                folder, a published run, a data root; unset: the model
                                published under the data root
``LANDCOVER_PREDICTION_STORE``  prediction store (folder or ``s3://``); unset: chosen
                                from the data root (:mod:`landcover.inference.cache`)
``API_HOST`` / ``API_PORT``     address to listen on (``127.0.0.1:8000``)
``API_PREDICTION_WORKERS``      threads running predictions (2)
``API_ANSWER_CACHE_MB``         memory for finished tile answers, MB (64; 0: none)
==============================  ==========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from landcover.config import data_root

#: Environment variables read by :meth:`ApiSettings.from_env`.
MODEL_VARIABLE = "LANDCOVER_MODEL"
STORE_VARIABLE = "LANDCOVER_PREDICTION_STORE"
HOST_VARIABLE = "API_HOST"
PORT_VARIABLE = "API_PORT"
WORKERS_VARIABLE = "API_PREDICTION_WORKERS"
ANSWER_CACHE_VARIABLE = "API_ANSWER_CACHE_MB"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_WORKERS = 2
#: Tiles per forward pass of the model.
DEFAULT_BATCH_SIZE = 8
#: Region responses (areas and polygons) kept in memory, per model, region, year and options.
DEFAULT_REGION_CACHE = 32
#: Megabytes of finished ``/predict_image`` answers kept in memory (a tile's areas are about
#: 2 kB of JSON, with polygons some 100 kB): repeated requests skip the store and the threads.
DEFAULT_ANSWER_CACHE_MB = 64


def _integer(value: str | None, name: str, default: int, minimum: int, maximum: int) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]``, or ``default`` when empty; a ``ValueError`` names ``name``."""
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number") from None
    if not minimum <= number <= maximum:
        raise ValueError(f"{name}={number} must be between {minimum} and {maximum}")
    return number


@dataclass(frozen=True)
class ApiSettings:
    """Everything the API needs to start; see the module docstring for the variables.

    Parameters
    ----------
    data_root : str
        Data root the tiles, tile indexes and NUTS3 outlines are read from.
    model : str or None
        Where the model is loaded from (:func:`landcover.inference.model.load_model`);
        ``None``: the model published under ``data_root``.
    prediction_store : str or None
        Folder or ``s3://`` prefix of the prediction store; ``None``: the
        default for ``data_root``.
    host, port : str, int
        Address the server listens on.
    prediction_workers : int
        Threads that run predictions, so a burst of requests cannot start
        more forward passes than the machine has cores for.
    batch_size : int
        Tiles per forward pass.
    region_cache_size : int
        Region responses kept in memory (0 turns this cache off).
    answer_cache_mb : int
        Megabytes of finished tile answers kept in memory (0 turns this cache off).
    """

    data_root: str = field(default_factory=data_root)
    model: str | None = None
    prediction_store: str | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    prediction_workers: int = DEFAULT_WORKERS
    batch_size: int = DEFAULT_BATCH_SIZE
    region_cache_size: int = DEFAULT_REGION_CACHE
    answer_cache_mb: int = DEFAULT_ANSWER_CACHE_MB

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port={self.port} must be between 0 and 65535")
        if self.prediction_workers < 1:
            raise ValueError(f"prediction_workers={self.prediction_workers} must be at least 1")
        if self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size} must be at least 1")
        if self.region_cache_size < 0:
            raise ValueError(f"region_cache_size={self.region_cache_size} must not be negative")
        if self.answer_cache_mb < 0:
            raise ValueError(f"answer_cache_mb={self.answer_cache_mb} must not be negative")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> ApiSettings:
        """Settings from environment variables; keyword ``overrides`` that are not ``None`` win.

        Raises
        ------
        ValueError
            When a variable holds an unusable value (the message names it).
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            "model": env.get(MODEL_VARIABLE, "").strip() or None,
            "prediction_store": env.get(STORE_VARIABLE, "").strip() or None,
            "host": env.get(HOST_VARIABLE, "").strip() or DEFAULT_HOST,
            "port": _integer(env.get(PORT_VARIABLE), PORT_VARIABLE, DEFAULT_PORT, 0, 65535),
            "prediction_workers": _integer(env.get(WORKERS_VARIABLE), WORKERS_VARIABLE, DEFAULT_WORKERS, 1, 64),
            "answer_cache_mb": _integer(
                env.get(ANSWER_CACHE_VARIABLE), ANSWER_CACHE_VARIABLE, DEFAULT_ANSWER_CACHE_MB, 0, 65_536
            ),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        if "data_root" not in values:
            values["data_root"] = data_root()
        return cls(**values)  # type: ignore[arg-type]

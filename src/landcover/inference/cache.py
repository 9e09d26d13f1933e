"""A store of predictions, keyed by model and image, so a tile is predicted once per model version.

Layout (local folder or ``s3://``)::

    {store}/{model name}/{model version}/{rules}/{NUTS3}/{year}/{stem}.npy              uint8 mask (H, W)
    {store}/{model name}/{model version}/{rules}/{NUTS3}/{year}/{stem}.probability.npy  float32 (H, W), when asked

The version part is :attr:`~landcover.inference.loading.LoadedModel.cache_version`
(registry version plus the logged model's id), so a new model never serves an
old prediction; the rules part is :data:`landcover.clouds.CLOUD_RULES_VERSION`,
the version of the cloud and shadow tests whose pixels a stored mask holds as
nodata, so changing those tests never serves masks made with the old ones. Files are written atomically (:func:`landcover.storage.write_bytes_atomic`);
within one process, concurrent requests for the same image wait on a per-key
lock and the image is computed once.

Where the store is (:func:`prediction_store_location`): the setting
``LANDCOVER_PREDICTION_STORE`` (environment or ``.env``) when set; otherwise
``<data root>/predictions`` for a local data root, and
``<cache dir>/predictions`` (:func:`landcover.config.cache_dir`) for a remote
one, which is read-only over HTTPS.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from landcover.clouds import CLOUD_RULES_VERSION
from landcover.config import cache_dir, data_root, is_remote, project_root
from landcover.data.paths import join, tile_stem, validate_nuts, validate_year
from landcover.inference.loading import LoadedModel
from landcover.storage import read_bytes, scheme_of, write_bytes_atomic

#: Setting that chooses the prediction store (a local folder or ``s3://bucket/prefix``).
PREDICTION_STORE_VARIABLE = "LANDCOVER_PREDICTION_STORE"
#: Folder of the store under a local data root or under the cache folder.
PREDICTIONS_DIR = "predictions"
PROBABILITY_SUFFIX = ".probability"

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ModelKey(NamedTuple):
    """The model part of a cache key: registered name and version (both safe as folder names)."""

    name: str
    version: str


class CachedPrediction(NamedTuple):
    """A stored prediction: the mask and, when it was stored, the probability."""

    mask: np.ndarray
    probability: np.ndarray | None


def prediction_store_location(root: str | None = None) -> str:
    """Where predictions are stored: the setting, else ``<root>/predictions`` (local) or the cache folder.

    Parameters
    ----------
    root : str, optional
        The data root (default: the active one).

    Raises
    ------
    ValueError
        When ``LANDCOVER_PREDICTION_STORE`` is an ``http(s)://`` URL (nothing can be written there).
    """
    configured = os.environ.get(PREDICTION_STORE_VARIABLE, "").strip()
    if configured:
        if scheme_of(configured) in ("http", "https"):
            raise ValueError(
                f"{PREDICTION_STORE_VARIABLE}={configured!r}: predictions must be written, so use a local "
                "folder or an s3:// prefix, not an HTTP URL"
            )
        if is_remote(configured):
            return configured.rstrip("/")
        path = Path(configured).expanduser()
        return str(path if path.is_absolute() else project_root() / path)
    root = data_root() if root is None else os.fspath(root)
    if not is_remote(root):
        return str(Path(root) / PREDICTIONS_DIR)
    return str(cache_dir() / PREDICTIONS_DIR)


def model_key(model: LoadedModel | ModelKey | tuple[str, str]) -> ModelKey:
    """The name and version a prediction of ``model`` is stored under.

    Raises
    ------
    TypeError
        When ``model`` carries no identity (a bare pyfunc or PyTorch model):
        load it with :func:`~landcover.inference.model.load_model`, or give
        ``(name, version)``.
    ValueError
        When the name or version cannot be a folder name.
    """
    if isinstance(model, LoadedModel):
        name, version = model.name, model.cache_version
    elif isinstance(model, tuple) and len(model) == 2 and all(isinstance(v, str) for v in model):
        name, version = model
    else:
        raise TypeError(
            f"model={type(model).__name__}: a cached prediction needs the model's name and version; "
            "load it with landcover.inference.load_model() or pass cache=False"
        )
    return ModelKey(_segment(name, "model name"), _segment(version, "model version"))


def _segment(value: str, what: str) -> str:
    """``value`` when it is safe as one folder name (letters, digits, ``.``, ``_``, ``-``)."""
    text = str(value)
    if not _SEGMENT.match(text) or text in {".", ".."}:
        raise ValueError(f"{what} {text!r} cannot name a folder of the prediction store (letters, digits, . _ -)")
    return text


class _KeyLock:
    """A lock that can be referenced weakly, so the table of per-key locks does not grow for ever."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()


_locks: weakref.WeakValueDictionary[str, _KeyLock] = weakref.WeakValueDictionary()
_locks_guard = threading.Lock()


def _key_lock(key: str) -> _KeyLock:
    with _locks_guard:
        found = _locks.get(key)
        if found is None:
            found = _KeyLock()
            _locks[key] = found
        return found


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class PredictionStore:
    """Predictions on a local folder or under an ``s3://`` prefix (see the module docstring).

    Parameters
    ----------
    location : str or os.PathLike, optional
        The store's folder or ``s3://`` prefix (default:
        :func:`prediction_store_location` of ``root``).
    root : str, optional
        The data root that decides the default location.
    """

    def __init__(self, location: str | os.PathLike[str] | None = None, *, root: str | None = None) -> None:
        text = prediction_store_location(root) if location is None else os.fspath(location)
        if scheme_of(text) in ("http", "https"):
            raise ValueError(f"location={text!r}: a prediction store must be writable (a folder or s3://)")
        self.location = text.rstrip("/") if is_remote(text) else str(Path(text).expanduser())

    def __repr__(self) -> str:
        return f"PredictionStore({self.location!r})"

    def path(
        self, model: LoadedModel | ModelKey | tuple[str, str], nuts: str, year: int | str, stem: str,
        *, probability: bool = False,
    ) -> str:
        """Location of one stored mask (or probability, with ``probability=True``)."""
        key = model_key(model)
        name = tile_stem(stem) + (PROBABILITY_SUFFIX if probability else "") + ".npy"
        return join(
            self.location, key.name, key.version, CLOUD_RULES_VERSION, validate_nuts(nuts), validate_year(year), name
        )

    def _read(self, path: str, dtype: type) -> np.ndarray | None:
        try:
            data = read_bytes(path)
        except FileNotFoundError:
            return None
        try:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            warnings.warn(f"ignoring unreadable cached prediction {path}: {error}", stacklevel=3)
            return None
        if array.dtype != dtype or array.ndim != 2:
            warnings.warn(f"ignoring cached prediction {path}: {array.dtype} {array.shape}, "
                          f"expected {np.dtype(dtype)} (rows, cols)", stacklevel=3)
            return None
        return array

    def load(
        self, model: LoadedModel | ModelKey | tuple[str, str], nuts: str, year: int | str, stem: str,
        *, probability: bool = False,
    ) -> CachedPrediction | None:
        """The stored prediction, or ``None`` when absent (or stored without the probability asked for)."""
        mask = self._read(self.path(model, nuts, year, stem), np.uint8)
        if mask is None:
            return None
        if not probability:
            return CachedPrediction(mask, None)
        proba = self._read(self.path(model, nuts, year, stem, probability=True), np.float32)
        if proba is None or proba.shape != mask.shape:
            return None
        return CachedPrediction(mask, proba)

    def save(
        self, model: LoadedModel | ModelKey | tuple[str, str], nuts: str, year: int | str, stem: str,
        mask: np.ndarray, probability: np.ndarray | None = None,
    ) -> str:
        """Store a mask (uint8 ``(H, W)``) and optionally its probability; returns the mask's location.

        The probability is written first and the mask last, so a reader that
        finds the mask finds a complete entry.

        Raises
        ------
        ValueError
            When ``mask`` is not a 2-D uint8 array or ``probability`` does not match it.
        """
        mask = np.asarray(mask)
        if mask.dtype != np.uint8 or mask.ndim != 2:
            raise ValueError(f"mask must be uint8 (rows, cols), got {mask.dtype} {mask.shape}")
        if probability is not None:
            proba = np.asarray(probability, dtype=np.float32)
            if proba.shape != mask.shape:
                raise ValueError(f"probability has shape {proba.shape}, the mask {mask.shape}")
            write_bytes_atomic(self.path(model, nuts, year, stem, probability=True), _npy_bytes(proba))
        return write_bytes_atomic(self.path(model, nuts, year, stem), _npy_bytes(mask))

    @contextlib.contextmanager
    def locked(
        self, model: LoadedModel | ModelKey | tuple[str, str], images: Iterable[tuple[str, int | str, str]]
    ) -> Iterator[None]:
        """Hold the in-process locks of several ``(nuts, year, stem)`` images (taken in sorted order).

        Taking them in one order means two threads that need overlapping sets
        of images cannot deadlock.
        """
        keys = sorted({self.path(model, nuts, year, stem) for nuts, year, stem in images})
        locks = [_key_lock(key) for key in keys]
        taken: list[_KeyLock] = []
        try:
            for lock in locks:
                lock.lock.acquire()
                taken.append(lock)
            yield
        finally:
            for lock in reversed(taken):
                lock.lock.release()

    def get_or_compute(
        self,
        model: LoadedModel | ModelKey | tuple[str, str],
        nuts: str,
        year: int | str,
        stem: str,
        compute: Callable[[], Any],
        *,
        probability: bool = False,
    ) -> tuple[CachedPrediction, bool]:
        """The stored prediction of an image, computing and storing it first when absent.

        ``compute()`` returns a dict with ``mask`` (and ``probability`` when
        asked), e.g. :func:`~landcover.inference.prediction.predict` output.
        Concurrent calls for the same key in this process wait for the first
        one and then read its result, so ``compute`` runs once. Returns the
        prediction and whether it was computed now.
        """
        found = self.load(model, nuts, year, stem, probability=probability)
        if found is not None:
            return found, False
        with self.locked(model, [(nuts, year, stem)]):
            found = self.load(model, nuts, year, stem, probability=probability)
            if found is not None:
                return found, False
            result = compute()
            proba = result.get("probability") if probability else None
            self.save(model, nuts, year, stem, result["mask"], proba)
            return CachedPrediction(np.asarray(result["mask"]), proba), True


def resolve_store(cache: PredictionStore | str | os.PathLike[str] | bool | None, root: str | None = None) -> PredictionStore | None:
    """The store a ``cache=`` argument names: ``True`` the default one, ``False``/``None`` none, else that one."""
    if cache is None or cache is False:
        return None
    if cache is True:
        return PredictionStore(root=root)
    if isinstance(cache, PredictionStore):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return PredictionStore(cache)
    raise TypeError(f"cache={cache!r}: expected True, False, a PredictionStore, a folder or an s3:// prefix")

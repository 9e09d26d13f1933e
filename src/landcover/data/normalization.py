"""Per-band normalisation statistics: the one :class:`Normalization` of data, training and inference.

A model sees ``(pixel - mean) / std`` band by band; using other statistics than
the ones it was trained with gives plausible-looking but wrong predictions. The
same statistics therefore appear in three places, all read into this one type:
the ``metrics-normalization.yaml`` of a region and year (published with the
data), the statistics training computes over its tiles, and the
``normalization_mean`` / ``normalization_std`` lists of a model's ``params.json``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from landcover.bands import N_BANDS
from landcover.config import is_remote
from landcover.data.paths import NORMALIZATION_FILENAME, normalization_path, validate_nuts, validate_year
from landcover.errors import DataFileError
from landcover.storage import read_text

#: Keys of the statistics in ``params.json`` (and in the MLflow run parameters).
PARAMS_MEAN_KEY = "normalization_mean"
PARAMS_STD_KEY = "normalization_std"


def _frozen_vector(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    try:
        array = np.array(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as error:
        raise ValueError(f"normalisation {name} must be a list of numbers, got {values!r}") from error
    array.setflags(write=False)
    return array


class Normalization:
    """Per-band mean and standard deviation, in reflectance units (bands in file order).

    Build one from two sequences of numbers, one value per band; both are kept
    as read-only float64 arrays, and the object itself cannot be changed (a
    model's statistics must not drift after training). It unpacks as
    ``mean, std = normalization`` and compares equal by value.

    Raises
    ------
    ValueError
        When ``mean`` and ``std`` differ in length, hold a non-finite value, or a
        standard deviation is not positive (dividing by it would be meaningless).
    """

    __slots__ = ("mean", "std")
    mean: np.ndarray
    std: np.ndarray

    def __init__(self, mean: Sequence[float] | np.ndarray, std: Sequence[float] | np.ndarray) -> None:
        mean_array, std_array = _frozen_vector(mean, "mean"), _frozen_vector(std, "std")
        if mean_array.shape != std_array.shape:
            raise ValueError(f"normalisation mean has {mean_array.size} values but std has {std_array.size}")
        if not (np.all(np.isfinite(mean_array)) and np.all(np.isfinite(std_array))):
            raise ValueError(
                f"normalisation statistics must be finite, got mean {mean_array.tolist()}, std {std_array.tolist()}"
            )
        if np.any(std_array <= 0):
            raise ValueError(f"normalisation std must be positive, got {std_array.tolist()}")
        object.__setattr__(self, "mean", mean_array)
        object.__setattr__(self, "std", std_array)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Normalization is immutable: cannot set {name!r}")

    def __reduce__(self) -> tuple[type[Normalization], tuple[np.ndarray, np.ndarray]]:
        return (Normalization, (self.mean, self.std))  # pickling (data-loader workers) rebuilds and re-checks

    def __repr__(self) -> str:
        return f"Normalization(mean={self.mean.tolist()}, std={self.std.tolist()})"

    @property
    def n_bands(self) -> int:
        """Number of bands the statistics cover (the first ``n_bands`` of a tile)."""
        return int(self.mean.size)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.mean, self.std))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Normalization):
            return NotImplemented
        return bool(np.array_equal(self.mean, other.mean) and np.array_equal(self.std, other.std))

    __hash__ = None  # type: ignore[assignment]  # equal by value, and arrays do not hash

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Normalise a ``(bands, rows, cols)`` reflectance array to float32 ``(n_bands, rows, cols)``.

        Only the first :attr:`n_bands` bands are kept. Non-finite pixels (NDVI
        where ``B8 + B4 = 0``, for instance) become 0, the band mean, so they
        do not poison the network.

        Raises
        ------
        ValueError
            When ``image`` is not 3-D or has fewer than :attr:`n_bands` bands.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[0] < self.n_bands:
            raise ValueError(f"expected an array (>= {self.n_bands}, rows, cols), got shape {image.shape}")
        mean = self.mean.astype(np.float32)[:, None, None]
        std = self.std.astype(np.float32)[:, None, None]
        out = (image[: self.n_bands].astype(np.float32) - mean) / std
        return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)

    def is_close(self, other: Normalization, rel: float = 1e-6, abs_tol: float = 1e-12) -> bool:
        """Whether ``other`` holds the same statistics band by band (each value as :func:`math.isclose`).

        Two values agree when they differ by at most ``rel`` times the larger
        of them, or by at most ``abs_tol`` (for values near 0).
        """
        if self.n_bands != other.n_bands:
            return False
        mine, theirs = np.concatenate([self.mean, self.std]), np.concatenate([other.mean, other.std])
        bound = np.maximum(rel * np.maximum(np.abs(mine), np.abs(theirs)), abs_tol)
        return bool(np.all(np.abs(mine - theirs) <= bound))

    def to_params(self) -> dict[str, list[float]]:
        """The ``normalization_mean`` / ``normalization_std`` entries of ``params.json``, as lists of floats."""
        return {PARAMS_MEAN_KEY: self.mean.tolist(), PARAMS_STD_KEY: self.std.tolist()}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Normalization:
        """The statistics of a model's parameters (``params.json`` content, already parsed).

        When ``params`` holds ``n_bands``, only the first ``n_bands`` values of
        each list are kept, as the model sees only those bands.

        Raises
        ------
        ValueError
            When a key is missing or the lists are not valid statistics.
        """
        missing = [key for key in (PARAMS_MEAN_KEY, PARAMS_STD_KEY) if key not in params]
        if missing:
            raise ValueError(f"params are missing {', '.join(missing)}")
        mean, std = list(params[PARAMS_MEAN_KEY]), list(params[PARAMS_STD_KEY])
        if "n_bands" in params:
            n_bands = int(params["n_bands"])
            mean, std = mean[:n_bands], std[:n_bands]
        return cls(mean, std)


def parse_normalization(text: str, source: str, n_bands: int | None = N_BANDS) -> Normalization:
    """Check and convert the YAML text of a ``metrics-normalization.yaml`` file.

    Parameters
    ----------
    text
        The file content: two lists, ``mean:`` and ``std:``.
    source
        The file's path or URL, named in every error.
    n_bands
        How many bands the lists must cover (``None``: any number).

    Raises
    ------
    DataFileError
        When the text is not YAML, lacks a list, or holds unusable statistics.
    """
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataFileError(f"cannot read {source} as YAML: {exc}") from exc
    if not isinstance(content, dict) or "mean" not in content or "std" not in content:
        raise DataFileError(f"{source} must hold two lists, 'mean:' and 'std:'")
    try:
        mean = np.asarray(content["mean"], dtype=float).reshape(-1)
        std = np.asarray(content["std"], dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataFileError(f"{source}: 'mean' and 'std' must be lists of numbers ({exc})") from exc
    if mean.shape != std.shape:
        raise DataFileError(f"{source}: {mean.size} means but {std.size} standard deviations")
    if n_bands is not None and mean.size != n_bands:
        raise DataFileError(f"{source} has statistics for {mean.size} bands; expected {n_bands}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
        raise DataFileError(f"{source} holds non-finite statistics")
    if np.any(std <= 0):
        raise DataFileError(f"{source}: every standard deviation must be positive, got {std.tolist()}")
    return Normalization(mean, std)


def read_normalization(location: str | os.PathLike[str]) -> Normalization:
    """Read a ``metrics-normalization.yaml`` at a local path, an ``https://`` URL or an ``s3://`` path.

    Raises ``FileNotFoundError`` naming ``location`` when it is absent, and
    :class:`~landcover.errors.DataFileError` when its content is wrong.
    """
    location = os.fspath(location)
    return parse_normalization(read_text(location), location)


def load_normalization(nuts: str, year: int | str, root: str | None = None) -> Normalization:
    """The statistics of ``images/{nuts}/{year}/metrics-normalization.yaml`` (14 bands) under ``root``."""
    return read_normalization(normalization_path(validate_nuts(nuts), validate_year(year), root))


def normalization_beside(image: str | os.PathLike[str]) -> Normalization:
    """The ``metrics-normalization.yaml`` of the folder holding tile ``image`` (a path or URL)."""
    image = os.fspath(image)
    if is_remote(image):
        return read_normalization(image.rsplit("/", 1)[0] + "/" + NORMALIZATION_FILENAME)
    return read_normalization(Path(image).parent / NORMALIZATION_FILENAME)

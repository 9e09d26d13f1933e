"""Per-band normalisation statistics of a region and year (``metrics-normalization.yaml``).

A model sees ``(pixel - mean) / std`` band by band; using other statistics than
the ones it was trained with gives plausible-looking but wrong predictions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import yaml

from landcover.bands import N_BANDS
from landcover.data.errors import DataFileError
from landcover.data.paths import normalization_path, validate_nuts, validate_year
from landcover.storage import read_text


class Normalization(NamedTuple):
    """Per-band mean and standard deviation (reflectance units), in file band order."""

    mean: np.ndarray
    std: np.ndarray


def parse_normalization(text: str, source: str, n_bands: int | None = N_BANDS) -> Normalization:
    """Check and convert the YAML text of a normalisation file (``source`` names it in errors)."""
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


def load_normalization(nuts: str, year: int | str, root: str | None = None) -> Normalization:
    """``(mean, std)`` arrays of 14 floats for ``images/{nuts}/{year}/metrics-normalization.yaml``."""
    location = normalization_path(validate_nuts(nuts), validate_year(year), root)
    return parse_normalization(read_text(location), location)

"""Read CLC+ Backbone label tiles (``.npy``, uint8, 250 x 250) from any data root.

A label has no georeferencing of its own: it lines up pixel for pixel with the
image of the same stem (``labels/`` instead of ``images/``, ``.npy`` instead of ``.tif``).
"""

from __future__ import annotations

import io
import os

import numpy as np

from landcover.classes import remap_raw_clcplus
from landcover.data.paths import LABELS_DIR, TILE_SIZE_PX, label_path, resolve, split_tile_path
from landcover.errors import DataFileError
from landcover.storage import read_bytes

#: Years with CLC+ Backbone labels in the bucket (there is no 2024 product).
LABEL_YEARS: tuple[int, ...] = (2018, 2021)

LabelKey = tuple[str, int | str, str]


def _location(
    path_or_key: str | os.PathLike[str] | LabelKey, year: int | str | None, stem: str | None
) -> str:
    if year is not None or stem is not None:
        if year is None or stem is None or not isinstance(path_or_key, str):
            raise TypeError("call load_label(path) or load_label(nuts, year, stem)")
        return label_path(path_or_key, year, stem)
    if isinstance(path_or_key, tuple):
        if len(path_or_key) != 3:
            raise TypeError(f"a label key is (nuts, year, stem), got {path_or_key!r}")
        nuts, key_year, key_stem = path_or_key
        return label_path(nuts, key_year, key_stem)
    return resolve(path_or_key, LABELS_DIR)


def _year_of(location: str) -> int | None:
    try:
        return split_tile_path(location).year
    except ValueError:
        return None


def load_label(
    path_or_key: str | os.PathLike[str] | LabelKey,
    year: int | str | None = None,
    stem: str | None = None,
    *,
    expected_shape: tuple[int, int] | None = (TILE_SIZE_PX, TILE_SIZE_PX),
) -> np.ndarray:
    """Load a label tile as uint8 classes 1..10 with 0 for no data.

    Accepts a path (local, ``https://``, ``s3://``, or relative to the data
    root's ``labels/`` folder), a ``(nuts, year, stem)`` tuple, or the three as
    arguments: ``load_label("LU000", 2021, "4042000_2951690_0_637")``.

    Raw CLC+ codes are cleaned with :func:`landcover.classes.remap_raw_clcplus`
    (254 outside area, 255 no data, 253 sea buffer -> 0; 11 snow -> 9).
    ``expected_shape=None`` accepts any 2-D shape.

    Raises
    ------
    TypeError
        If the arguments are neither a location, a key nor the three parts.
    FileNotFoundError
        If there is no label file (the message says when the year has no labels).
    landcover.errors.DataFileError
        If the file is not one 2-D integer ``.npy`` array of the expected shape.
    """
    location = _location(path_or_key, year, stem)
    try:
        payload = read_bytes(location)
    except FileNotFoundError:
        found_year = _year_of(location)
        hint = ""
        if found_year is not None and found_year not in LABEL_YEARS:
            hint = (
                f"; labels exist only for {', '.join(map(str, LABEL_YEARS))}: "
                f"CLC+ Backbone has no {found_year} product"
            )
        error = FileNotFoundError(f"no label file at {location}{hint}")
        raise error from None
    try:
        raw = np.load(io.BytesIO(payload), allow_pickle=False)
    except Exception as exc:  # not a .npy file, or an object array needing pickle
        raise DataFileError(f"cannot read {location} as a NumPy .npy array: {exc}") from exc
    if not isinstance(raw, np.ndarray):
        raise DataFileError(f"{location} holds several arrays (an .npz archive), not one label array")
    if raw.ndim != 2 or (expected_shape is not None and raw.shape != tuple(expected_shape)):
        wanted = f"{tuple(expected_shape)}" if expected_shape is not None else "2-D"
        raise DataFileError(f"label {location} has shape {raw.shape}; expected {wanted}")
    if not np.issubdtype(raw.dtype, np.integer):
        raise DataFileError(f"label {location} has dtype {raw.dtype}; expected integer class codes (uint8)")
    if raw.size and (int(raw.min()) < 0 or int(raw.max()) > 255):
        raise DataFileError(
            f"label {location} holds values {int(raw.min())}..{int(raw.max())}; class codes are 0..255"
        )
    return remap_raw_clcplus(raw)

"""Checks of the API's parameters that the OpenAPI types cannot express, with messages that say what to send.

The ``image`` parameter is the one that names a file, so it is checked by
its text alone before anything touches storage: it must read
``{NUTS3}/{year}/{xmin}_{ymin}_{idx}_{id}.tif``, relative to the data root's
``images/`` folder, with nothing that could climb out of it (``..``,
absolute paths, schemes, backslashes, percent-encoded characters, control
characters). The service then checks that the region, the year and the
tile are listed in the data, so only files of a tile index are ever read.
"""

from __future__ import annotations

import re
from typing import NamedTuple

#: A NUTS3 code: two letters (the country) then letters and digits, e.g. ``LU000``, ``DEA54``.
NUTS_PATTERN = re.compile(r"^[A-Z]{2}[A-Z0-9]{1,10}$")
#: A tile file name as the data contract writes it: ``{xmin}_{ymin}_{idx}_{id}.tif``.
TILE_FILE_PATTERN = re.compile(r"^(\d+(?:\.\d+)?)_(\d+(?:\.\d+)?)_(\d+)_(\d+)\.tif$")
YEAR_PATTERN = re.compile(r"^\d{4}$")
#: Longest ``image`` value accepted (a real one is about 40 characters).
MAX_IMAGE_LENGTH = 200
IMAGE_EXAMPLE = "LU000/2024/4042000_2951690_0_637.tif"


class ParameterError(ValueError):
    """A request parameter is malformed; ``parameter`` names it (answered with HTTP 422)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class NotFoundError(LookupError):
    """A well-formed request names something the data does not hold (answered with HTTP 404)."""


class ImageKey(NamedTuple):
    """The tile an ``image`` parameter names: region, year and file stem."""

    nuts: str
    year: int
    stem: str

    @property
    def relative_path(self) -> str:
        """``{nuts}/{year}/{stem}.tif``, relative to the data root's ``images/`` folder."""
        return f"{self.nuts}/{self.year}/{self.stem}.tif"


def check_nuts(value: str, parameter: str = "nuts") -> str:
    """A NUTS3 code in upper case, or a :class:`ParameterError`.

    Lower-case input is accepted (``lu000`` -> ``LU000``) because codes are
    case-insensitive to people; anything else that is not two letters then
    letters and digits is refused.
    """
    text = value.strip().upper() if isinstance(value, str) else ""
    if not NUTS_PATTERN.match(text):
        raise ParameterError(
            parameter,
            f"{parameter}={value!r} is not a NUTS3 code: two letters for the country, then letters and "
            "digits (e.g. 'LU000', 'BE100')",
        )
    return text


def _refuse(value: str, reason: str) -> ParameterError:
    return ParameterError(
        "image",
        f"image={value!r} {reason}; give the tile's path relative to the images folder, "
        f"'{{NUTS3}}/{{year}}/{{xmin}}_{{ymin}}_{{idx}}_{{id}}.tif' (e.g. '{IMAGE_EXAMPLE}', as /find_image returns it)",
    )


def parse_image(value: str) -> ImageKey:
    """The region, year and stem named by an ``image`` parameter, checked by text only.

    Parameters
    ----------
    value : str
        The parameter as the client sent it (the server has decoded its URL
        encoding once).

    Returns
    -------
    ImageKey
        The tile the value names; the service still checks it is in the data.

    Raises
    ------
    ParameterError
        For anything but ``{NUTS3}/{year}/{xmin}_{ymin}_{idx}_{id}.tif``: too
        long, ``..`` or ``.`` segments, a leading ``/`` or ``~``, a scheme or
        drive (``:``), backslashes, ``%`` (a second layer of URL encoding),
        control or non-ASCII characters, another extension, or more or fewer
        than three segments.
    """
    if not isinstance(value, str) or not value:
        raise _refuse(str(value), "is empty")
    if len(value) > MAX_IMAGE_LENGTH:
        raise _refuse(value[:40] + "...", f"is longer than {MAX_IMAGE_LENGTH} characters")
    if not value.isascii() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise _refuse(value, "holds control or non-ASCII characters")
    if "%" in value:
        raise _refuse(value, "holds '%': paths are URL-encoded once, by the client, never twice")
    if "\\" in value:
        raise _refuse(value, "holds a backslash: paths use '/'")
    if ":" in value:
        raise _refuse(value, "names a scheme or a drive: only paths inside the images folder are served")
    if value.startswith(("/", "~")):
        raise _refuse(value, "is absolute: only paths inside the images folder are served")
    parts = value.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise _refuse(value, "has an empty, '.' or '..' segment")
    if len(parts) != 3:
        raise _refuse(value, f"has {len(parts)} segment(s) instead of 3")
    nuts, year, filename = parts
    if not NUTS_PATTERN.match(nuts):
        raise _refuse(value, f"starts with {nuts!r}, which is not a NUTS3 code in upper case")
    if not YEAR_PATTERN.match(year):
        raise _refuse(value, f"has {year!r} where a four-digit year belongs")
    if not filename.endswith(".tif"):
        raise _refuse(value, "does not name a .tif file")
    if not TILE_FILE_PATTERN.match(filename):
        raise _refuse(value, f"ends in {filename!r}, which is not a tile name")
    return ImageKey(nuts, int(year), filename[: -len(".tif")])

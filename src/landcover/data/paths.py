"""Where each file of the data contract lives, for any data root.

The same function gives a local path, an ``https://`` URL or an ``s3://bucket/key``
path depending on :func:`landcover.config.data_root`, so chapters never build
locations by hand and switching data source is one setting.

Layout under the root (DESIGN section 3)::

    images/{NUTS3}/{year}/{xmin}_{ymin}_{idx}_{id}.tif
    images/{NUTS3}/{year}/filename2bbox.parquet
    images/{NUTS3}/{year}/metrics-normalization.yaml
    labels/{NUTS3}/{year}/{xmin}_{ymin}_{idx}_{id}.npy
    nuts/NUTS_RG_01M_2021_3035_LEVL_3.geojson          (synthetic data only)
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from landcover.config import data_root, is_remote

#: Folder names under the data root.
IMAGES_DIR = "images"
LABELS_DIR = "labels"
NUTS_DIR = "nuts"
#: File names inside every ``images/{NUTS3}/{year}/`` folder.
INDEX_FILENAME = "filename2bbox.parquet"
NORMALIZATION_FILENAME = "metrics-normalization.yaml"
#: NUTS 2021 level-3 outlines in EPSG:3035, as published by Eurostat GISCO.
NUTS3_FILENAME = "NUTS_RG_01M_2021_3035_LEVL_3.geojson"
GISCO_NUTS3_URL = (
    "https://gisco-services.ec.europa.eu/distribution/v2/nuts/geojson/" + NUTS3_FILENAME
)

#: Tile geometry of the contract: 250 x 250 pixels of 10 m, so 2,500 m a side.
TILE_SIZE_PX = 250
PIXEL_SIZE_M = 10.0
TILE_SIZE_M = TILE_SIZE_PX * PIXEL_SIZE_M

_NUTS_PATTERN = re.compile(r"^[A-Za-z0-9]{2,12}$")
_STEM_PATTERN = re.compile(r"^(-?\d+(?:\.\d+)?)_(-?\d+(?:\.\d+)?)_(\d+)_(\d+)$")


class TileName(NamedTuple):
    """The four fields encoded in a tile file name ``{xmin}_{ymin}_{idx}_{id}``.

    ``xmin`` and ``ymin`` are the lower-left corner in EPSG:3035 metres.
    """

    xmin: float
    ymin: float
    idx: int
    id: int


def parse_tile_name(stem: str) -> TileName:
    """Split ``4042000_2951690_0_637`` (or ``.../4042000_2951690_0_637.tif``) into its fields.

    Accepts a bare stem, a file name with ``.tif``/``.npy`` or a whole path/URL.
    Corner coordinates are returned as ``int`` when they are whole numbers.
    """
    name = PurePosixPath(str(stem).replace("\\", "/")).name
    for suffix in (".tif", ".tiff", ".npy"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    match = _STEM_PATTERN.match(name)
    if not match:
        raise ValueError(
            f"tile name {stem!r} does not follow the pattern '{{xmin}}_{{ymin}}_{{idx}}_{{id}}' "
            "(e.g. '4042000_2951690_0_637')"
        )
    xmin_text, ymin_text, idx_text, id_text = match.groups()
    xmin = float(xmin_text)
    ymin = float(ymin_text)
    return TileName(
        int(xmin) if xmin.is_integer() else xmin,
        int(ymin) if ymin.is_integer() else ymin,
        int(idx_text),
        int(id_text),
    )


def format_tile_name(xmin: float, ymin: float, idx: int, tile_id: int) -> str:
    """The stem ``{xmin}_{ymin}_{idx}_{id}`` (inverse of :func:`parse_tile_name`).

    Whole-metre corners are written without decimals, as in the bucket.
    """

    def number(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else f"{float(value):g}"

    return f"{number(xmin)}_{number(ymin)}_{int(idx)}_{int(tile_id)}"


def tile_stem(name: str) -> str:
    """The stem of a tile file name or path (``.../a_b_0_1.tif`` -> ``a_b_0_1``), validated."""
    parse_tile_name(name)
    base = PurePosixPath(str(name).replace("\\", "/")).name
    return base.rsplit(".", 1)[0] if base.lower().endswith((".tif", ".tiff", ".npy")) else base


def tile_bounds_from_name(stem: str, size_m: float = TILE_SIZE_M) -> tuple[float, float, float, float]:
    """Bounds ``(xmin, ymin, xmax, ymax)`` in EPSG:3035 metres implied by a tile name."""
    name = parse_tile_name(stem)
    return (name.xmin, name.ymin, name.xmin + size_m, name.ymin + size_m)


def validate_nuts(nuts: str) -> str:
    """Check a NUTS3 code (letters and digits only) so it cannot escape its folder."""
    if not isinstance(nuts, str) or not _NUTS_PATTERN.match(nuts):
        raise ValueError(f"nuts={nuts!r} is not a NUTS3 code (letters and digits, e.g. 'LU000')")
    return nuts


def validate_year(year: int | str) -> int:
    """Check a year (four digits) and return it as ``int``."""
    text = str(year).strip()
    if not re.fullmatch(r"\d{4}", text):
        raise ValueError(f"year={year!r} is not a four-digit year (e.g. 2021)")
    return int(text)


def join(root: str | os.PathLike[str], *parts: str | int) -> str:
    """Join path parts under a root, with ``/`` for URLs and the OS separator for folders."""
    root_text = os.fspath(root)
    clean = [str(p).strip("/") for p in parts if str(p).strip("/")]
    if is_remote(root_text):
        return "/".join([root_text.rstrip("/"), *clean])
    return str(Path(root_text, *clean))


def _root(root: str | os.PathLike[str] | None) -> str:
    """The given root, or the active one; URLs lose their trailing slash."""
    if root is None:
        return data_root()
    text = os.fspath(root)
    return text.rstrip("/") if is_remote(text) else text


def images_prefix(nuts: str | None = None, year: int | str | None = None, root: str | None = None) -> str:
    """The ``images/`` folder, or ``images/{nuts}/`` or ``images/{nuts}/{year}/`` under the root."""
    parts: list[str | int] = [IMAGES_DIR]
    if nuts is not None:
        parts.append(validate_nuts(nuts))
        if year is not None:
            parts.append(validate_year(year))
    return join(_root(root), *parts)


def labels_prefix(nuts: str | None = None, year: int | str | None = None, root: str | None = None) -> str:
    """The ``labels/`` folder, or ``labels/{nuts}/{year}/`` under the root."""
    parts: list[str | int] = [LABELS_DIR]
    if nuts is not None:
        parts.append(validate_nuts(nuts))
        if year is not None:
            parts.append(validate_year(year))
    return join(_root(root), *parts)


def image_path(nuts: str, year: int | str, stem: str, root: str | None = None) -> str:
    """Location of a tile GeoTIFF ``images/{nuts}/{year}/{stem}.tif``."""
    return join(images_prefix(validate_nuts(nuts), validate_year(year), root), tile_stem(stem) + ".tif")


def label_path(nuts: str, year: int | str, stem: str, root: str | None = None) -> str:
    """Location of a tile label ``labels/{nuts}/{year}/{stem}.npy``."""
    return join(labels_prefix(validate_nuts(nuts), validate_year(year), root), tile_stem(stem) + ".npy")


def index_path(nuts: str, year: int | str, root: str | None = None) -> str:
    """Location of the tile index ``images/{nuts}/{year}/filename2bbox.parquet``."""
    return join(images_prefix(validate_nuts(nuts), validate_year(year), root), INDEX_FILENAME)


def normalization_path(nuts: str, year: int | str, root: str | None = None) -> str:
    """Location of ``images/{nuts}/{year}/metrics-normalization.yaml``."""
    return join(images_prefix(validate_nuts(nuts), validate_year(year), root), NORMALIZATION_FILENAME)


def nuts_file_path(root: str | None = None) -> str:
    """Location of the NUTS3 GeoJSON shipped with the synthetic data (``nuts/...geojson``)."""
    return join(_root(root), NUTS_DIR, NUTS3_FILENAME)


class TileKey(NamedTuple):
    """Region, year and stem of a tile, recovered from its path."""

    nuts: str
    year: int
    stem: str


def split_tile_path(path: str | os.PathLike[str]) -> TileKey:
    """Read ``(nuts, year, stem)`` from a path ending in ``{nuts}/{year}/{stem}.tif|.npy``."""
    parts = PurePosixPath(os.fspath(path).replace("\\", "/")).parts
    if len(parts) < 3:
        raise ValueError(f"path {os.fspath(path)!r} does not end in '{{NUTS3}}/{{year}}/{{tile}}'")
    nuts, year, name = parts[-3], parts[-2], parts[-1]
    try:
        return TileKey(validate_nuts(nuts), validate_year(year), tile_stem(name))
    except ValueError as exc:
        raise ValueError(
            f"path {os.fspath(path)!r} does not end in '{{NUTS3}}/{{year}}/{{tile}}': {exc}"
        ) from None


def label_path_for_image(image: str | os.PathLike[str]) -> str:
    """The label that goes with an image: ``images`` -> ``labels`` and ``.tif`` -> ``.npy``.

    Works on local paths and URLs alike, keeping everything before ``images/``.
    """
    text = os.fspath(image)
    remote = is_remote(text)
    norm = text if remote else text.replace("\\", "/")
    key = split_tile_path(norm)
    marker = f"{IMAGES_DIR}/{key.nuts}/"
    position = norm.rfind(marker)
    if position < 0 or (position > 0 and norm[position - 1] != "/"):
        raise ValueError(f"image path {text!r} has no '{IMAGES_DIR}/' folder to swap for '{LABELS_DIR}/'")
    result = norm[:position] + f"{LABELS_DIR}/{key.nuts}/{key.year}/{key.stem}.npy"
    return result if remote else str(Path(result))


def resolve(path: str | os.PathLike[str], folder: str = IMAGES_DIR, root: str | None = None) -> str:
    """Turn a user-given location into a full one.

    Full locations (``https://``, ``s3://``, GDAL ``/vsi...`` paths, absolute paths)
    and relative paths that exist on disk are kept. Anything else is read under the
    data root: ``images/LU000/2024/x.tif`` relative to the root,
    ``LU000/2024/x.tif`` relative to ``{root}/{folder}``, and a bucket key such as
    ``projet-funathon/2026/project3/data/images/LU000/2024/x.tif`` from its
    ``{folder}/`` part on.
    """
    text = os.fspath(path)
    if is_remote(text) or text.startswith("/vsi"):
        return text
    local = Path(text).expanduser()
    if local.is_absolute() or local.exists():
        return str(local)
    relative = text.replace("\\", "/").lstrip("/")
    if relative.split("/", 1)[0] in (IMAGES_DIR, LABELS_DIR, NUTS_DIR):
        return join(_root(root), relative)
    marker = f"/{folder}/"
    if marker in relative:  # a bucket key such as "projet-funathon/.../data/images/LU000/..."
        return join(_root(root), folder, relative.split(marker, 1)[1])
    return join(_root(root), folder, relative)

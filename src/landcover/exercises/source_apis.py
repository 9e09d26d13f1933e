"""Checks for the appendix on the source APIs (exercise ids ``api-...``).

They check what a request asked for (CRS, size, resampling, dates, point order)
and what came back (shape, type, classes, files in place), so they hold online
and against the local stand-ins alike.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np

from landcover.exercises.checks import Hint, exercise_check, expect_array
from landcover.exercises.explain import LikelyError

#: The tile the appendix works on: (NUTS3 region, year, stem).
APPENDIX_TILE = ("LU000", 2021, "4042000_2944190_0_712")
PIXEL_M = 10.0


def _tile_box() -> tuple[float, float, float, float]:
    from landcover.data import tile_bounds_from_name

    return tuple(float(v) for v in tile_bounds_from_name(APPENDIX_TILE[2]))  # type: ignore[return-value]


def _tile_size_px() -> tuple[int, int]:
    xmin, ymin, xmax, ymax = _tile_box()
    return round((xmax - xmin) / PIXEL_M), round((ymax - ymin) / PIXEL_M)


# --- CLC+ ImageServer ---------------------------------------------------------------------------


@exercise_check(
    "api-clcplus",
    names=("params", "raw", "api_label"),
    success="The request asks for the tile's grid, and the codes are remapped to the book's classes.",
)
def check_clcplus(params: object, raw: object, api_label: object) -> None:
    """params: the exportImage query; raw: the codes received; api_label: remapped to 0..10."""
    from landcover.classes import remap_raw_clcplus

    if not isinstance(params, Mapping):
        raise Hint(
            f"`params` should be the dictionary of query parameters, but it is a {type(params).__name__}."
        )
    for key, wanted, why in (
        ("bboxSR", "3035", "the box is in metres of EPSG:3035"),
        ("imageSR", "3035", "the answer must come on the tile's grid, in EPSG:3035, not reprojected"),
    ):
        value = str(params.get(key, "")).strip()
        if value != wanted:
            raise Hint(f"`params['{key}']` is {value or 'missing'!r}: {why}.")
    width, height = _tile_size_px()
    size = str(params.get("size", "")).replace(" ", "")
    if size != f"{width},{height}":
        raise Hint(
            f"`params['size']` is {size or 'missing'!r}: it is width,height in pixels, one pixel per "
            f"{PIXEL_M:g} m over the tile's {width * PIXEL_M:,.0f} m."
        )
    interpolation = str(params.get("interpolation", ""))
    if interpolation != "RSP_NearestNeighbor":
        raise Hint(
            f"`params['interpolation']` is {interpolation or 'missing'!r}: class codes must be copied, never "
            "averaged; ArcGIS calls nearest neighbour RSP_NearestNeighbor."
        )
    try:
        box = [float(v) for v in str(params.get("bbox", "")).split(",")]
    except ValueError:
        box = []
    if len(box) != 4 or not np.allclose(box, _tile_box()):
        raise Hint("`params['bbox']` is not the tile's box xmin,ymin,xmax,ymax.")
    codes = expect_array(raw, "raw", shape=(height, width))
    label = expect_array(api_label, "api_label", shape=(height, width))
    if not np.issubdtype(label.dtype, np.integer):
        raise Hint(f"`api_label` has dtype {label.dtype}; labels hold integer class ids (uint8).")
    leftover = sorted(v for v in np.unique(label).tolist() if v > 10)
    if leftover:
        raise Hint(
            f"`api_label` still holds raw codes {leftover}: not remapped. 253, 254 and 255 mean no data (0)."
        )
    expected = remap_raw_clcplus(codes)
    if not np.array_equal(label, expected):
        if np.any(codes == 11) and np.any(label[codes == 11] != 9):
            raise Hint("snow and ice (raw code 11) is class 9 in the book's ten classes.")
        raise Hint("`api_label` is not `raw` remapped to the book's classes (see the table of raw codes).")


# --- writing files ------------------------------------------------------------------------------


@exercise_check(
    "api-write-label",
    names=("target", "api_label"),
    success="The label is in the book's layout, complete, and reads back unchanged.",
    likely=(
        LikelyError(
            TypeError,
            "`write_bytes_atomic` takes bytes: the buffer itself is a file-like object, its content "
            "is what `getvalue()` returns.",
            contains="memoryview|bytes-like",
        ),
    ),
)
def check_write_label(target: object, api_label: object) -> None:
    """target: where the label was written (local or s3://); api_label: what was written."""
    from landcover.storage import exists, read_bytes

    if not isinstance(target, (str, os.PathLike)):
        raise Hint(f"`target` should be a location (text), but it is a {type(target).__name__}.")
    text = os.fspath(target).replace("\\", "/")
    nuts, year, stem = APPENDIX_TILE
    wanted = f"labels/{nuts}/{year}/{stem}.npy"
    if not text.endswith(wanted):
        if "/images/" in text:
            raise Hint("`target` is under images/; labels live under labels/{region}/{year}/.")
        if text.endswith(".tif"):
            raise Hint("`target` ends in .tif; a label is a NumPy file, .npy.")
        raise Hint(f"`target` should end with {wanted}, the book's layout (label_path builds it).")
    if not exists(os.fspath(target)):
        raise Hint("nothing was written at `target`: write the .npy bytes there.")
    payload = read_bytes(os.fspath(target))
    try:
        written = np.load(io.BytesIO(payload), allow_pickle=False)
    except Exception:
        raise Hint("the file at `target` is not a .npy file: write the bytes np.save produced.") from None
    label = expect_array(api_label, "api_label", ndim=2)
    if written.shape != label.shape or written.dtype != label.dtype or not np.array_equal(written, label):
        raise Hint(f"the file at `target` holds {written.dtype} {written.shape}, not `api_label` unchanged.")


# --- Sentinel Hub -------------------------------------------------------------------------------


@exercise_check(
    "api-sentinelhub",
    names=("body", "sh_image"),
    success="The order asks for the tile's grid, and the image came back on it.",
    likely=(
        LikelyError(
            Exception,
            "The service refused the order: the box, its EPSG code and the resolution must describe "
            "the tile's own grid (EPSG:3035 metres, 10 m pixels).",
            contains="400|Bad Request|RENDERER",
        ),
    ),
)
def check_sentinelhub(body: object, sh_image: object) -> None:
    """body: the Processing API request; sh_image: the array of the answer (bands, rows, cols)."""
    if not isinstance(body, Mapping):
        raise Hint(f"`body` should be the request dictionary, but it is a {type(body).__name__}.")
    try:
        bounds = body["input"]["bounds"]
        box = [float(v) for v in bounds["bbox"]]
        crs = str(bounds.get("properties", {}).get("crs", ""))
        output = body.get("output", {})
    except (KeyError, TypeError, ValueError):
        raise Hint("`body` lacks input.bounds.bbox: build it with process_body.") from None
    if len(box) == 4 and all(abs(v) <= 180 for v in box):
        raise Hint("`body`'s box is in degrees; the steps ask for the tile's box in metres of EPSG:3035.")
    if not crs.endswith("/3035"):
        raise Hint(
            f"`body` says its box is in {crs.rsplit('/', 1)[-1] or 'no CRS'}; the tile's box is EPSG:3035."
        )
    if len(box) != 4 or not np.allclose(box, _tile_box()):
        raise Hint("`body`'s box is not the tile's box (xmin, ymin, xmax, ymax).")
    if "width" in output:
        raise Hint("`body` gives a width and height in pixels; give the resolution, so pixels are 10 m.")
    if not (
        math.isclose(float(output.get("resx", 0)), PIXEL_M)
        and math.isclose(float(output.get("resy", 0)), PIXEL_M)
    ):
        raise Hint(f"`body` asks for pixels of {output.get('resx')} m; the tiles' pixels are {PIXEL_M:g} m.")
    width, height = _tile_size_px()
    image = expect_array(sh_image, "sh_image", ndim=3)
    if image.shape[1:] != (height, width):
        raise Hint(
            f"`sh_image` is {image.shape[1]} x {image.shape[2]} pixels; the tile's grid is {height} x "
            f"{width}."
        )
    if image.shape[0] != 3:
        raise Hint(f"`sh_image` has {image.shape[0]} bands; the evalscript returns three.")
    if image.dtype.kind != "f":
        raise Hint(f"`sh_image` has dtype {image.dtype}; the evalscript asks for FLOAT32 reflectance.")


# --- OData --------------------------------------------------------------------------------------

_INSTANT = r"(\d{4}-\d\d-\d\dT[\d:.]+Z)"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@exercise_check(
    "api-odata",
    names=("filter_expression", "products", "product_file"),
    success="Search, paging and download are right.",
    likely=(
        LikelyError(
            ValueError,
            "The search found no product, so there is nothing to choose from. Usual causes: the "
            "point written latitude first (WKT wants longitude first), or dates and cloud cover that "
            "exclude everything; print `filter_expression` and the number of products.",
            contains="empty sequence|empty iterable",
        ),
    ),
)
def check_odata(filter_expression: object, products: object, product_file: object) -> str | None:
    """filter_expression: the $filter; products: what iter_products returned; product_file: the zip."""
    from landcover.data import geocode
    from landcover.sources.odata import Product

    if not isinstance(filter_expression, str):
        raise Hint(f"`filter_expression` should be text, but it is a {type(filter_expression).__name__}.")
    after = re.search(r"ContentDate/Start (?:gt|ge) " + _INSTANT, filter_expression)
    before = re.search(r"ContentDate/Start (?:lt|le) " + _INSTANT, filter_expression)
    if not after or not before:
        raise Hint("the filter needs two date clauses, ContentDate/Start gt ... and ContentDate/Start lt ...")
    first, last = _instant(after.group(1)), _instant(before.group(1))
    if (first.year, first.month, first.day) != (2021, 7, 1) or first.hour:
        raise Hint(f"the first instant is {after.group(1)}; July 2021 starts at 2021-07-01T00:00:00.000Z.")
    if not (
        datetime(2021, 7, 31, 23, tzinfo=last.tzinfo) <= last <= datetime(2021, 8, 1, tzinfo=last.tzinfo)
    ):
        raise Hint(f"the last instant is {before.group(1)}; July 2021 ends at 2021-07-31T23:59:59.999Z.")
    cloud = re.search(
        r"Name eq 'cloudCover' and att/OData\.CSC\.DoubleAttribute/Value (lt|le) ([\d.]+)", filter_expression
    )
    if not cloud:
        raise Hint("the filter has no cloud-cover clause (a DoubleAttribute named cloudCover).")
    if not math.isclose(float(cloud.group(2)), 20.0):
        raise Hint(f"the cloud-cover clause keeps products below {cloud.group(2)} %; the steps say 20 %.")
    point = re.search(r"POINT\(\s*(-?[\d.]+)\s+(-?[\d.]+)\s*\)", filter_expression)
    if not point:
        raise Hint(
            "the filter has no POINT(x y) in its Intersects clause (two numbers separated by a space)."
        )
    x, y = float(point.group(1)), float(point.group(2))
    lon, lat = geocode("Eurostat")
    if math.hypot(x - lat, y - lon) < 1e-3:
        raise Hint(
            "the point is written POINT(latitude longitude); WKT takes x first: longitude, then latitude."
        )
    if math.hypot(x - lon, y - lat) > 1e-3:
        raise Hint("the point of the filter is not where geocode() puts Eurostat.")
    if not isinstance(products, list) or not all(isinstance(p, Product) for p in products):
        raise Hint(
            "`products` should be the list of Product objects iter_products returned (wrap it in list())."
        )
    if not products:
        raise Hint("`products` is empty: no product matched the filter.")
    for product in products:
        if product.cloud_cover is not None and product.cloud_cover >= 20:
            raise Hint(
                f"{product.name} has {product.cloud_cover:.1f} % clouds: the cloud clause did not apply."
            )
    if not isinstance(product_file, (str, os.PathLike)):
        raise Hint(
            "`product_file` should be the path download_product returned, not a "
            f"{type(product_file).__name__}."
        )
    path = Path(product_file)
    if not path.is_file() or path.stat().st_size == 0:
        raise Hint(f"there is no downloaded file at {path}.")
    leftovers = [p.name for p in path.parent.glob(f".{path.name}.*.part")]
    if leftovers:
        raise Hint(f"partial downloads are left next to the product: {leftovers}.")
    best = min(products, key=lambda p: p.cloud_cover if p.cloud_cover is not None else 101.0)
    if not path.name.startswith(best.name):
        raise Hint(f"{path.name} is not the least cloudy product ({best.name}).")
    return f"{len(products)} product(s) found."

"""Checks for chapter 1, data acquisition.

The checks recompute what they compare against from the data under the active
data root (tiles, labels, tile indexes, NUTS outlines), so they hold on the
synthetic data and on the real bucket alike, and no answer is stored here.
A hint says what is wrong (band, shape, CRS, unit, resampling, year...), never
the code of the answer.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from landcover.bands import BAND_NAMES, band_index
from landcover.exercises.checks import Hint, exercise_check, expect_array, expect_finite
from landcover.exercises.explain import LikelyError

#: The tile chapter 1 opens: (NUTS3 region, year, file stem).
CHAPTER_TILE = ("LU000", 2024, "4042000_2951690_0_637")
#: The year of the labels the chapter pairs with the tile (labels exist for 2018 and 2021).
LABEL_YEAR = 2021
#: A 2024 tile with a cumulus field and its shadow, for the clouds section.
CLOUDY_TILE = ("LU000", 2024, "4022000_2974190_0_404")
#: The year of the tiles searched in section 2.
SEARCH_YEAR = 2024
#: The display stretch the chapter teaches: one percentile over the three bands, then clip.
STRETCH_PERCENTILE = 98.0
TRUE_COLOUR = ["B4", "B3", "B2"]
FALSE_COLOUR = ["B8", "B4", "B3"]


# --- data under the active root (cached per root) ---------------------------------------------


def _root() -> str:
    from landcover.config import data_root

    return data_root()


@lru_cache(maxsize=8)
def _tile(root: str, year: int) -> dict[str, Any]:
    """The chapter tile of ``year``: array (14, H, W) float64 and its georeferencing."""
    from landcover.data import read_tile

    nuts, _, stem = CHAPTER_TILE
    return read_tile(nuts, year, stem, root=root)


@lru_cache(maxsize=4)
def _tile_bands(root: str) -> np.ndarray:
    """All 14 channels of the chapter tile, (14, H, W), as stored (float64 reflectance)."""
    return _tile(root, CHAPTER_TILE[1])["array"]


def chapter_tile_bands() -> np.ndarray:
    """The chapter tile under the active data root (cached per root)."""
    return _tile_bands(_root())


@lru_cache(maxsize=4)
def _label(root: str, year: int) -> np.ndarray:
    from landcover.data import label_path, load_label

    nuts, _, stem = CHAPTER_TILE
    return load_label(label_path(nuts, year, stem, root))


def _identify_channels(array: np.ndarray, bands: np.ndarray) -> list[str | None]:
    """Name each channel of ``array`` by the tile band it equals (None when none does)."""
    names: list[str | None] = []
    for channel in array:
        match = None
        for index, band in enumerate(bands):
            if channel.shape == band.shape and np.allclose(channel, band, rtol=1e-5, atol=1e-7):
                match = BAND_NAMES[index]
                break
        names.append(match)
    return names


def display_stretch(chw: np.ndarray, percentile: float = STRETCH_PERCENTILE) -> np.ndarray:
    """The chapter's display stretch of a (3, H, W) array, as (H, W, 3) in [0, 1]."""
    hwc = np.transpose(chw, (1, 2, 0)).astype(np.float32)
    return np.clip(hwc / np.percentile(hwc, percentile), 0, 1)


def _same_location(given: Any, expected: str) -> bool:
    """Two locations (paths or URLs) name the same file."""
    text = os.fspath(given) if isinstance(given, os.PathLike) else given
    if not isinstance(text, str):
        return False
    if "://" in expected:
        return text.rstrip("/") == expected.rstrip("/")
    return os.path.normpath(os.path.abspath(text)) == os.path.normpath(os.path.abspath(expected))


def _as_float(value: Any, name: str) -> float:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if hasattr(value, "iloc") and len(value) == 1:
        raise Hint(
            f"`{name}` is a one-value {type(value).__name__}: take the number itself (e.g. `.iloc[0]`)."
        )
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Hint(f"`{name}` should be a number, but it is a {type(value).__name__}.") from None
    if not math.isfinite(number):
        raise Hint(f"`{name}` is {number}: look for a division by zero.")
    return number


# --- composites ----------------------------------------------------------------------------------


def _check_composite(
    data_value: object,
    image_value: object,
    wanted: list[str],
    data_name: str,
    image_name: str,
    needs: str,
) -> None:
    """Common checks of a colour composite: the bands read (3, H, W) and the stretched image."""
    bands = chapter_tile_bands()
    _, height, width = bands.shape

    data = expect_array(data_value, data_name, ndim=3)
    if data.shape == (height, width, 3):
        raise Hint(
            f"`{data_name}` is already (H, W, 3): keep it as rasterio returns it, bands first (3, H, W)."
        )
    if data.shape[1:] != (height, width):
        raise Hint(
            f"`{data_name}` has shape {data.shape}; the tile is {height} x {width} pixels, bands first."
        )
    if data.shape[0] == bands.shape[0]:
        raise Hint(f"`{data_name}` holds all 14 channels: read only the three this composite needs.")
    if data.shape[0] != 3:
        raise Hint(f"`{data_name}` holds {data.shape[0]} bands; a colour composite needs exactly three.")
    found = _identify_channels(data, bands)
    if None in found:
        raise Hint(
            f"`{data_name}` does not match the bands of the chapter tile "
            f"({'/'.join(map(str, CHAPTER_TILE))}): read that tile, and do not rescale `{data_name}` itself."
        )
    if found != wanted:
        if sorted(found) == sorted(wanted):
            raise Hint(
                f"`{data_name}` holds {', '.join(found)}: the right bands in the wrong order. "
                "Matplotlib reads the channels as red, green, blue."
            )
        if "B8" in wanted and ("B8A" in found or "B9" in found) and "B8" not in found:
            other = "B8A" if "B8A" in found else "B9"
            raise Hint(
                f"`{data_name}` holds {', '.join(map(str, found))}: {other} (channel {band_index(other)}) "
                f"is not the near-infrared band B8 (channel {band_index('B8')}). B8A comes before B9 in the "
                "files."
            )
        indexes = ", ".join(str(band_index(name)) for name in found if name)
        raise Hint(
            f"`{data_name}` holds {', '.join(map(str, found))} (rasterio indexes {indexes}). "
            f"{needs}: look them up in the channel table."
        )

    image = expect_array(image_value, image_name, ndim=3)
    if image.shape == (3, height, width):
        raise Hint(
            f"`{image_name}` is still bands-first (3, H, W); matplotlib wants (H, W, 3): move the band axis "
            "last."
        )
    if image.shape != (height, width, 3):
        raise Hint(f"`{image_name}` has shape {image.shape}; it should be ({height}, {width}, 3).")
    expect_finite(image, image_name)
    expected = display_stretch(data)
    raw = np.transpose(data, (1, 2, 0))
    if image.min() < -1e-6 or image.max() > 1 + 1e-6:
        raise Hint(
            f"`{image_name}` ranges from {image.min():.3g} to {image.max():.3g}; after dividing by the "
            "percentile, clip to [0, 1] so the brightest pixels saturate to white."
        )
    if np.allclose(image, expected, atol=2e-3):
        return None
    if np.allclose(image, raw, atol=1e-6):
        raise Hint(
            f"`{image_name}` holds the raw reflectance (brightest value {raw.max():.2f}), so the image looks "
            "dark: stretch it with the 98th percentile, as the steps say."
        )
    per_band = np.stack(
        [np.clip(raw[..., k] / np.percentile(raw[..., k], STRETCH_PERCENTILE), 0, 1) for k in range(3)],
        axis=-1,
    )
    if np.allclose(image, per_band, atol=2e-3):
        raise Hint(
            f"`{image_name}` was stretched band by band; use one percentile over all three bands, "
            "so the balance between the colours is kept."
        )
    unclipped = (image > 1e-3) & (image < 0.999) & (raw > 0)
    if unclipped.sum() > 100:
        ratios = raw[unclipped] / image[unclipped]
        scale = float(np.median(ratios))
        if float(np.std(ratios)) < 1e-3 * scale:  # one divisor for every value: a different percentile?
            used = float(np.mean(raw <= scale) * 100)
            if abs(used - STRETCH_PERCENTILE) >= 0.5:
                raise Hint(
                    f"`{image_name}` looks divided by about the {used:.0f}th percentile; the steps use the "
                    f"{STRETCH_PERCENTILE:.0f}th, over all pixels of the three bands."
                )
    difference = float(np.mean(np.abs(image.astype(np.float64) - expected)))
    raise Hint(
        f"`{image_name}` differs from the stretch described in the steps (mean difference {difference:.3f} "
        "per value): transpose, divide by the 98th percentile of all three bands, clip to [0, 1]."
    )


@exercise_check(
    "acq-rgb",
    names=("rgb_data", "rgb"),
    success="Your composite matches the 98th-percentile stretch of bands B4, B3, B2.",
    likely=(
        LikelyError(
            IndexError,
            "rasterio counts bands from 1 and a (3, H, W) array from 0: a band number used as an "
            "array position, or an array position passed to `src.read`, is off by one.",
            contains="out of bounds|out of range",
        ),
        LikelyError(
            ValueError,
            "An array with the bands first, (3, H, W), cannot be shown as an image: matplotlib "
            "wants them last, (H, W, 3).",
            contains="invalid shape|Invalid shape",
        ),
    ),
)
def check_rgb_composite(rgb_data: object, rgb: object) -> None:
    """rgb_data: bands B4, B3, B2 as read (3, H, W); rgb: the stretched (H, W, 3) image."""
    _check_composite(
        rgb_data, rgb, TRUE_COLOUR, "rgb_data", "rgb", "True colour needs the red, green and blue bands"
    )


@exercise_check(
    "acq-false-colour",
    names=("profile", "fc_data", "fc"),
    success="Profile read, and your false-colour composite (B8, B4, B3) matches.",
)
def check_false_colour(profile: object, fc_data: object, fc: object) -> None:
    """profile: ``src.profile``; fc_data: B8, B4, B3 as read; fc: the stretched (H, W, 3) image."""
    from pyproj import CRS

    if not isinstance(profile, Mapping):
        kind = type(profile).__name__
        if "CRS" in kind or "Affine" in kind:
            raise Hint(
                f"`profile` is a {kind}, one entry of the metadata; take the whole profile of the dataset."
            )
        raise Hint(f"`profile` should be the dictionary of the dataset's metadata, but it is a {kind}.")
    missing = [
        k for k in ("driver", "dtype", "count", "width", "height", "crs", "transform") if k not in profile
    ]
    if missing:
        raise Hint(f"`profile` has no {', '.join(missing)} entry: is it the dataset's profile?")
    bands = chapter_tile_bands()
    if profile["count"] != bands.shape[0] or (profile["height"], profile["width"]) != bands.shape[1:]:
        raise Hint(
            f"`profile` describes {profile['count']} band(s) of {profile['height']} x {profile['width']} "
            "pixels: it is not the profile of the chapter tile."
        )
    try:
        epsg = CRS.from_user_input(profile["crs"]).to_epsg()
    except Exception:
        epsg = None
    if epsg != 3035:
        raise Hint("`profile['crs']` is not EPSG:3035: take the profile of the chapter tile as it is.")
    _check_composite(
        fc_data,
        fc,
        FALSE_COLOUR,
        "fc_data",
        "fc",
        "False colour needs the near-infrared, red and green bands",
    )


# --- NDVI ---------------------------------------------------------------------------------------


def _call_ndvi(function: Callable[..., Any], nir: np.ndarray, red: np.ndarray) -> np.ndarray:
    """Run the reader's function with every floating-point warning turned into an error."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with np.errstate(all="raise"):
            try:
                result = function(nir.copy(), red.copy())
            except (FloatingPointError, RuntimeWarning, ZeroDivisionError):
                raise Hint(
                    "`ndvi_of` divides by zero where NIR + Red is 0. np.where computes both of its branches "
                    "before choosing, so the division still happens: divide only where the sum is not zero."
                ) from None
    if result is None:
        raise Hint("`ndvi_of` returns nothing: end it with `return ndvi`.")
    return np.asarray(result)


@exercise_check(
    "acq-ndvi",
    names=("ndvi_of", "ndvi"),
    success="Safe NDVI: right values, no division by zero, integers handled.",
    likely=(
        LikelyError(
            IndexError,
            "`pixels` is a NumPy array: index it with a position (a whole number, counted from 0), "
            "not with a band name; `band_index` counts from 1.",
            contains="only integers",
        ),
        LikelyError(
            TypeError,
            "NumPy refuses to write float results into an integer array: convert both bands to "
            "float64 before you add, subtract or divide them.",
            contains="cast ufunc|Cannot cast",
        ),
    ),
)
def check_ndvi(ndvi_of: object, ndvi: object) -> None:
    """ndvi_of: the reader's function (nir, red) -> NDVI; ndvi: the NDVI of the chapter tile."""
    from landcover.viz import normalized_difference

    if not callable(ndvi_of):
        raise Hint(f"`ndvi_of` should be the function you wrote, but it is a {type(ndvi_of).__name__}.")
    nir = np.array([[0.30, 0.05], [0.20, 0.0]])
    red = np.array([[0.05, 0.30], [0.20, 0.0]])
    result = _call_ndvi(ndvi_of, nir, red)
    if result.shape != nir.shape:
        raise Hint(
            f"`ndvi_of` turns two {nir.shape} arrays into shape {result.shape}: keep the shape of its inputs."
        )
    if not np.all(np.isfinite(result)):
        raise Hint("`ndvi_of` returns NaN or infinity where NIR + Red is 0; the steps ask for 0 there.")
    expected = normalized_difference(nir, red)
    if np.allclose(result, -expected):
        raise Hint("`ndvi_of` has the sign flipped: NDVI is (NIR - Red) / (NIR + Red), near infrared first.")
    if not np.allclose(result, expected, atol=1e-9):
        raise Hint(
            "`ndvi_of` gives wrong values on simple pixels (e.g. NIR 0.30 and Red 0.05 should give "
            f"{expected[0, 0]:.4f}, yours gives {result[0, 0]:.4f})."
        )
    dn = _call_ndvi(ndvi_of, np.array([3000, 0], dtype=np.uint16), np.array([4000, 0], dtype=np.uint16))
    if not np.allclose(dn, [-1 / 7, 0.0], atol=1e-9):
        raise Hint(
            "`ndvi_of` fails on integer digital numbers (uint16 NIR 3000 and Red 4000 should give -0.1429, "
            f"yours gives {float(np.ravel(dn)[0]):.4f}): unsigned integers wrap around when subtracted, so "
            "convert to float64 first."
        )

    bands = chapter_tile_bands()
    values = expect_array(ndvi, "ndvi", shape=bands.shape[1:], kind="f")
    expect_finite(values, "ndvi")
    reference = normalized_difference(bands[band_index("B8") - 1], bands[band_index("B4") - 1])
    if np.allclose(values, reference, atol=1e-9):
        return None
    stored = bands[band_index("NDVI") - 1]
    if np.allclose(values, stored, atol=1e-6):
        raise Hint("`ndvi` is the NDVI stored in channel 13; compute it yourself from the NIR and red bands.")
    spectral = [name for name in BAND_NAMES if name not in ("NDVI", "NDWI")]
    for first in spectral:
        for second in spectral:
            if first == second:
                continue
            guess = normalized_difference(bands[band_index(first) - 1], bands[band_index(second) - 1])
            if np.allclose(values, guess, atol=1e-9):
                raise Hint(
                    f"`ndvi` is computed from {first} and {second}; NDVI uses near infrared (B8) and red "
                    "(B4). "
                    "Array positions count from 0, rasterio's band indexes from 1."
                )
    raise Hint("`ndvi` differs from (B8 - B4) / (B8 + B4) of the chapter tile: check the bands you took.")


# --- regions and tiles --------------------------------------------------------------------------


@exercise_check(
    "acq-find-region",
    names=("place", "point", "nuts_code", "region_folder"),
    success="Point, region and folder are right.",
    likely=(
        LikelyError(
            IndexError,
            "The spatial join matched no region, so `joined` is empty. Usual causes: longitude and "
            "latitude swapped (a Point takes x, the longitude, first), the point left in EPSG:4326 "
            "while the outlines are in EPSG:3035, or a predicate that asks the point to contain the region.",
            contains="out-of-bounds|out of bounds",
        ),
        LikelyError(
            KeyError,
            "The column name is not among the outlines' columns: print `nuts3.columns` and pick the "
            "one that holds the region code.",
        ),
    ),
)
def check_find_region(place: object, point: object, nuts_code: object, region_folder: object) -> str | None:
    """place: a name; point: GeoDataFrame in EPSG:3035; nuts_code: its region; region_folder: 2024 folder."""
    import geopandas as gpd

    from landcover.data import GeocodingError, available_years, geocode, images_prefix, nuts3_at
    from landcover.data.tile_index import to_3035

    if not isinstance(place, str) or not place.strip():
        raise Hint(f"`place` should be a place name (text), but it is {place!r}.")
    try:
        lon, lat = geocode(place)
    except GeocodingError as error:
        raise Hint(f"`place` cannot be geocoded: {error}") from None
    if not isinstance(point, gpd.GeoDataFrame):
        raise Hint(f"`point` should be a GeoDataFrame, but it is a {type(point).__name__}.")
    if len(point) != 1:
        raise Hint(f"`point` has {len(point)} rows; it should hold the one point of the place.")
    if point.crs is None:
        raise Hint("`point` has no CRS: give the GeoDataFrame the CRS of its coordinates (degrees, WGS84).")
    epsg = point.crs.to_epsg()
    if epsg == 4326:
        raise Hint(
            "`point` is still in EPSG:4326 (degrees); reproject it to the CRS of the NUTS outlines "
            "(EPSG:3035)."
        )
    if epsg != 3035:
        raise Hint(f"`point` is in {point.crs.to_string()}; the NUTS outlines are in EPSG:3035.")
    geometry = point.geometry.iloc[0]
    if geometry is None or geometry.geom_type != "Point":
        raise Hint("`point` should hold a shapely Point.")
    x, y = to_3035(lon, lat, "EPSG:4326")
    if math.hypot(geometry.x - x, geometry.y - y) > 1.0:
        try:
            sx, sy = to_3035(lat, lon, "EPSG:4326")
            swapped = math.hypot(geometry.x - sx, geometry.y - sy) < 1.0
        except Exception:
            swapped = False
        if swapped:
            raise Hint("`point` has longitude and latitude swapped: a Point takes x (the longitude) first.")
        distance = math.hypot(geometry.x - x, geometry.y - y)
        raise Hint(
            f"`point` lies {distance:,.0f} m from where geocode() puts {place!r}: start from its (lon, lat)."
        )

    expected = nuts3_at(lon, lat)
    if hasattr(nuts_code, "iloc"):
        raise Hint(f"`nuts_code` is a {type(nuts_code).__name__}; take the one code it holds (`.iloc[0]`).")
    if not isinstance(nuts_code, str):
        raise Hint(f"`nuts_code` should be a region code (text), but it is a {type(nuts_code).__name__}.")
    if nuts_code != expected:
        raise Hint(f"`nuts_code` is {nuts_code!r}, not the region that contains the point: take its NUTS_ID.")
    if SEARCH_YEAR not in available_years(expected):
        raise Hint(
            f"{expected} has no {SEARCH_YEAR} tiles under this data root: choose a place in another region."
        )
    wanted = images_prefix(expected, SEARCH_YEAR)
    if not isinstance(region_folder, (str, os.PathLike)):
        raise Hint(f"`region_folder` should be a path (text), but it is a {type(region_folder).__name__}.")
    folder = os.fspath(region_folder)
    if _same_location(folder, wanted):
        return f"{place} lies in {nuts_code}."
    for year in (2018, 2021, 2024):
        if year != SEARCH_YEAR and _same_location(folder, images_prefix(expected, year)):
            raise Hint(f"`region_folder` is the folder of {year}; the steps ask for {SEARCH_YEAR}.")
    if "labels" in folder.replace("\\", "/").split("/"):
        raise Hint("`region_folder` is a labels folder; the tiles are under images/.")
    if folder.replace("\\", "/").rstrip("/").endswith(f"images/{expected}/{SEARCH_YEAR}"):
        raise Hint("`region_folder` is relative: build it under the active data root (images_prefix does).")
    raise Hint(f"`region_folder` is not images/{expected}/{SEARCH_YEAR} under the data root.")


@exercise_check(
    "acq-find-tile",
    names=("nuts_code", "x", "y", "inside", "tile_filename"),
    success="One vectorised test, one tile: the right one.",
    likely=(
        LikelyError(
            IndexError,
            "No tile contains your point, so there is no first match. Usual causes: `x, y` still in "
            "degrees (EPSG:4326) while the boxes are in EPSG:3035 metres, or longitude and latitude swapped.",
            contains="out-of-bounds|out of bounds|index 0",
        ),
        LikelyError(
            ValueError,
            "Python's `and` cannot combine arrays element by element: use `&`, with each comparison "
            "in parentheses.",
            contains="truth value of an array",
        ),
    ),
)
def check_find_tile(
    nuts_code: object, x: object, y: object, inside: object, tile_filename: object
) -> str | None:
    """inside: one boolean per row of the region's 2024 index; tile_filename: the tile holding (x, y)."""
    from landcover.data import PointOutsideTilesError, find_tile_at, load_tile_index

    if not isinstance(nuts_code, str):
        raise Hint(f"`nuts_code` should be a region code (text), but it is a {type(nuts_code).__name__}.")
    px, py = _as_float(x, "x"), _as_float(y, "y")
    if abs(px) <= 180 and abs(py) <= 90:
        raise Hint(
            "`x` and `y` look like degrees: take the coordinates of `point`, which is in EPSG:3035 (metres)."
        )
    index = load_tile_index(nuts_code, SEARCH_YEAR)
    if hasattr(inside, "to_numpy"):
        inside = inside.to_numpy()
    mask = expect_array(inside, "inside", ndim=1)
    if len(mask) != len(index):
        raise Hint(f"`inside` has {len(mask)} values; the index has {len(index)} tiles, one value each.")
    if mask.dtype != bool:
        raise Hint(f"`inside` has dtype {mask.dtype}; it should hold booleans (the result of comparisons).")
    boxes = np.stack(index["bbox"].to_numpy())
    closed = (boxes[:, 0] <= px) & (px <= boxes[:, 2]) & (boxes[:, 1] <= py) & (py <= boxes[:, 3])
    half_open = (boxes[:, 0] <= px) & (px < boxes[:, 2]) & (boxes[:, 1] <= py) & (py < boxes[:, 3])
    if not closed.any():
        raise Hint(
            f"no tile of {nuts_code}/{SEARCH_YEAR} holds the point ({px:.0f}, {py:.0f}): is it your point?"
        )
    if not (np.array_equal(mask, half_open) or np.array_equal(mask, closed)):
        if not mask.any():
            raise Hint(
                "`inside` is false for every tile: compare x with xmin and xmax (columns 0 and 2), "
                "y with ymin and ymax (columns 1 and 3)."
            )
        if mask.sum() > closed.sum():
            raise Hint(
                f"`inside` is true for {int(mask.sum())} tiles: all four conditions must hold at once "
                "(combine with &)."
            )
        raise Hint("`inside` marks another tile than the one containing the point: check each comparison.")
    try:
        expected = find_tile_at(px, py, nuts_code, SEARCH_YEAR)
    except PointOutsideTilesError as error:
        raise Hint(str(error)) from None
    if hasattr(tile_filename, "iloc"):
        raise Hint(f"`tile_filename` is a {type(tile_filename).__name__}; take the first file name it holds.")
    if not isinstance(tile_filename, str):
        raise Hint(
            f"`tile_filename` should be a file name (text), but it is a {type(tile_filename).__name__}."
        )
    if "/" in tile_filename or "\\" in tile_filename:
        raise Hint("`tile_filename` is a path: keep only the file name, as the index gives it.")
    if tile_filename == expected.stem:
        raise Hint("`tile_filename` lacks its .tif extension: take the name as the index gives it.")
    if tile_filename not in expected.candidates:
        raise Hint(
            f"`tile_filename` {tile_filename!r} does not contain the point: take the tile where `inside` is "
            "true."
        )
    return f"Tile {tile_filename}."


# --- GeoPandas ----------------------------------------------------------------------------------


def _tile_meta() -> dict[str, Any]:
    return _tile(_root(), CHAPTER_TILE[1])


@exercise_check(
    "acq-tile-crs",
    names=("tile_gdf", "tile_gdf_wgs84"),
    success="The tile's outline is right in EPSG:3035 and in EPSG:4326.",
    likely=(
        LikelyError(
            ValueError,
            "GeoPandas needs to know the CRS you start from before it can reproject: give the "
            "GeoDataFrame its CRS when you create it.",
            contains="naive geometries|without crs|crs",
        ),
    ),
)
def check_tile_crs(tile_gdf: object, tile_gdf_wgs84: object) -> None:
    """tile_gdf: the tile box in EPSG:3035; tile_gdf_wgs84: the same, reprojected to EPSG:4326."""
    import geopandas as gpd
    from shapely.geometry import box

    meta = _tile_meta()
    expected = box(*meta["bounds"])
    if not isinstance(tile_gdf, gpd.GeoDataFrame):
        raise Hint(f"`tile_gdf` should be a GeoDataFrame, but it is a {type(tile_gdf).__name__}.")
    if len(tile_gdf) != 1:
        raise Hint(f"`tile_gdf` has {len(tile_gdf)} rows; it should hold the one tile.")
    geometry = tile_gdf.geometry.iloc[0]
    if geometry is None or geometry.geom_type != "Polygon":
        raise Hint("`tile_gdf` should hold a polygon, the rectangle of the tile's bounds.")
    if not (
        np.allclose(geometry.bounds, expected.bounds, atol=1e-6) and abs(geometry.area - expected.area) < 1
    ):
        raise Hint(
            f"`tile_gdf`'s rectangle has bounds {tuple(round(v) for v in geometry.bounds)}; the tile's are "
            f"{tuple(round(v) for v in expected.bounds)}."
        )
    if tile_gdf.crs is None:
        raise Hint("`tile_gdf` has no CRS: without one, nothing says its numbers are metres of EPSG:3035.")
    if tile_gdf.crs.to_epsg() == 4326:
        raise Hint(
            "`tile_gdf` says its coordinates are degrees (EPSG:4326), but the tile's bounds are metres of "
            "its own CRS."
        )
    if tile_gdf.crs.to_epsg() != 3035:
        raise Hint(f"`tile_gdf` is labelled {tile_gdf.crs.to_string()}; the tile's CRS is EPSG:3035.")

    if not isinstance(tile_gdf_wgs84, gpd.GeoDataFrame):
        raise Hint(f"`tile_gdf_wgs84` should be a GeoDataFrame, but it is a {type(tile_gdf_wgs84).__name__}.")
    if tile_gdf_wgs84.crs is None or tile_gdf_wgs84.crs.to_epsg() != 4326:
        found = "no CRS" if tile_gdf_wgs84.crs is None else tile_gdf_wgs84.crs.to_string()
        raise Hint(f"`tile_gdf_wgs84` has {found}; it should be in EPSG:4326 (longitude, latitude).")
    moved = tile_gdf_wgs84.geometry.iloc[0]
    if np.allclose(moved.bounds, expected.bounds):
        raise Hint(
            "`tile_gdf_wgs84` still holds the metres of EPSG:3035 under a new label: set_crs only relabels, "
            "to_crs transforms the coordinates."
        )
    truth = gpd.GeoSeries([expected], crs="EPSG:3035").to_crs("EPSG:4326").iloc[0]
    if moved.hausdorff_distance(truth) > 1e-7:
        raise Hint(
            "`tile_gdf_wgs84` is not the tile's outline in longitude and latitude: reproject `tile_gdf` "
            "itself."
        )


@exercise_check(
    "acq-tile-nuts",
    names=("joined", "area_km2", "share"),
    success="Region found, and the area inside it is right.",
    likely=(
        LikelyError(
            IndexError,
            "The spatial join matched no region, so `joined` is empty. Usual causes: a predicate that "
            "needs the whole tile inside one region (a border tile is not), or two layers in different CRSs.",
            contains="out-of-bounds|out of bounds",
        ),
    ),
)
def check_tile_nuts(joined: object, area_km2: object, share: object) -> None:
    """joined: sjoin(tile, NUTS3, intersects); area_km2: tile ∩ region in km²; share: % of the tile."""
    import geopandas as gpd
    from shapely.geometry import box

    from landcover.data import load_nuts3, tile_bounds_from_name

    if not isinstance(joined, gpd.GeoDataFrame):
        raise Hint(
            f"`joined` should be the GeoDataFrame gpd.sjoin returns, but it is a {type(joined).__name__}."
        )
    if "tile" not in joined.columns or "NUTS_ID" not in joined.columns:
        raise Hint(
            "`joined` should keep the tile's columns and add the region's (NUTS_ID): join the tile with "
            "nuts3."
        )
    nuts3 = load_nuts3()
    if joined.empty:
        raise Hint(
            "`joined` is empty: no region was kept. Are both layers in EPSG:3035, and does the predicate "
            "keep "
            "regions that only share part of their ground with the tile?"
        )
    stem = str(joined["tile"].iloc[0])
    tile_box = box(*tile_bounds_from_name(stem))
    expected_ids = sorted(nuts3.loc[nuts3.intersects(tile_box), "NUTS_ID"])
    found_ids = sorted(set(joined["NUTS_ID"]))
    if found_ids != expected_ids:
        missing = sorted(set(expected_ids) - set(found_ids))
        if missing:
            raise Hint(
                f"`joined` misses {', '.join(missing)}, which the tile touches: the predicate should keep "
                "every "
                "region that shares some ground with the tile, not only those that contain it."
            )
        raise Hint(f"`joined` holds {', '.join(found_ids)}; the tile touches {', '.join(expected_ids)} only.")
    outline = nuts3.loc[nuts3["NUTS_ID"] == joined["NUTS_ID"].iloc[0], "geometry"].iloc[0]
    inside_m2 = tile_box.intersection(outline).area
    expected_km2 = inside_m2 / 1e6
    value = _as_float(area_km2, "area_km2")
    if not math.isclose(value, expected_km2, rel_tol=1e-6, abs_tol=1e-9):
        if math.isclose(value, inside_m2, rel_tol=1e-6):
            raise Hint(
                f"`area_km2` is {value:,.0f}: that is square metres, the unit of EPSG:3035. Convert to km²."
            )
        if math.isclose(value, tile_box.area / 1e6, rel_tol=1e-6):
            raise Hint(
                "`area_km2` is the area of the whole tile; the steps ask for the part inside the region."
            )
        if 0 < value < 1e-3:
            raise Hint(f"`area_km2` is {value:.3g}: an area computed in degrees? Measure it in EPSG:3035.")
        raise Hint(f"`area_km2` is {value:.4f}; the part of the tile inside its region has another area.")
    percent = _as_float(share, "share")
    expected_share = 100 * inside_m2 / tile_box.area
    if not math.isclose(percent, expected_share, rel_tol=1e-6, abs_tol=1e-6):
        if math.isclose(percent, expected_share / 100, rel_tol=1e-6):
            raise Hint(f"`share` is {percent:.4f}: a fraction; the steps ask for a percentage (0 to 100).")
        raise Hint(
            f"`share` is {percent:.2f}; divide the area inside by the whole tile's area (in the same unit)."
        )


# --- web maps -----------------------------------------------------------------------------------


def _map_parts(value: object, name: str) -> dict[str, list[Any]]:
    import folium

    from landcover.webmaps import map_layers

    if not isinstance(value, folium.Map):
        raise Hint(f"`{name}` should be a folium Map, but it is a {type(value).__name__}.")
    parts = map_layers(value)
    if not parts["images"]:
        raise Hint(f"`{name}` has no image layer: add the reprojected image to it.")
    if not parts["controls"]:
        raise Hint(
            f"`{name}` has no layer control: add one, last, so that it lists every layer by its name."
        )
    unnamed = [layer for layer in parts["images"] if layer.layer_name.startswith("image_overlay_")]
    if unnamed:
        raise Hint(
            f"an image layer of `{name}` has no name: give each layer the name the layer control shows."
        )
    return parts


def _overlay_on_grid(
    layers: list[Any], shape: tuple[int, int], bounds: list[list[float]], cell: float
) -> Any:
    """The image layer drawn on ``shape`` cells between ``bounds`` (within half a cell), or None."""
    from landcover.webmaps import overlay_image

    for layer in layers:
        try:
            pixels = overlay_image(layer)
        except ValueError:
            continue
        corners = np.asarray(layer.bounds, dtype=float)
        if pixels.shape[:2] == shape and np.allclose(corners, bounds, atol=cell / 2):
            return layer, pixels
    return None


def _expected_warp(year: int, resampling: str) -> Any:
    from landcover.webmaps import reproject_to_wgs84, wgs84_grid

    meta = _tile(_root(), year)
    data = meta["array"][[band_index(b) - 1 for b in TRUE_COLOUR]]
    grid = wgs84_grid(meta["crs"], meta["transform"], data.shape[2], data.shape[1])
    return reproject_to_wgs84(data, meta["transform"], meta["crs"], resampling, grid=grid), grid


@exercise_check(
    "acq-tile-map",
    names=("rgb_wgs84", "dst_transform", "tile_map"),
    success="Pixels resampled bilinearly onto the WGS84 grid, and drawn in their place on the map.",
)
def check_tile_map(rgb_wgs84: object, dst_transform: object, tile_map: object) -> None:
    """rgb_wgs84: B4, B3, B2 reprojected to EPSG:4326 (3, rows, cols) with NaN outside; the map shows it."""
    from affine import Affine

    bilinear, grid = _expected_warp(CHAPTER_TILE[1], "bilinear")
    transform, width, height = grid
    values = expect_array(rgb_wgs84, "rgb_wgs84", ndim=3)
    source_shape = chapter_tile_bands().shape[1:]
    if values.shape in ((3, *source_shape), (*source_shape, 3)):
        raise Hint(
            "`rgb_wgs84` still has the tile's own 250 x 250 grid: it was not reprojected onto the "
            "grid calculate_default_transform gives."
        )
    if values.shape == (height, width, 3):
        raise Hint("`rgb_wgs84` is (rows, cols, 3); keep the bands first, as reproject writes them.")
    if values.shape != (3, height, width):
        raise Hint(
            f"`rgb_wgs84` has shape {values.shape}; the WGS84 grid of the tile is (3, {height}, {width})."
        )
    if np.all(np.isnan(values)):
        raise Hint(
            "`rgb_wgs84` is all NaN: nothing landed on the grid. Check the source transform and both CRSs."
        )
    empty = ~bilinear.valid
    if not np.isnan(values).any() and empty.any():
        raise Hint(
            "`rgb_wgs84` has no NaN: the cells outside the tile (its corners) hold values; start from NaN "
            "and "
            "pass dst_nodata=np.nan so they stay empty."
        )
    if not np.allclose(values, bilinear.array, atol=1e-5, equal_nan=True):
        nearest, _ = _expected_warp(CHAPTER_TILE[1], "nearest")
        if np.allclose(values, nearest.array, atol=1e-6, equal_nan=True):
            raise Hint(
                "`rgb_wgs84` was resampled with nearest neighbour; reflectance is continuous, "
                "so interpolate it (bilinear)."
            )
        raise Hint(
            "`rgb_wgs84` differs from the bilinear reprojection of `rgb_data` onto the grid: check the "
            "source "
            "transform, the CRSs and the resampling."
        )
    if not isinstance(dst_transform, Affine):
        raise Hint(
            "`dst_transform` should be the Affine transform of the new grid, not a "
            f"{type(dst_transform).__name__}."
        )
    if not dst_transform.almost_equals(transform, precision=1e-9):
        raise Hint("`dst_transform` is not the transform calculate_default_transform gives for the tile.")
    parts = _map_parts(tile_map, "tile_map")
    found = _overlay_on_grid(parts["images"], (height, width), bilinear.folium_bounds, abs(transform.a))
    if found is None:
        from landcover.webmaps import overlay_image

        shapes = []
        for layer in parts["images"]:
            try:
                shapes.append(overlay_image(layer).shape[:2])
            except ValueError:
                pass
        if source_shape in shapes:
            raise Hint(
                "the map's image has the tile's own 250 x 250 pixels: it is stretched over the corners, "
                "not reprojected. Draw `rgb_wgs84`."
            )
        (south, west), (north, east) = bilinear.folium_bounds
        for layer in parts["images"]:
            corners = np.asarray(layer.bounds, dtype=float)
            swapped = [[west, south], [east, north]]
            if corners.shape == (2, 2) and np.allclose(corners, swapped, atol=abs(transform.a)):
                raise Hint(
                    "the image's corners are given as (longitude, latitude); folium and Leaflet want each "
                    "corner latitude first, the south-west corner before the north-east one."
                )
        raise Hint("no image layer of `tile_map` shows `rgb_wgs84` between the corners of its grid.")
    _, pixels = found
    if np.any(pixels[empty, 3] != 0):
        raise Hint("the corners outside the tile are drawn opaque: make them transparent (alpha 0).")


@exercise_check(
    "acq-label-map",
    names=("image_wgs84", "label_wgs84", "label_map"),
    success="Image bilinear, label nearest, one grid, and a complete map.",
)
def check_label_map(image_wgs84: object, label_wgs84: object, label_map: object) -> None:
    """image_wgs84: (3, rows, cols), bilinear; label_wgs84: class ids, nearest, same grid; a map of both."""
    from landcover.classes import CLASS_COLOURS, CLASS_IDS, NODATA
    from landcover.webmaps import reproject_to_wgs84

    bilinear, grid = _expected_warp(LABEL_YEAR, "bilinear")
    transform, width, height = grid
    image = expect_array(image_wgs84, "image_wgs84", ndim=3)
    if image.shape != (3, height, width):
        raise Hint(
            f"`image_wgs84` has shape {image.shape}; the WGS84 grid of the 2021 tile is (3, {height}, "
            f"{width})."
        )
    if not np.allclose(image, bilinear.array, atol=1e-5, equal_nan=True):
        nearest, _ = _expected_warp(LABEL_YEAR, "nearest")
        if np.allclose(image, nearest.array, atol=1e-6, equal_nan=True):
            raise Hint(
                "`image_wgs84` was resampled with nearest neighbour; reflectance is continuous: bilinear."
            )
        raise Hint(
            "`image_wgs84` differs from the bilinear reprojection of the 2021 bands B4, B3, B2 on `grid`."
        )
    values = expect_array(label_wgs84, "label_wgs84")
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 2:
        raise Hint(f"`label_wgs84` has shape {values.shape}; a label is one band of class ids.")
    if values.shape != (height, width):
        raise Hint(
            f"`label_wgs84` is {values.shape[0]} x {values.shape[1]} cells, the image {height} x {width}: "
            "resample the label on the image's grid so that their cells coincide."
        )
    allowed = {NODATA, *CLASS_IDS}
    if not np.issubdtype(values.dtype, np.integer):
        if np.any(np.isfinite(values) & ~np.isin(values, list(allowed))):
            raise Hint(
                "`label_wgs84` holds values between class ids (e.g. 2.5): it was interpolated. "
                "Class ids need nearest-neighbour resampling."
            )
        raise Hint(f"`label_wgs84` has dtype {values.dtype}; keep the label's integer class ids.")
    meta = _tile(_root(), LABEL_YEAR)
    label = _label(_root(), LABEL_YEAR)
    expected = reproject_to_wgs84(label, meta["transform"], meta["crs"], "nearest", grid=grid).array[0]
    if not np.array_equal(values, expected):
        unknown = sorted(set(np.unique(values).tolist()) - allowed)
        if unknown:
            raise Hint(
                f"`label_wgs84` holds {unknown}, which are no class ids: use nearest-neighbour resampling."
            )
        share = float(np.mean(values != expected))
        raise Hint(
            f"`label_wgs84` differs from the nearest-neighbour resampling of the label on {share:.1%} of "
            "the cells."
        )
    parts = _map_parts(label_map, "label_map")
    if len(parts["images"]) < 2:
        raise Hint("`label_map` should have two image layers, the image and the label, each with its name.")
    cell = abs(transform.a)
    image_layers = [layer for layer in parts["images"]]
    found = _overlay_on_grid(image_layers, (height, width), bilinear.folium_bounds, cell)
    if found is None:
        raise Hint(
            "no layer of `label_map` shows the reprojected image or label between the corners of the grid."
        )
    colours = {tuple(int(CLASS_COLOURS[c][k : k + 2], 16) for k in (1, 3, 5)) for c in CLASS_IDS}
    label_layer = None
    for layer in image_layers:
        hit = _overlay_on_grid([layer], (height, width), bilinear.folium_bounds, cell)
        if hit is None:
            continue
        opaque = hit[1][hit[1][..., 3] > 0][:, :3]
        if len(opaque) and all(tuple(int(v) for v in rgb) in colours for rgb in np.unique(opaque, axis=0)):
            label_layer = layer
    if label_layer is None:
        raise Hint("no layer of `label_map` draws the label in the class colours of the book (class_rgba).")
    if not parts["legends"]:
        raise Hint("`label_map` has no class legend: add one (add_class_legend).")
    if not parts["geojson"]:
        raise Hint("`label_map` has no tooltips naming the classes (add_class_tooltips).")


# --- labels -------------------------------------------------------------------------------------


@exercise_check(
    "acq-label",
    names=("label_file", "label"),
    success="Label loaded: uint8 class ids of the 2021 tile.",
    likely=(
        LikelyError(
            TypeError,
            "`np.load` reads a file or a file-like object: wrap the bytes in `io.BytesIO(...)`, and "
            "pass the bytes of the file, not its location.",
            contains="bytes-like|expected str|not bytes|file",
        ),
        LikelyError(
            FileNotFoundError,
            "Labels exist for 2018 and 2021 only, under `labels/` (not `images/`), with the tile's "
            "file name and `.npy`.",
        ),
    ),
)
def check_label(label_file: object, label: object) -> None:
    """label_file: the 2021 label's location under the data root; label: its array (250, 250)."""
    from landcover.data import image_path, label_path

    nuts, _, stem = CHAPTER_TILE
    expected_file = label_path(nuts, LABEL_YEAR, stem)
    if not isinstance(label_file, (str, os.PathLike)):
        raise Hint(f"`label_file` should be a location (text), but it is a {type(label_file).__name__}.")
    text = os.fspath(label_file)
    if not _same_location(text, expected_file):
        if text.endswith(".tif") or _same_location(text, image_path(nuts, LABEL_YEAR, stem)):
            raise Hint("`label_file` is the image; the label lives under labels/ and ends in .npy.")
        for year in (2018, 2024):
            if _same_location(text, label_path(nuts, year, stem)):
                hint = "there is no 2024 label" if year == 2024 else "that is the 2018 label"
                raise Hint(f"`label_file` is for {year}: {hint}; the steps take {LABEL_YEAR}.")
        raise Hint(f"`label_file` is not the {LABEL_YEAR} label of tile {stem} under the active data root.")
    values = expect_array(label, "label", ndim=2)
    expected = _label(_root(), LABEL_YEAR)
    if values.shape != expected.shape:
        raise Hint(f"`label` has shape {values.shape}; labels are {expected.shape}.")
    if not np.issubdtype(values.dtype, np.integer):
        raise Hint(f"`label` has dtype {values.dtype}; a label holds integer class ids (uint8), as stored.")
    raw = sorted(v for v in np.unique(values).tolist() if v > 10)
    if raw:
        raise Hint(
            f"`label` holds raw CLC+ codes {raw}: not remapped. Codes 253, 254 and 255 mean no data (0) and "
            "11 "
            "(snow and ice) is class 9 in the book."
        )
    if not np.array_equal(values, expected):
        raise Hint(f"`label` differs from the content of {expected_file}.")


@exercise_check(
    "acq-pair",
    names=("pair_path", "pair_rgb", "mean_ndvi"),
    success="Image and label of the same year, and the right mean NDVI per class.",
    likely=(
        LikelyError(
            FileNotFoundError,
            "The image must be of the label's year: there are no labels for 2024, and the label you "
            "loaded is of `LABEL_YEAR`.",
        ),
        LikelyError(
            IndexError,
            "Image and label must come from the same year and tile, so that they have the same shape "
            "and a boolean mask of one selects pixels of the other.",
            contains="boolean index",
        ),
    ),
)
def check_pair(pair_path: object, pair_rgb: object, mean_ndvi: object) -> None:
    """pair_path: the 2021 image; pair_rgb: its true colour; mean_ndvi: {class id: mean NDVI}."""
    from landcover.data import image_path
    from landcover.viz import classes_present, false_colour, true_colour

    nuts, _, stem = CHAPTER_TILE
    if not isinstance(pair_path, (str, os.PathLike)):
        raise Hint(f"`pair['path']` should be a location, but it is a {type(pair_path).__name__}.")
    if not _same_location(os.fspath(pair_path), image_path(nuts, LABEL_YEAR, stem)):
        if _same_location(os.fspath(pair_path), image_path(nuts, CHAPTER_TILE[1], stem)):
            raise Hint(
                f"`pair` is the {CHAPTER_TILE[1]} image; the label describes {LABEL_YEAR}: read that year."
            )
        raise Hint(f"`pair` is not tile {stem} of {nuts} {LABEL_YEAR}.")
    bands = _tile(_root(), LABEL_YEAR)["array"]
    image = expect_array(pair_rgb, "pair_rgb", shape=(*bands.shape[1:], 3))
    if not np.allclose(image, true_colour(bands), atol=2e-3):
        if np.allclose(image, false_colour(bands), atol=2e-3):
            raise Hint("`pair_rgb` is the false-colour composite; the steps ask for true colour.")
        raise Hint("`pair_rgb` is not the stretched true-colour composite (B4, B3, B2) of the 2021 tile.")
    if not isinstance(mean_ndvi, Mapping):
        raise Hint(
            f"`mean_ndvi` should be a dictionary {{class id: mean NDVI}}, but it is a "
            f"{type(mean_ndvi).__name__}."
        )
    label = _label(_root(), LABEL_YEAR)
    wanted = classes_present(label)
    keys = sorted(int(k) for k in mean_ndvi)
    if 0 in keys:
        raise Hint("`mean_ndvi` has an entry for 0, which is no data, not a class: leave it out.")
    if keys != wanted:
        missing, extra = sorted(set(wanted) - set(keys)), sorted(set(keys) - set(wanted))
        detail = (
            f"misses class(es) {missing}" if missing else f"has class(es) {extra} the label does not hold"
        )
        raise Hint(f"`mean_ndvi` {detail}: use the classes present in the label.")
    ndvi = bands[band_index("NDVI") - 1]
    other = _tile(_root(), CHAPTER_TILE[1])["array"][band_index("NDVI") - 1]
    for key in keys:
        value = _as_float(mean_ndvi[key], f"mean_ndvi[{key}]")
        expected = float(ndvi[label == key].mean())
        if abs(value - expected) <= 1e-3:
            continue
        if abs(value - float(other[label == key].mean())) <= 1e-6:
            raise Hint(
                f"`mean_ndvi` was computed on the {CHAPTER_TILE[1]} image; pair the label with {LABEL_YEAR}."
            )
        raise Hint(
            f"`mean_ndvi[{key}]` is {value:.3f}: average the NDVI of the pixels where the label is {key}."
        )


# --- clouds ---------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _cloudy_bands(root: str) -> np.ndarray:
    from landcover.data import read_tile

    return read_tile(*CLOUDY_TILE, root=root)["array"]


@exercise_check(
    "acq-clouds",
    names=("hot", "cloudy_pixels", "cloud_share"),
    success="Clouds flagged by the haze-optimised transform, and their share of the tile.",
    likely=(
        LikelyError(
            IndexError,
            "`band_index` counts bands from 1, as rasterio does; a NumPy array counts from 0, so "
            "subtract 1 before you index the array with it.",
            contains="out of bounds",
        ),
        LikelyError(
            TypeError,
            "`hot > HOT_THRESHOLD` is already the boolean array; its share is its mean, a number "
            "(`float(...)` turns a NumPy number into a plain one).",
            contains="not callable|unsupported operand",
        ),
    ),
)
def check_clouds(hot: object, cloudy_pixels: object, cloud_share: object) -> None:
    """hot: B2 - 0.5 * B4 of the cloudy tile; cloudy_pixels: hot > HOT_THRESHOLD; cloud_share: its mean."""
    from landcover.clouds import HOT_THRESHOLD, haze_optimised_transform

    bands = _cloudy_bands(_root())
    expected = haze_optimised_transform(bands)
    values = expect_array(hot, "hot", shape=expected.shape)
    blue, green, red = (bands[band_index(name) - 1] for name in ("B2", "B3", "B4"))
    if np.allclose(values, red - 0.5 * blue, atol=1e-5):
        raise Hint("`hot` takes half of the blue band from the red one; HOT is blue minus half of red.")
    if np.allclose(values, green - 0.5 * red, atol=1e-5) or np.allclose(values, blue - 0.5 * green, atol=1e-5):
        raise Hint("`hot` uses the green band (B3); HOT needs the blue (B2) and the red (B4) bands.")
    if np.allclose(values, blue - red, atol=1e-5):
        raise Hint("`hot` subtracts all of the red band; the transform subtracts half of it.")
    if not np.allclose(values, expected, atol=1e-5):
        raise Hint("`hot` is not blue minus half of red for every pixel of the cloudy tile.")
    flags = expect_array(cloudy_pixels, "cloudy_pixels", shape=expected.shape, kind="b")
    wanted = expected > HOT_THRESHOLD
    if np.array_equal(flags, ~wanted) or np.array_equal(flags, expected < HOT_THRESHOLD):
        raise Hint("`cloudy_pixels` flags the clear pixels: clouds are where HOT is above the threshold.")
    if not np.array_equal(flags, wanted):
        raise Hint(f"`cloudy_pixels` should be True exactly where `hot` is above HOT_THRESHOLD ({HOT_THRESHOLD}).")
    share = _as_float(cloud_share, "cloud_share")
    truth = float(wanted.mean())
    if math.isclose(share, 100 * truth, rel_tol=1e-6) and truth > 0:
        raise Hint("`cloud_share` is a percentage; the steps ask for a share between 0 and 1.")
    if math.isclose(share, float(wanted.sum()), rel_tol=1e-9) and wanted.sum() > 1:
        raise Hint("`cloud_share` is the number of cloudy pixels; divide by the number of pixels in the tile.")
    if not math.isclose(share, truth, rel_tol=1e-6, abs_tol=1e-9):
        raise Hint("`cloud_share` should be the share of the tile's pixels that `cloudy_pixels` flags.")

"""Checks for chapter 3, inference.

Each check recomputes its reference with the package (the model published under
the active data root, the chapter's tiles) and compares; nothing is stored. Hints
name what is off (shape, range, the +1 of class ids, the network size, a window
past the edge) without giving the code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from landcover.exercises.checks import Hint, exercise_check, expect_array
from landcover.exercises.explain import LikelyError

if TYPE_CHECKING:
    from landcover.inference import LoadedModel

#: The tile chapter 3 predicts first (the town tile of chapter 1): region, year, stem.
CHAPTER_TILE = ("LU000", 2024, "4042000_2951690_0_637")
#: A labelled year of the same tile, for the first agreement figures.
LABEL_YEAR = 2021
#: Image sides the window exercise is tried on (pixels), with the model's 250-pixel windows.
WINDOW_CASES = ((250, 250, 62), (100, 250, 62), (251, 250, 62), (420, 250, 62), (600, 250, 62), (1000, 250, 0))


def _root() -> str:
    from landcover.config import data_root

    return data_root()


@lru_cache(maxsize=2)
def published_model(root: str) -> LoadedModel:
    """The model published under ``root`` (what the chapter loads), loaded once per data root."""
    from landcover.inference import load_model

    return load_model(root)


@lru_cache(maxsize=4)
def _tile(root: str, year: int) -> dict[str, Any]:
    from landcover.data import read_tile

    nuts, _, stem = CHAPTER_TILE
    return read_tile(nuts, year, stem, root=root)


@lru_cache(maxsize=4)
def _prediction(root: str, year: int) -> np.ndarray:
    """The package's prediction of the chapter tile of ``year`` (uint8 classes)."""
    from landcover.inference import predict

    return predict(_tile(root, year), published_model(root))["mask"]


def _class_ids_hint(values: np.ndarray, name: str) -> None:
    present = np.unique(values)
    if present.size and present.min() == 0 and present.max() <= 9:
        raise Hint(
            f"`{name}` holds the values {present.tolist()}: channel k of the logits is class k + 1 "
            "(argmax gives 0..9, the classes are 1..10)."
        )
    if present.size and (present.min() < 0 or present.max() > 10):
        raise Hint(f"`{name}` holds values outside 0..10 ({present.min()}..{present.max()}): is it a class mask?")


@exercise_check(
    "inf-load",
    names=("params", "loaded"),
    success="Model and parameters loaded from the published artifacts.",
    likely=(
        LikelyError(
            FileNotFoundError,
            "Nothing is published at that location: `published` knows where the model folder and "
            "`params.json` are; print it and use its locations, not a path typed by hand.",
        ),
    ),
)
def check_load(params: object, loaded: object) -> None:
    """params: the checked content of params.json; loaded: the model and its parameters."""
    from landcover.inference import PARAM_KEYS, LoadedModel, load_params, published_model_location

    expected = load_params(published_model_location(_root()).params_location)
    if isinstance(params, str):
        raise Hint("`params` is text: read the file as parameters (a dictionary), not as a string.")
    if not isinstance(params, Mapping):
        raise Hint(f"`params` should be a dictionary of the model's parameters, not a {type(params).__name__}.")
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise Hint(f"`params` lacks {missing}: it should hold every key of params.json.")
    if any(isinstance(params[key], str) for key in ("n_bands", "tiles_size", "augment_size")):
        raise Hint("The sizes in `params` are text: use the package's reader, which checks and converts them.")
    if dict(params) != dict(expected):
        raise Hint("`params` differs from the published params.json: read the file next to the model.")
    if not isinstance(loaded, LoadedModel):
        raise Hint(
            f"`loaded` is a {type(loaded).__name__}; it should be what the package's loader returns: the "
            "model together with its parameters and its name and version."
        )
    if dict(loaded.params) != dict(expected):
        raise Hint("`loaded` carries other parameters than the published ones: load the published model.")


@exercise_check(
    "inf-steps",
    names=("batch", "logits", "classes"),
    success="Normalised, resized, forward, upsampled, argmax + 1: the same classes as the package.",
    likely=(
        LikelyError(
            ValueError,
            "The model wants a batch, (images, bands, rows, cols), of the network's size: a single "
            "(bands, rows, cols) tile lacks the first axis.",
            contains="shape|dimension|expected",
        ),
    ),
)
def check_steps(batch: object, logits: object, classes: object) -> None:
    """batch: the tile ready for the network; logits: its raw output; classes: the tile's class mask."""
    from landcover.inference import logits_to_labels, model_logits, preprocess

    root = _root()
    loaded = published_model(root)
    tile = _tile(root, CHAPTER_TILE[1])["array"]
    expected_batch = preprocess(tile, loaded.params)
    size = int(loaded.params["augment_size"])
    value = expect_array(batch, "batch", kind="f")
    if value.ndim == 3:
        raise Hint("`batch` has three axes: the network takes a batch of images, (images, bands, rows, cols).")
    if value.shape[-2:] == tuple(tile.shape[-2:]) and size != tile.shape[-1]:
        raise Hint(f"`batch` is {value.shape[-1]} pixels wide: the network was trained on {size}-pixel inputs.")
    if value.shape != expected_batch.shape:
        raise Hint(f"`batch` has shape {value.shape}; the network expects {expected_batch.shape}.")
    if np.nanmax(value) <= 1.5 and np.nanmin(value) >= -0.5:
        raise Hint("`batch` still looks like reflectance (0..1): normalise each band with the model's mean and std.")
    if not np.allclose(value, expected_batch, atol=1e-3):
        raise Hint("`batch` differs from the tile normalised with the model's parameters and resized.")
    raw = expect_array(logits, "logits", ndim=4, kind="f")
    expected_logits = model_logits(loaded.model, expected_batch)
    if raw.shape != expected_logits.shape:
        raise Hint(f"`logits` has shape {raw.shape}; the model's raw output has shape {expected_logits.shape}.")
    if not np.allclose(raw, expected_logits, atol=1e-3):
        raise Hint("`logits` differ from the model's output for `batch`: pass the normalised batch itself.")
    mask = expect_array(classes, "classes", ndim=2)
    if mask.shape != tuple(tile.shape[-2:]):
        raise Hint(
            f"`classes` is {mask.shape}; it must cover the tile's {tile.shape[-2:]} pixels: the logits come "
            "at a quarter of the network's size and must be brought back to the tile's size first."
        )
    _class_ids_hint(mask, "classes")
    expected = logits_to_labels(raw[0], tuple(tile.shape[-2:]))
    agree = float(np.mean(mask == expected))
    if agree < 0.999:
        raise Hint(
            f"`classes` agrees with the upsampled argmax on {agree:.1%} of the pixels: upsample the logits "
            "(bilinear) before taking the best class, not the classes after."
        )


@exercise_check(
    "inf-predict",
    names=("result",),
    success="One call: the tile's classes, 1..10, on its own grid.",
)
def check_predict(result: object) -> None:
    """result: what predict() returns for the chapter tile (a dict with the image and the mask)."""
    if not isinstance(result, Mapping) or "mask" not in result:
        raise Hint("`result` should be what `predict` returns for one image: a dictionary holding a `mask`.")
    root = _root()
    mask = expect_array(result["mask"], 'result["mask"]', ndim=2)
    expected = _prediction(root, CHAPTER_TILE[1])
    if mask.shape != expected.shape:
        raise Hint(f"the mask is {mask.shape}; the tile is {expected.shape}: predict the chapter's tile.")
    _class_ids_hint(mask, 'result["mask"]')
    if mask.dtype != np.uint8:
        raise Hint(f"the mask is {mask.dtype}; class ids are stored as uint8.")
    agree = float(np.mean(mask == expected))
    if agree < 0.999:
        raise Hint(
            f"the mask agrees with the package's prediction on {agree:.1%} of the pixels: pass the "
            "model's own parameters (tile size, network size, bands, mean and std, module)."
        )


@exercise_check(
    "inf-windows",
    names=("window_starts_of",),
    success="Windows that cover every pixel, end at the edge and never leave the image.",
)
def check_windows(window_starts_of: object) -> None:
    """window_starts_of: the reader's function (length, size, overlap) -> first pixel of each window."""
    from landcover.inference.windows import window_starts

    if not callable(window_starts_of):
        raise Hint("`window_starts_of` should be a function of (length, size, overlap).")
    function: Callable[..., Any] = window_starts_of
    for length, size, overlap in WINDOW_CASES:
        expected = window_starts(length, size, overlap)
        got = [int(v) for v in function(length, size, overlap)]
        case = f"an image of {length} pixels, windows of {size}, overlap {overlap}"
        if any(start + min(size, length) > length for start in got):
            raise Hint(f"for {case}, a window starts at {max(got)} and runs past the edge.")
        covered = np.zeros(length, bool)
        for start in got:
            covered[start : start + size] = True
        if not covered.all():
            raise Hint(f"for {case}, pixels {int(np.argmin(covered))}.. are in no window.")
        if got != expected:
            raise Hint(
                f"for {case} you start windows at {got}: step by the window size minus the overlap, and "
                "start the last window where it ends exactly at the edge (no duplicates)."
            )


@exercise_check(
    "inf-agreement",
    names=("overall", "producers", "users"),
    success="Agreement computed on the labelled pixels, per class both ways.",
    likely=(
        LikelyError(
            IndexError,
            "The prediction and the label must be of the same tile and year, with the same shape, so "
            "that a boolean mask of one selects pixels of the other.",
            contains="boolean index",
        ),
    ),
)
def check_agreement(overall: object, producers: object, users: object) -> None:
    """overall: share of labelled pixels where map and label agree; producers/users: per class, by id."""
    import pandas as pd

    from landcover.data import label_path, load_label

    root = _root()
    nuts, _, stem = CHAPTER_TILE
    label = load_label(label_path(nuts, LABEL_YEAR, stem, root))
    mask = _prediction(root, LABEL_YEAR)
    valid = label > 0
    expected_overall = float(np.mean(mask[valid] == label[valid]))
    try:
        value = float(overall)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Hint(f"`overall` should be one number (a share), not a {type(overall).__name__}.") from None
    if abs(value - float(np.mean(mask == label))) < 1e-9 and abs(value - expected_overall) > 1e-6:
        raise Hint("`overall` counts the no-data pixels of the label: compare only where the label has a class.")
    if abs(value - 100 * expected_overall) < 1e-6:
        raise Hint("`overall` is a percentage: give it as a share between 0 and 1.")
    if abs(value - expected_overall) > 1e-6:
        raise Hint("`overall` is not the share of labelled pixels where the prediction equals the label.")
    in_label = sorted(set(np.unique(label[valid]).tolist()) - {0})
    in_map = sorted(set(np.unique(mask[valid]).tolist()) - {0})
    reference = {
        # producer's: of the pixels the label puts in class k, the share the map puts there too
        "producers": _shares(mask, label, valid, in_label),
        # user's: of the pixels the map puts in class k, the share the label agrees with
        "users": _shares(label, mask, valid, in_map),
    }
    for name, other in (("producers", "users"), ("users", "producers")):
        series = producers if name == "producers" else users
        if not isinstance(series, pd.Series):
            raise Hint(f"`{name}` should be a pandas Series indexed by class id, not a {type(series).__name__}.")
        got = series.astype(float).rename(index=int)
        expected = reference[name]
        missing = sorted(set(expected.index) - set(got.index))
        if missing:
            where = "label" if name == "producers" else "map"
            raise Hint(f"`{name}` lacks classes {missing}, which the {where} holds on labelled pixels.")
        got = got.reindex(expected.index)
        if np.allclose(got, expected, atol=1e-6, equal_nan=True):
            continue
        swapped = reference[other].reindex(expected.index)
        if np.allclose(got, swapped, atol=1e-6, equal_nan=True):
            raise Hint(f"`{name}` holds the {other}' agreement: the two are swapped (which one divides by the label?).")
        wrong = [k for k in expected.index if not np.isclose(got[k], expected[k], atol=1e-6, equal_nan=True)]
        raise Hint(f"`{name}` is off for classes {wrong}: count only labelled pixels, per class.")


def _shares(mapped: np.ndarray, reference: np.ndarray, valid: np.ndarray, classes: list[int]) -> Any:
    """Per class k: among valid pixels where ``reference`` is k, the share where ``mapped`` is k too."""
    import pandas as pd

    values = {}
    for k in classes:
        chosen = valid & (reference == k)
        values[k] = float(np.mean(mapped[chosen] == k)) if chosen.any() else float("nan")
    return pd.Series(values, dtype=float)


#: The region of the region exercise: BE100 (covered by tiles completely), 2024.
REGION = ("BE100", 2024)
#: Area of one 10 m pixel in km².
PIXEL_KM2 = 1e-4


@lru_cache(maxsize=2)
def _region_counts(root: str) -> np.ndarray:
    """Pixel counts of class ids 0..10 in the package's mosaic of :data:`REGION` (read from the store)."""
    from landcover.inference import predict_region

    mask = predict_region(*REGION, published_model(root), progress=False, root=root)["mask"]
    return np.bincount(mask.ravel(), minlength=11)


@exercise_check(
    "inf-region",
    names=("areas", "covered_km2"),
    success="Areas per class and covered area of the region's map, in km².",
    likely=(
        LikelyError(
            ValueError,
            "`np.bincount` counts the values of a flat, one-dimensional array of whole numbers: "
            "the mosaic is two-dimensional.",
            contains="1 dimension|one dimension|object too deep|must be 1",
        ),
    ),
)
def check_region(areas: object, covered_km2: object) -> None:
    """areas: km² per class 1..10 (pandas Series indexed by class id); covered_km2: km² with a class."""
    import pandas as pd

    counts = _region_counts(_root())
    expected = pd.Series(counts[1:] * PIXEL_KM2, index=range(1, 11))
    if not isinstance(areas, pd.Series):
        raise Hint(f"`areas` should be a pandas Series indexed by class id, not a {type(areas).__name__}.")
    got = areas.astype(float).reindex(expected.index)
    if np.allclose(got, counts[1:], rtol=1e-9):
        raise Hint("`areas` holds pixel counts: multiply by the area of one pixel in km².")
    for wrong, unit in ((1e-2, "hectares"), (100.0, "m²")):
        if np.allclose(got, counts[1:] * wrong, rtol=1e-9):
            raise Hint(f"`areas` looks like {unit}: one 10 m pixel is 100 m², and 1 km² is 1,000,000 m².")
    if not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        raise Hint("`areas` differs from the pixel counts of the mosaic times the pixel area.")
    try:
        covered = float(covered_km2)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Hint(f"`covered_km2` should be one number, not a {type(covered_km2).__name__}.") from None
    if abs(covered - counts.sum() * PIXEL_KM2) < 1e-9 and counts[0] > 0:
        raise Hint("`covered_km2` counts the pixels of class 0 (no tile, no data): leave them out.")
    if abs(covered - counts[1:].sum() * PIXEL_KM2) > 1e-6:
        raise Hint("`covered_km2` is not the total area of the pixels that have a class.")


@exercise_check(
    "inf-polygons",
    names=("polygons", "by_class"),
    success="Polygons in EPSG:3035 whose areas add up to the mask's, class by class.",
)
def check_polygons(polygons: object, by_class: object) -> None:
    """polygons: GeoDataFrame of the tile's classes; by_class: km² per class id from the polygons."""
    import geopandas as gpd
    import pandas as pd

    mask = _prediction(_root(), CHAPTER_TILE[1])
    counts = np.bincount(mask.ravel(), minlength=11)
    if not isinstance(polygons, gpd.GeoDataFrame):
        raise Hint(f"`polygons` should be a GeoDataFrame, not a {type(polygons).__name__}.")
    if polygons.crs is None or polygons.crs.to_epsg() != 3035:
        raise Hint(f"`polygons` is in {polygons.crs}; the tile's grid is EPSG:3035 (metres).")
    if "class_id" not in polygons.columns:
        raise Hint("`polygons` has no `class_id` column: vectorise the predicted mask with the package.")
    if (polygons["class_id"] == 0).any():
        raise Hint("`polygons` holds class 0: no-data pixels should not become polygons.")
    pixels = polygons.geometry.area.groupby(polygons["class_id"]).sum() / 1e6
    expected = pd.Series(counts[1:] * PIXEL_KM2, index=range(1, 11))
    expected = expected[expected > 0]
    if not np.allclose(pixels.reindex(expected.index).fillna(0), expected, rtol=1e-9):
        raise Hint("the polygons do not cover the predicted mask of the chapter tile, class by class.")
    if not isinstance(by_class, pd.Series):
        raise Hint(f"`by_class` should be a pandas Series indexed by class id, not a {type(by_class).__name__}.")
    got = by_class.astype(float).reindex(expected.index)
    if np.allclose(got, expected * 1e6, rtol=1e-9):
        raise Hint("`by_class` is in m²: divide by 1,000,000 for km².")
    if not np.allclose(got, expected, rtol=1e-9):
        raise Hint("`by_class` is not the sum of the polygons' areas per class, in km².")


@exercise_check(
    "inf-stac",
    names=("item_json", "crs_code", "shape", "n_classes"),
    success="CRS, grid size and classes read from the Item's extensions.",
    likely=(
        LikelyError(
            KeyError,
            "That key is not where you looked: the grid is described in the Item's `properties`, the "
            "classes on its `classification` asset; print the keys of each level.",
        ),
    ),
)
def check_stac(item_json: object, crs_code: object, shape: object, n_classes: object) -> None:
    """item_json: the exported Item; crs_code: its proj:code; shape: its proj:shape; n_classes: 10."""
    from landcover.classes import CLASS_IDS

    if not isinstance(item_json, Mapping) or item_json.get("type") != "Feature":
        raise Hint("`item_json` should be the exported STAC Item, read as a dictionary.")
    properties = item_json.get("properties", {})
    if crs_code != properties.get("proj:code"):
        if isinstance(crs_code, int):
            raise Hint("`crs_code` is a number: the projection extension gives the CRS as a text code.")
        raise Hint("`crs_code` is not the Item's projection code.")
    if [int(v) for v in shape] != list(properties.get("proj:shape", [])):  # type: ignore[union-attr]
        raise Hint("`shape` is not the grid's rows and columns as the Item states them.")
    if n_classes == len(CLASS_IDS) + 1:
        raise Hint("`n_classes` counts the nodata entry (value 0) too.")
    if n_classes != len(CLASS_IDS):
        raise Hint(f"`n_classes` is {n_classes}; count the classes the asset lists, nodata left out.")


#: The place of the API exercises (geocoded offline from the package's gazetteer).
API_PLACE = "Eurostat"
API_YEAR = 2024


def _api_tile(root: str) -> tuple[str, str]:
    """The region and the tile path (relative to ``images/``) of :data:`API_PLACE` in :data:`API_YEAR`."""
    from landcover.data import find_tile_at, geocode, nuts3_at

    lon, lat = geocode(API_PLACE)
    nuts = nuts3_at(lon, lat, root=root)
    match = find_tile_at(lon, lat, nuts, API_YEAR, crs="EPSG:4326", root=root)
    return nuts, f"{nuts}/{API_YEAR}/{match.stem}.tif"


@exercise_check(
    "inf-api-point",
    names=("api_nuts", "api_image"),
    success="The API found the region and the tile of the point.",
    likely=(
        LikelyError(
            KeyError,
            "The API answered with an error, not a region: print the whole answer. Points are named "
            "`lon` and `lat`, longitude first, in degrees; the tile also needs the year.",
        ),
    ),
)
def check_api_point(api_nuts: object, api_image: object) -> None:
    """api_nuts: the region code of the point; api_image: its 2024 tile, relative to images/."""
    nuts, image = _api_tile(_root())
    if api_nuts != nuts:
        raise Hint(f"`api_nuts` is {api_nuts!r}: is the point sent with longitude and latitude named, lon first?")
    if not isinstance(api_image, str):
        raise Hint(f"`api_image` should be the tile's path, a string, not a {type(api_image).__name__}.")
    if not api_image.startswith(f"{nuts}/{API_YEAR}/"):
        raise Hint(f"`api_image` is {api_image!r}: ask for the tile of {API_YEAR}.")
    if api_image != image:
        raise Hint("`api_image` is not the tile that holds the point.")


@exercise_check(
    "inf-api-predict",
    names=("areas", "tile_polygons"),
    success="Areas and polygons of the tile, as the API computed them.",
)
def check_api_predict(areas: object, tile_polygons: object) -> None:
    """areas: DataFrame of the answer's classes; tile_polygons: GeoDataFrame of its polygons (EPSG:4326)."""
    import geopandas as gpd
    import pandas as pd

    from landcover.data import read_tile
    from landcover.inference import predict

    root = _root()
    _, image = _api_tile(root)
    nuts, year, name = image.split("/")
    mask = predict(read_tile(nuts, int(year), name.removesuffix(".tif"), root=root), published_model(root))["mask"]
    counts = np.bincount(mask.ravel(), minlength=11)
    if not isinstance(areas, pd.DataFrame) or not {"id", "area_km2"} <= set(areas.columns):
        raise Hint("`areas` should be a DataFrame of the answer's classes, with their `id` and `area_km2`.")
    got = areas.set_index("id")["area_km2"].astype(float).reindex(range(1, 11)).fillna(0)
    if not np.allclose(got, counts[1:] * PIXEL_KM2, atol=1e-6):
        raise Hint("`areas` does not match the classes of the tile: is it the answer for the tile you found?")
    if not isinstance(tile_polygons, gpd.GeoDataFrame) or tile_polygons.empty:
        raise Hint("`tile_polygons` should be a GeoDataFrame of the answer's features (ask for the polygons).")
    if tile_polygons.crs is None:
        raise Hint("`tile_polygons` has no CRS: GeoJSON coordinates are longitude and latitude, EPSG:4326.")
    if tile_polygons.crs.to_epsg() != 4326:
        raise Hint(f"`tile_polygons` says {tile_polygons.crs}; the answer's GeoJSON is in EPSG:4326.")
    xmin, ymin, xmax, ymax = tile_polygons.total_bounds
    if not (-30 < xmin < xmax < 45 and 30 < ymin < ymax < 72):
        raise Hint("the polygons do not fall in Europe in longitude and latitude: which CRS did you give them?")

"""Checks for chapter 4, statistics.

Each check recomputes its reference with the package (the model published under
the active data root, its region maps read from the prediction store, the NUTS
outlines) and compares. Hints name what is off (the rasterising rule, rows and
columns swapped, a percentage where a share is asked, a stratum left out)
without giving the code.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from landcover.exercises.checks import Hint, exercise_check, expect_array
from landcover.exercises.explain import LikelyError
from landcover.exercises.inference import published_model

if TYPE_CHECKING:
    import pandas as pd

PIXEL_KM2 = 1e-4
#: The region and year of the zonal exercise, of the transitions, and of the area estimation.
ZONAL = ("BE100", 2024)
CHANGE = ("LU000", 2018, 2024)
ESTIMATION = ("LU000", 2021)
#: The seed the chapter draws its sample with.
SAMPLE_SEED = 2014


def _root() -> str:
    from landcover.config import data_root

    return data_root()


@lru_cache(maxsize=16)
def _map(root: str, region: str, year: int) -> dict[str, Any]:
    """The package's mosaic of a region-year (read from the prediction store)."""
    from landcover.inference import predict_region

    return predict_region(region, year, published_model(root), progress=False, root=root)


@lru_cache(maxsize=4)
def _outlines(root: str) -> Any:
    from landcover.data import list_regions, load_nuts3

    return load_nuts3(list_regions(root), root=root)


def _inside(root: str, region: str, year: int) -> np.ndarray:
    from rasterio.features import rasterize

    mosaic = _map(root, region, year)
    outline = _outlines(root).set_index("NUTS_ID").geometry[region]
    return rasterize([outline], out_shape=mosaic["mask"].shape, transform=mosaic["transform"],
                     fill=0, default_value=1).astype(bool)


def _series(value: object, name: str) -> pd.Series:
    import pandas as pd

    if not isinstance(value, pd.Series):
        raise Hint(f"`{name}` should be a pandas Series, but it is a {type(value).__name__}.")
    return value


def _number(value: object, name: str) -> float:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Hint(f"`{name}` should be one number, but it is a {type(value).__name__}.") from None
    if not math.isfinite(number):
        raise Hint(f"`{name}` is {number}: look for a division by zero or an empty selection.")
    return number


# --- areas per region ----------------------------------------------------------------------------


@exercise_check(
    "stat-zonal",
    names=("inside", "areas_km2"),
    success="Pixels inside the outline by their centre, counted by class and turned into km².",
    likely=(
        LikelyError(
            TypeError,
            "`rasterize` wants a list of shapes (a polygon in square brackets), and `out_shape` a "
            "(rows, cols) tuple, the mosaic array's shape.",
            contains="iterable|not subscriptable|shape",
        ),
        LikelyError(
            ValueError,
            "`np.bincount` counts the values of a flat array of whole numbers: index the mosaic with the "
            "boolean `inside`, which gives exactly that.",
            contains="1 dimension|object too deep|must be 1|negative",
        ),
    ),
)
def check_zonal(inside: object, areas_km2: object) -> None:
    """inside: bool mask of BE100's pixels (pixel-centre rule); areas_km2: km² per class 1..10."""
    from rasterio.features import rasterize

    root = _root()
    region, year = ZONAL
    mosaic = _map(root, region, year)
    expected_inside = _inside(root, region, year)
    mask = expect_array(inside, "inside", ndim=2)
    swapped = Hint("`inside` has rows and columns swapped: the output shape is the mosaic array's shape, "
                   "and the transform places its pixels.")
    if mask.shape == expected_inside.shape[::-1] and mask.shape != expected_inside.shape:
        raise swapped
    mask = expect_array(inside, "inside", shape=expected_inside.shape).astype(bool)
    if mask.shape[0] == mask.shape[1] and np.array_equal(mask, expected_inside.T) and not np.array_equal(
        mask, expected_inside
    ):
        raise swapped
    outline = _outlines(root).set_index("NUTS_ID").geometry[region]
    touched = rasterize([outline], out_shape=mosaic["mask"].shape, transform=mosaic["transform"],
                        fill=0, default_value=1, all_touched=True).astype(bool)
    if np.array_equal(mask, touched) and not np.array_equal(mask, expected_inside):
        raise Hint("`inside` takes every pixel the outline touches; the pixel-centre rule keeps a pixel "
                   "only when its centre lies inside (the default of `rasterize`).")
    if mask.all():
        raise Hint("`inside` is True everywhere: the outline was not burnt onto the mosaic's grid.")
    if not np.array_equal(mask, expected_inside):
        raise Hint(f"`inside` is not the outline of {region} on the mosaic's grid: use the mosaic's own "
                   "transform, so the outline lands on the right pixels.")
    counts = np.bincount(mosaic["mask"][expected_inside], minlength=11)
    got = _series(areas_km2, "areas_km2").astype(float).reindex(range(1, 11))
    everywhere = np.bincount(mosaic["mask"].ravel(), minlength=11)
    if np.allclose(got, everywhere[1:] * PIXEL_KM2, rtol=1e-9):
        raise Hint("`areas_km2` counts every pixel of the mosaic, also those outside the region: keep the "
                   "pixels where `inside` is True.")
    if not np.allclose(got, counts[1:] * PIXEL_KM2, rtol=1e-6, atol=1e-9):
        raise Hint("`areas_km2` differs from the classes of the pixels inside the region, counted and "
                   "converted to km².")


# --- indicators --------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _shares(root: str) -> tuple[pd.Series, pd.Series]:
    """Sealed share and tree-cover share of land per region in 2024 (pixel-centre rule)."""
    counts = _all_counts(root)
    area = counts[counts["year"] == 2024].set_index(["region", "class"])["area_km2"].unstack()
    land = area[[k for k in range(1, 10)]].sum(axis=1)
    return area[1] / land, area[[2, 3, 4]].sum(axis=1) / land


@exercise_check(
    "stat-indicators",
    names=("sealed_share", "tree_share"),
    success="Sealed and tree-cover shares of land area, per region.",
    likely=(
        LikelyError(
            KeyError,
            "The table is in long form: one row per region and class, with the class in the column "
            "`class`. Select rows by that column, then group by `region`.",
        ),
    ),
)
def check_indicators(sealed_share: object, tree_share: object) -> None:
    """sealed_share, tree_share: Series by region, shares of land area (water excluded) in 2024."""
    sealed, tree = _shares(_root())
    for name, value, expected, members in (("sealed_share", sealed_share, sealed, "class 1"),
                                           ("tree_share", tree_share, tree, "classes 2, 3 and 4")):
        got = _series(value, name)
        if set(got.index) != set(expected.index):
            raise Hint(f"`{name}` should have one value per region ({', '.join(expected.index)}), indexed by "
                       f"region; it has {list(got.index)}.")
        got = got.astype(float).reindex(expected.index)
        if np.allclose(got, 100 * expected, rtol=1e-6):
            raise Hint(f"`{name}` is in percent; the steps ask for a share between 0 and 1.")
        if not np.allclose(got, expected, rtol=1e-6, atol=1e-12):
            raise Hint(f"`{name}` differs: the area of {members} divided by the land area (every class but "
                       "water), region by region.")


# --- change --------------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _transitions(root: str) -> pd.DataFrame:
    from landcover.stats import transitions_by_region

    region, first, last = CHANGE
    outlines = _outlines(root)
    a, b = _map(root, region, first), _map(root, region, last)
    return transitions_by_region(a["mask"], b["mask"], a["transform"], outlines[outlines["NUTS_ID"] == region])[region]


@exercise_check(
    "stat-transition",
    names=("land_take_km2", "changed_share"),
    success="Land take and the share of the mapped area that changed class.",
)
def check_transition(land_take_km2: object, changed_share: object) -> None:
    """land_take_km2: area that became sealed from another class; changed_share: off-diagonal / total."""
    matrix = _transitions(_root())
    values = matrix.to_numpy()
    take = float(matrix[1].sum() - matrix.loc[1, 1])
    got = _number(land_take_km2, "land_take_km2")
    if math.isclose(got, float(matrix[1].sum()), rel_tol=1e-9):
        raise Hint("`land_take_km2` includes the sealed area that stayed sealed: leave out the cell of "
                   "class 1 in both years.")
    if math.isclose(got, float(matrix.loc[1].sum() - matrix.loc[1, 1]), rel_tol=1e-9) and not math.isclose(got, take):
        raise Hint("`land_take_km2` is what the sealed class lost (its row); land take is what it gained "
                   "(its column).")
    if not math.isclose(got, take, rel_tol=1e-6, abs_tol=1e-9):
        raise Hint("`land_take_km2` should be the area that arrived in class 1 from any other class, in km².")
    share = _number(changed_share, "changed_share")
    expected = float((values.sum() - np.trace(values)) / values.sum())
    if math.isclose(share, 1 - expected, rel_tol=1e-9):
        raise Hint("`changed_share` is the share that stayed the same (the diagonal): take the rest.")
    if math.isclose(share, 100 * expected, rel_tol=1e-9):
        raise Hint("`changed_share` is in percent; the steps ask for a share between 0 and 1.")
    if not math.isclose(share, expected, rel_tol=1e-6, abs_tol=1e-12):
        raise Hint("`changed_share` should be the area off the diagonal divided by the matrix's total.")


# --- agreement -----------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _held_out_confusion(root: str) -> pd.DataFrame:
    from landcover.data import label_path, load_label
    from landcover.stats import confusion_matrix
    from landcover.training.io import labelled_records
    from landcover.training.pretrained import pretrained_split

    predicted, reference = [], []
    for record in pretrained_split(labelled_records(root)).val:
        mosaic = _map(root, record.nuts, record.year)
        entry = next(e for e in mosaic["tiles"] if e["stem"] == record.stem)
        predicted.append(mosaic["mask"][entry["window"].rows, entry["window"].cols])
        reference.append(load_label(label_path(record.nuts, record.year, record.stem, root)))
    return confusion_matrix(np.concatenate(predicted), np.concatenate(reference))


@exercise_check(
    "stat-agreement",
    names=("users", "producers", "overall"),
    success="User's and producer's agreement per class, and the overall agreement.",
)
def check_agreement(users: object, producers: object, overall: object) -> None:
    """users, producers: Series by class; overall: the diagonal's share of the total."""
    confusion = _held_out_confusion(_root())
    values = confusion.to_numpy(dtype=float)
    diagonal = np.diag(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        by_row, by_column = diagonal / values.sum(axis=1), diagonal / values.sum(axis=0)
    got_users = _series(users, "users").astype(float).reindex(confusion.index).to_numpy()
    got_producers = _series(producers, "producers").astype(float).reindex(confusion.index).to_numpy()
    same = lambda a, b: np.allclose(a, b, rtol=1e-6, equal_nan=True)  # noqa: E731
    if same(got_users, by_column) and same(got_producers, by_row) and not same(by_row, by_column):
        raise Hint("`users` and `producers` are swapped: the map's classes are the rows, so the user's "
                   "agreement divides by the row totals.")
    if not same(got_users, by_row):
        raise Hint("`users` should be the diagonal divided by the row totals (the pixels the map gave to "
                   "each class).")
    if not same(got_producers, by_column):
        raise Hint("`producers` should be the diagonal divided by the column totals (the pixels the labels "
                   "gave to each class).")
    got = _number(overall, "overall")
    expected = float(diagonal.sum() / values.sum())
    if math.isclose(got, float(np.nanmean(by_row)), rel_tol=1e-9) and not math.isclose(got, expected):
        raise Hint("`overall` is the mean of the classes' agreements; the overall agreement weighs classes by "
                   "their pixels: the diagonal's total over the matrix's total.")
    if not math.isclose(got, expected, rel_tol=1e-9):
        raise Hint("`overall` should be the total of the diagonal divided by the total of the matrix.")


# --- sampling and estimation --------------------------------------------------------------------


@exercise_check(
    "stat-sample",
    names=("sample", "error_matrix"),
    success="A reproducible stratified sample with its reference classes, counted into the error matrix.",
    likely=(
        LikelyError(
            TypeError,
            "The sampler's second argument is a dictionary {class: number of pixels}; a pandas Series "
            "becomes one with `.to_dict()`.",
            contains="Mapping|dict|int",
        ),
    ),
)
def check_sample(sample: object, error_matrix: object) -> None:
    """sample: rows, cols, map_class, reference_class; error_matrix: counts, map (rows) x reference (cols)."""
    import pandas as pd

    if not isinstance(sample, pd.DataFrame):
        raise Hint(f"`sample` should be a DataFrame of sampled pixels, but it is a {type(sample).__name__}.")
    needed = {"row", "col", "map_class", "reference_class"}
    if not needed <= set(sample.columns):
        missing = sorted(needed - set(sample.columns))
        raise Hint(f"`sample` lacks the column(s) {missing}: read the reference at the sampled pixels.")
    if sample.duplicated(["row", "col"]).any():
        raise Hint("`sample` draws some pixels twice: a stratified sample is drawn without replacement.")
    if (sample["map_class"] == 0).any():
        raise Hint("`sample` holds pixels of class 0, which is not a stratum.")
    if not isinstance(error_matrix, pd.DataFrame):
        raise Hint(f"`error_matrix` should be a DataFrame, but it is a {type(error_matrix).__name__}.")
    counts = pd.crosstab(sample["map_class"], sample["reference_class"])
    counts = counts.drop(columns=[0], errors="ignore")
    expected = counts.reindex(index=error_matrix.index, columns=error_matrix.columns, fill_value=0)
    if np.array_equal(error_matrix.to_numpy(), expected.to_numpy().T) and not np.array_equal(
        expected.to_numpy(), expected.to_numpy().T
    ):
        raise Hint("`error_matrix` has the reference classes as rows; the strata (map classes) are the rows.")
    if not np.array_equal(error_matrix.to_numpy(), expected.to_numpy()):
        raise Hint("`error_matrix` does not count the sample by map class (rows) and reference class (columns).")
    sizes = sample["map_class"].value_counts()
    if sizes.min() < 2:
        raise Hint("a stratum has fewer than 2 sampled pixels: no variance can be estimated for it.")


@exercise_check(
    "stat-estimate",
    names=("sealed_km2", "sealed_se_km2"),
    success="The stratified estimate of the sealed area and its standard error, as the package computes them.",
)
def check_estimate(sealed_km2: object, sealed_se_km2: object) -> None:
    """sealed_km2, sealed_se_km2: estimated area of reference class 1 and its standard error (km²)."""
    estimate, se, count_only = _sealed_estimate(_root())
    got = _number(sealed_km2, "sealed_km2")
    if math.isclose(got, count_only, rel_tol=1e-9) and not math.isclose(got, estimate, rel_tol=1e-6):
        raise Hint("`sealed_km2` is the mapped area of the sealed stratum: the estimate adds up, over every "
                   "stratum, its weight times its sample's share of reference class 1.")
    if math.isclose(got, estimate / _total(_root()), rel_tol=1e-6):
        raise Hint("`sealed_km2` is a proportion: multiply by the total mapped area for km².")
    if not math.isclose(got, estimate, rel_tol=1e-6):
        raise Hint("`sealed_km2` differs from the stratified estimate: sum W × p_i1 over the strata, times "
                   "the total area.")
    got_se = _number(sealed_se_km2, "sealed_se_km2")
    if math.isclose(got_se, se**2, rel_tol=1e-6) or math.isclose(got_se, (se / _total(_root())) ** 2, rel_tol=1e-6):
        raise Hint("`sealed_se_km2` is a variance: take its square root.")
    if math.isclose(got_se, 1.96 * se, rel_tol=1e-6):
        raise Hint("`sealed_se_km2` is the 95 % half-width (1.96 standard errors); the steps ask for the "
                   "standard error.")
    if not math.isclose(got_se, se, rel_tol=1e-6):
        raise Hint("`sealed_se_km2` differs: the square root of the sum of W² p(1 − p)/(n − 1), times the "
                   "total area.")


@lru_cache(maxsize=2)
def _estimation_inputs(root: str) -> tuple[pd.DataFrame, pd.Series]:
    """The chapter's error matrix (its sample, seed :data:`SAMPLE_SEED`) and mapped areas of LU000 2021."""
    import warnings

    import pandas as pd

    from landcover.stats import (
        allocate_sample,
        error_matrix_from_sample,
        label_mosaic,
        reference_at,
        sample_size_for_overall_accuracy,
        stratified_sample,
    )

    region, year = ESTIMATION
    mosaic = _map(root, region, year)
    inside = _inside(root, region, year)
    reference = np.where(inside, label_mosaic(mosaic, year, root), 0)
    strata = np.where(inside & (reference > 0), mosaic["mask"], 0)
    ids = list(range(1, 11))
    mapped = pd.Series(np.bincount(strata.ravel(), minlength=11)[1:] * PIXEL_KM2, index=ids)
    n_total = sample_size_for_overall_accuracy(mapped, pd.Series(0.8, index=ids), target_se=0.01)
    allocation = pd.Series(allocate_sample(n_total, mapped, minimum_per_stratum=30), index=ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sample = reference_at(stratified_sample(strata, allocation.to_dict(), seed=SAMPLE_SEED), reference)
        matrix = error_matrix_from_sample(sample)
    return matrix, mapped


def _total(root: str) -> float:
    matrix, mapped = _estimation_inputs(root)
    return float(mapped[matrix.sum(axis=1) >= 2].sum())


@lru_cache(maxsize=2)
def _sealed_estimate(root: str) -> tuple[float, float, float]:
    from landcover.stats import estimate_areas

    matrix, mapped = _estimation_inputs(root)
    keep = matrix.sum(axis=1) >= 2
    result = estimate_areas(matrix.loc[keep, keep], mapped[keep])
    return float(result.loc[1, "area"]), float(result.loc[1, "area_se"]), float(mapped[1])


# --- export --------------------------------------------------------------------------------------


@exercise_check(
    "stat-sdmx",
    names=("sdmx",),
    success="An SDMX-CSV table: dataflow, dimensions, value and status, one observation per row.",
    likely=(
        LikelyError(
            KeyError,
            "`melt` keeps the columns named in `id_vars` and turns those in `value_vars` into rows: "
            "the key columns are region, year and class; the measures area_km2 and share.",
        ),
    ),
)
def check_sdmx(sdmx: object) -> None:
    """sdmx: the chapter's accounts in SDMX-CSV columns."""
    import pandas as pd

    from landcover.stats import class_accounts
    from landcover.stats.export import sdmx_csv_table

    if not isinstance(sdmx, pd.DataFrame):
        raise Hint(f"`sdmx` should be a DataFrame, but it is a {type(sdmx).__name__}.")
    expected = sdmx_csv_table(class_accounts(_all_counts(_root())))
    if list(sdmx.columns) != list(expected.columns):
        raise Hint(f"`sdmx` should have the columns {list(expected.columns)}, in that order; it has "
                   f"{list(sdmx.columns)}.")
    if len(sdmx) != len(expected):
        raise Hint(f"`sdmx` has {len(sdmx)} rows; one per region, year, class and unit makes {len(expected)}.")
    keys = ["REF_AREA", "TIME_PERIOD", "LANDCOVER", "UNIT_MEASURE"]
    got = sdmx.assign(TIME_PERIOD=sdmx["TIME_PERIOD"].astype(str)).sort_values(keys).reset_index(drop=True)
    want = expected.sort_values(keys).reset_index(drop=True)
    for column in ("DATAFLOW", "FREQ", "REF_AREA", "TIME_PERIOD", "LANDCOVER", "UNIT_MEASURE", "OBS_STATUS"):
        if not got[column].astype(str).equals(want[column].astype(str)):
            raise Hint(f"the column `{column}` differs from the SDMX-CSV layout the steps describe.")
    shares = want["UNIT_MEASURE"] == "PC"
    values = got["OBS_VALUE"].astype(float)
    if np.allclose(values[shares], want.loc[shares, "OBS_VALUE"] / 100, rtol=1e-6):
        raise Hint("the shares are between 0 and 1; in a table whose unit is PC they are in percent.")
    if not np.allclose(values, want["OBS_VALUE"], rtol=1e-6, atol=1e-6):
        flipped = sdmx.assign(TIME_PERIOD=sdmx["TIME_PERIOD"].astype(str),
                              UNIT_MEASURE=sdmx["UNIT_MEASURE"].map({"KM2": "PC", "PC": "KM2"}))
        flipped = flipped.sort_values(keys).reset_index(drop=True)
        if np.allclose(flipped["OBS_VALUE"].astype(float), want["OBS_VALUE"], rtol=1e-6, atol=1e-6):
            raise Hint("the column `UNIT_MEASURE` names the wrong unit: areas are in KM2, shares in PC.")
        raise Hint("`OBS_VALUE` differs from the accounts' areas (km²) and shares (percent).")


@lru_cache(maxsize=2)
def _all_counts(root: str) -> pd.DataFrame:
    import pandas as pd

    from landcover.stats import pixel_centre_counts

    outlines = _outlines(root)
    rows = []
    for region in outlines["NUTS_ID"]:
        for year in (2018, 2021, 2024):
            mosaic = _map(root, region, year)
            rows.append(pixel_centre_counts(mosaic["mask"], mosaic["transform"],
                                            outlines[outlines["NUTS_ID"] == region]).assign(year=year))
    return pd.concat(rows, ignore_index=True)

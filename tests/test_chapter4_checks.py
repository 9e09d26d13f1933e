"""The checks of chapter 4 accept the chapter's solutions and name the usual mistakes.

They run on the synthetic data with the pre-trained model published under it (``make model``);
the region maps come from the prediction store (predicted once when missing).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rasterio.features import rasterize

from landcover.exercises import evaluate

PIXEL_KM2 = 1e-4


@pytest.fixture(scope="module")
def chapter(synthetic_dir: Path) -> dict:
    from landcover.data import list_regions, load_nuts3
    from landcover.inference import load_model, predict_region, published_model_location

    try:
        published_model_location(str(synthetic_dir))
    except FileNotFoundError:
        pytest.skip("no pre-trained model under the synthetic data: run `make model`")
    loaded = load_model()
    regions = list_regions()
    maps = {(r, y): predict_region(r, y, loaded, progress=False) for r in regions for y in (2018, 2021, 2024)}
    return {"loaded": loaded, "maps": maps, "nuts": load_nuts3(regions), "regions": regions}


def outline(chapter: dict, region: str):
    return chapter["nuts"].set_index("NUTS_ID").geometry[region]


def burn(chapter: dict, region: str, year: int, **options) -> np.ndarray:
    mosaic = chapter["maps"][(region, year)]
    return rasterize([outline(chapter, region)], out_shape=mosaic["mask"].shape, transform=mosaic["transform"],
                     fill=0, default_value=1, **options).astype(bool)


def assert_hint(result, expected: str) -> None:
    assert result.status == "incorrect", result
    assert expected in result.message, result.message


def test_zonal(chapter: dict) -> None:
    mosaic = chapter["maps"][("BE100", 2024)]["mask"]
    inside = burn(chapter, "BE100", 2024)
    areas = pd.Series(np.bincount(mosaic[inside], minlength=11)[1:] * PIXEL_KM2, index=range(1, 11))
    assert evaluate("stat-zonal", inside, areas).passed
    assert 150 < areas.sum() < 162  # about BE100's 161 km², less the clouds
    touched = burn(chapter, "BE100", 2024, all_touched=True)
    assert_hint(evaluate("stat-zonal", touched, areas), "centre")
    assert_hint(evaluate("stat-zonal", inside.T, areas), "swapped")
    whole = pd.Series(np.bincount(mosaic.ravel(), minlength=11)[1:] * PIXEL_KM2, index=range(1, 11))
    assert_hint(evaluate("stat-zonal", inside, whole), "outside the region")
    assert_hint(evaluate("stat-zonal", inside, areas * 100), "differs")


def _counts_2024(chapter: dict) -> pd.DataFrame:
    from landcover.stats import pixel_centre_counts

    nuts = chapter["nuts"]
    rows = []
    for region in chapter["regions"]:
        mosaic = chapter["maps"][(region, 2024)]
        rows.append(pixel_centre_counts(mosaic["mask"], mosaic["transform"], nuts[nuts["NUTS_ID"] == region]))
    return pd.concat(rows, ignore_index=True)


def test_indicators(chapter: dict) -> None:
    counts = _counts_2024(chapter)
    land = counts[counts["class"] != 10].groupby("region")["area_km2"].sum()
    sealed = counts[counts["class"] == 1].groupby("region")["area_km2"].sum() / land
    tree = counts[counts["class"].isin([2, 3, 4])].groupby("region")["area_km2"].sum() / land
    assert evaluate("stat-indicators", sealed, tree).passed
    assert sealed["BE100"] > 0.4 > sealed["AT332"]
    assert_hint(evaluate("stat-indicators", 100 * sealed, tree), "percent")
    total = counts.groupby("region")["area_km2"].sum()
    with_water = counts[counts["class"] == 1].groupby("region")["area_km2"].sum() / total
    if not np.allclose(with_water, sealed):
        assert_hint(evaluate("stat-indicators", with_water, tree), "land area")
    assert_hint(evaluate("stat-indicators", sealed.iloc[:2], tree), "one value per region")
    assert_hint(evaluate("stat-indicators", sealed.to_numpy(), tree), "pandas Series")


def _transitions(chapter: dict) -> pd.DataFrame:
    from landcover.stats import transitions_by_region

    nuts = chapter["nuts"]
    a, b = chapter["maps"][("LU000", 2018)], chapter["maps"][("LU000", 2024)]
    return transitions_by_region(a["mask"], b["mask"], a["transform"], nuts[nuts["NUTS_ID"] == "LU000"])["LU000"]


def test_transition(chapter: dict) -> None:
    matrix = _transitions(chapter)
    take = float(matrix[1].sum() - matrix.loc[1, 1])
    values = matrix.to_numpy()
    changed = float((values.sum() - np.trace(values)) / values.sum())
    assert take > 0 and 0 < changed < 1
    assert evaluate("stat-transition", take, changed).passed
    assert_hint(evaluate("stat-transition", float(matrix[1].sum()), changed), "stayed sealed")
    lost = float(matrix.loc[1].sum() - matrix.loc[1, 1])
    assert_hint(evaluate("stat-transition", lost, changed), "what it gained")
    assert_hint(evaluate("stat-transition", take, 1 - changed), "stayed the same")
    assert_hint(evaluate("stat-transition", take, 100 * changed), "percent")


def _confusion(chapter: dict) -> pd.DataFrame:
    from landcover.data import load_label
    from landcover.stats import confusion_matrix
    from landcover.training.io import labelled_records
    from landcover.training.pretrained import pretrained_split

    predicted, reference = [], []
    for record in pretrained_split(labelled_records()).val:
        mosaic = chapter["maps"][(record.nuts, record.year)]
        entry = next(e for e in mosaic["tiles"] if e["stem"] == record.stem)
        predicted.append(mosaic["mask"][entry["window"].rows, entry["window"].cols])
        reference.append(load_label((record.nuts, record.year, record.stem)))
    return confusion_matrix(np.concatenate(predicted), np.concatenate(reference))


def test_agreement(chapter: dict) -> None:
    confusion = _confusion(chapter)
    diagonal = pd.Series(np.diag(confusion.to_numpy()), index=confusion.index)
    users, producers = diagonal / confusion.sum(axis=1), diagonal / confusion.sum(axis=0)
    overall = float(diagonal.sum() / confusion.to_numpy().sum())
    assert 0.7 < overall < 0.95
    assert evaluate("stat-agreement", users, producers, overall).passed
    assert_hint(evaluate("stat-agreement", producers, users, overall), "swapped")
    assert_hint(evaluate("stat-agreement", users, producers, float(users.mean())), "weighs classes")
    assert_hint(evaluate("stat-agreement", users, users, overall), "column totals")


def _estimation(chapter: dict) -> dict:
    from landcover.stats import (
        allocate_sample,
        error_matrix_from_sample,
        label_mosaic,
        reference_at,
        sample_size_for_overall_accuracy,
        stratified_sample,
    )

    mosaic = chapter["maps"][("LU000", 2021)]
    inside = burn(chapter, "LU000", 2021)
    reference = np.where(inside, label_mosaic(mosaic, 2021), 0)
    strata = np.where(inside & (reference > 0), mosaic["mask"], 0)
    ids = list(range(1, 11))
    mapped = pd.Series(np.bincount(strata.ravel(), minlength=11)[1:] * PIXEL_KM2, index=ids)
    n = sample_size_for_overall_accuracy(mapped, pd.Series(0.8, index=ids), target_se=0.01)
    allocation = pd.Series(allocate_sample(n, mapped, minimum_per_stratum=30), index=ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sample = reference_at(stratified_sample(strata, allocation.to_dict(), seed=2014), reference)
        matrix = error_matrix_from_sample(sample)
    return {"sample": sample, "matrix": matrix, "mapped": mapped, "strata": strata, "allocation": allocation}


def test_sample(chapter: dict) -> None:
    found = _estimation(chapter)
    sample, matrix = found["sample"], found["matrix"]
    assert evaluate("stat-sample", sample, matrix).passed
    assert_hint(evaluate("stat-sample", sample, matrix.T), "reference classes as rows")
    assert_hint(evaluate("stat-sample", sample.drop(columns="reference_class"), matrix), "lacks the column")
    doubled = pd.concat([sample, sample.iloc[:5]], ignore_index=True)
    assert_hint(evaluate("stat-sample", doubled, matrix), "twice")


def test_estimate(chapter: dict) -> None:
    from landcover.stats import estimate_areas

    found = _estimation(chapter)
    matrix, mapped = found["matrix"], found["mapped"]
    sampled = matrix.sum(axis=1) >= 2
    total = mapped[sampled].sum()
    weights = mapped[sampled] / total
    n_i = matrix.sum(axis=1)[sampled]
    p = matrix.loc[sampled, 1] / n_i
    area = float((weights * p).sum() * total)
    se = float(np.sqrt((weights**2 * p * (1 - p) / (n_i - 1)).sum()) * total)
    package = estimate_areas(matrix.loc[sampled, sampled], mapped[sampled])
    assert area == pytest.approx(package.loc[1, "area"]) and se == pytest.approx(package.loc[1, "area_se"])
    assert evaluate("stat-estimate", area, se).passed
    assert_hint(evaluate("stat-estimate", float(mapped[1]), se), "mapped area of the sealed stratum")
    assert_hint(evaluate("stat-estimate", area / total, se), "proportion")
    assert_hint(evaluate("stat-estimate", area, se**2), "variance")
    assert_hint(evaluate("stat-estimate", area, 1.96 * se), "half-width")


def test_sdmx(chapter: dict) -> None:
    from landcover.stats import class_accounts, pixel_centre_counts
    from landcover.stats.export import sdmx_csv_table

    nuts = chapter["nuts"]
    rows = []
    for (region, year), mosaic in chapter["maps"].items():
        rows.append(pixel_centre_counts(mosaic["mask"], mosaic["transform"], nuts[nuts["NUTS_ID"] == region])
                    .assign(year=year))
    table = sdmx_csv_table(class_accounts(pd.concat(rows, ignore_index=True)))
    assert len(table) == 4 * 3 * 10 * 2
    assert evaluate("stat-sdmx", table.sample(frac=1, random_state=0)).passed  # any row order
    fractions = table.copy()
    fractions.loc[fractions["UNIT_MEASURE"] == "PC", "OBS_VALUE"] /= 100
    assert_hint(evaluate("stat-sdmx", fractions), "percent")
    assert_hint(evaluate("stat-sdmx", table.drop(columns="OBS_STATUS")), "columns")
    assert_hint(evaluate("stat-sdmx", table.iloc[:-1]), "rows")
    wrong = table.assign(UNIT_MEASURE=table["UNIT_MEASURE"].replace({"KM2": "PC", "PC": "KM2"}))
    assert_hint(evaluate("stat-sdmx", wrong), "UNIT_MEASURE")

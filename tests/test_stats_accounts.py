"""Land-cover accounts by class and group, region, year and country (landcover.stats.accounts)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import box

from landcover.classes import CLASS_IDS
from landcover.stats import (
    CLASS_GROUPS,
    LAND_CLASSES,
    class_accounts,
    country_accounts,
    group_accounts,
    land_area,
    pixel_centre_counts,
)

X0, Y0 = 4_000_000.0, 3_000_000.0
TRANSFORM = Affine(10.0, 0.0, X0, 0.0, -10.0, Y0)
REGIONS = gpd.GeoDataFrame(
    {"NUTS_ID": ["BE100", "BE211", "LU000"]},
    geometry=[box(X0, Y0 - 1000, X0 + 1000, Y0), box(X0 + 1000, Y0 - 1000, X0 + 3000, Y0),
              box(X0, Y0 - 2000, X0 + 3000, Y0 - 1000)],
    crs="EPSG:3035",
)


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    frames = []
    for year, seed in ((2018, 1), (2021, 2)):
        raster = np.random.default_rng(seed).integers(0, 11, size=(200, 300)).astype(np.uint8)
        frames.append(pixel_centre_counts(raster, TRANSFORM, REGIONS).assign(year=year))
    return pd.concat(frames, ignore_index=True)


def test_class_accounts_sum_to_the_covered_area(counts: pd.DataFrame) -> None:
    accounts = class_accounts(counts)
    assert accounts.columns.tolist() == ["region", "year", "class", "class_name", "area_km2", "share"]
    covered = counts.groupby(["region", "year"])["pixels"].sum() * 1e-4
    assert accounts.groupby(["region", "year"])["area_km2"].sum().to_numpy() == pytest.approx(covered.to_numpy())
    assert accounts.groupby(["region", "year"])["share"].sum().to_numpy() == pytest.approx(np.ones(6))
    row = accounts[(accounts["region"] == "LU000") & (accounts["year"] == 2021) & (accounts["class"] == 7)].iloc[0]
    assert row["class_name"] == "Periodically herbaceous"
    pixels = counts[(counts["region"] == "LU000") & (counts["year"] == 2021)].set_index("class")["pixels"]
    assert row["share"] == pytest.approx(pixels[7] / pixels.sum())


def test_groups_partition_the_classes_and_sum_to_the_covered_area(counts: pd.DataFrame) -> None:
    members = sorted(c for group in CLASS_GROUPS.values() for c in group)
    assert members == list(CLASS_IDS)
    assert CLASS_GROUPS["tree cover"] == (2, 3, 4)
    assert CLASS_GROUPS["bare land and lichens/moss"] == (8, 9)
    groups = group_accounts(counts)
    classes = class_accounts(counts)
    assert groups["group"].astype(str).unique().tolist() == list(CLASS_GROUPS)
    merged = groups.groupby(["region", "year"], observed=True)["area_km2"].sum()
    assert merged.to_numpy() == pytest.approx(classes.groupby(["region", "year"])["area_km2"].sum().to_numpy())
    be = classes[(classes["region"] == "BE100") & (classes["year"] == 2018)].set_index("class")["area_km2"]
    tree = groups[(groups["region"] == "BE100") & (groups["year"] == 2018) & (groups["group"] == "tree cover")]
    assert tree["area_km2"].iloc[0] == pytest.approx(be[[2, 3, 4]].sum())


def test_group_definitions_are_checked(counts: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"classes \[10\] that belong to no group"):
        group_accounts(counts, {"all but water": range(1, 10)})
    with pytest.raises(ValueError, match="must not share a class"):
        group_accounts(counts, {"a": [1, 2], "b": [2, *range(3, 11)]})


def test_land_area_leaves_out_water(counts: pd.DataFrame) -> None:
    land = land_area(counts)
    assert land.columns.tolist() == ["region", "year", "covered_km2", "land_km2"]
    one = counts[(counts["region"] == "BE211") & (counts["year"] == 2021)].set_index("class")["area_km2"]
    row = land[(land["region"] == "BE211") & (land["year"] == 2021)].iloc[0]
    assert row["land_km2"] == pytest.approx(one.sum() - one[10])
    assert row["covered_km2"] == pytest.approx(one.sum())
    assert 10 not in LAND_CLASSES


def test_regions_sum_to_their_country(counts: pd.DataFrame) -> None:
    regions = class_accounts(counts)
    countries = country_accounts(regions)
    assert sorted(countries["country"].unique()) == ["BE", "LU"]
    be_regions = regions[regions["region"].str.startswith("BE")].groupby(["year", "class"])["area_km2"].sum()
    be = countries[countries["country"] == "BE"].set_index(["year", "class"])["area_km2"]
    assert be.to_numpy() == pytest.approx(be_regions.to_numpy())
    assert countries.groupby(["country", "year"])["share"].sum().to_numpy() == pytest.approx(np.ones(4))
    # the country's share is area-weighted, not the mean of its regions' shares
    share = be.loc[(2018, 6)] / be.loc[2018].sum()
    assert countries.set_index(["country", "year", "class"]).loc[("BE", 2018, 6), "share"] == pytest.approx(share)
    groups = country_accounts(group_accounts(counts))
    assert groups.groupby(["country", "year"], observed=True)["area_km2"].sum().to_numpy() == pytest.approx(
        countries.groupby(["country", "year"])["area_km2"].sum().to_numpy())


def test_a_single_year_table_has_no_year_column(counts: pd.DataFrame) -> None:
    one_year = counts[counts["year"] == 2018].drop(columns="year")
    assert class_accounts(one_year).columns.tolist() == ["region", "class", "class_name", "area_km2", "share"]


def test_bad_input_names_the_parameter(counts: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"counts lacks the column\(s\) \['area_km2'\]"):
        class_accounts(counts.drop(columns="area_km2"))
    with pytest.raises(ValueError, match="negative area_km2"):
        class_accounts(counts.assign(area_km2=-1.0))
    with pytest.raises(ValueError, match="counts must be a DataFrame"):
        land_area([1, 2, 3])

"""Regional indicators: sealed share, tree-cover share (SDG 15.1.1 proxy), land take (landcover.stats.indicators)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from landcover.classes import CLASS_IDS
from landcover.stats import (
    estimate_areas,
    estimate_group_areas,
    land_take_indicator,
    land_take_table,
    sealed_share_estimate,
    sealed_share_of_land,
    transition_matrix,
    tree_cover_share_estimate,
    tree_cover_share_of_land,
)

#: Mapped area (km²) of classes 1..10 in one region; 4 (evergreen) and 8 (lichens) are not mapped.
MAPPED = pd.Series([12.0, 30.0, 25.0, 0.0, 8.0, 40.0, 60.0, 0.0, 5.0, 20.0], index=list(CLASS_IDS))


def _counts() -> pd.DataFrame:
    rows = [{"region": "LU000", "year": 2021, "class": c, "area_km2": a} for c, a in MAPPED.items()]
    rows += [{"region": "BE100", "year": 2021, "class": c, "area_km2": 1.0} for c in CLASS_IDS]
    return pd.DataFrame(rows)


def _error_matrix() -> pd.DataFrame:
    """A sample of 50 per mapped class: mostly right, with sealed/grass and tree/shrub confusion."""
    counts = np.zeros((10, 10), dtype=int)
    for i, c in enumerate(CLASS_IDS):
        if MAPPED[c] > 0:
            counts[i, i] = 44
            counts[i, (i + 1) % 10] = 4
            counts[i, 5] += 2  # some of every stratum is really permanent herbaceous
    counts[0, 5] += 3  # sealed pixels that are grass
    counts[0, 0] -= 3
    return pd.DataFrame(counts, index=pd.Index(CLASS_IDS, name="map"), columns=pd.Index(CLASS_IDS, name="reference"))


def test_sealed_and_tree_cover_shares_of_land_from_pixel_counts() -> None:
    sealed = sealed_share_of_land(_counts()).set_index("region")
    land = MAPPED.sum() - MAPPED[10]
    assert sealed.loc["LU000", "land_km2"] == pytest.approx(land)
    assert sealed.loc["LU000", "sealed_km2"] == pytest.approx(12.0)
    assert sealed.loc["LU000", "sealed_share_of_land"] == pytest.approx(12.0 / land)
    assert sealed.loc["BE100", "sealed_share_of_land"] == pytest.approx(1 / 9)
    trees = tree_cover_share_of_land(_counts()).set_index("region")
    assert trees.loc["LU000", "tree_cover_share_of_land"] == pytest.approx(55.0 / land)
    assert trees.loc["BE100", "tree_cover_share_of_land"] == pytest.approx(3 / 9)
    assert "year" in trees.columns


def test_a_perfect_sample_confirms_the_mapped_shares() -> None:
    perfect = pd.DataFrame(np.diag([50 if a > 0 else 0 for a in MAPPED]), index=list(CLASS_IDS), columns=list(CLASS_IDS))
    sealed = sealed_share_estimate(perfect, MAPPED)
    assert sealed.estimate == pytest.approx(12.0 / 180.0)
    assert sealed.mapped == pytest.approx(sealed.estimate)
    assert sealed.se == 0.0


def test_bias_adjusted_shares_follow_the_stratified_estimates() -> None:
    matrix = _error_matrix()
    areas = estimate_areas(matrix, MAPPED)["proportion"]
    sealed = sealed_share_estimate(matrix, MAPPED)
    assert sealed.estimate == pytest.approx(areas[1] / (1 - areas[10]))
    assert sealed.mapped == pytest.approx(12.0 / 180.0)
    assert sealed.estimate < sealed.mapped  # the map over-states sealed land here
    assert 0 < sealed.se < 0.02
    low, high = sealed.ci95
    assert low < sealed.estimate < high
    trees = tree_cover_share_estimate(matrix, MAPPED)
    assert trees.estimate == pytest.approx(areas[[2, 3, 4]].sum() / (1 - areas[10]))


def test_tree_cover_standard_error_is_that_of_the_merged_reference_class() -> None:
    # Without water the denominator is the whole area, so the tree-cover share is the
    # proportion of the merged reference class "tree cover" and must share its SE.
    matrix, mapped = _error_matrix(), MAPPED.copy()
    matrix.iloc[:, 0] += matrix.iloc[:, 9]
    matrix.iloc[:, 9] = 0
    matrix.iloc[9, :] = 0
    mapped[10] = 0.0
    trees = tree_cover_share_estimate(matrix, mapped)
    merged = estimate_group_areas(matrix, mapped, {"tree cover": [2, 3, 4]}).loc["tree cover"]
    assert trees.estimate == pytest.approx(merged["proportion"])
    assert trees.se == pytest.approx(merged["proportion_se"])
    per_class = estimate_areas(matrix, mapped)["proportion_se"]
    assert trees.se != pytest.approx(np.sqrt((per_class[[2, 3, 4]] ** 2).sum()), rel=1e-3)


def test_land_take_indicator_by_hand() -> None:
    before = np.array([[7, 7, 6, 1], [6, 6, 10, 2]], dtype=np.uint8)
    after = np.array([[1, 7, 1, 1], [6, 1, 10, 2]], dtype=np.uint8)
    transitions = transition_matrix(before, after, unit="pixels")
    indicator = land_take_indicator(transitions, years=3, region_area=8.0)
    assert indicator["land_take"] == 3.0
    assert indicator["land_take_per_year"] == pytest.approx(1.0)
    assert indicator["annual_rate"] == pytest.approx(3.0 / 8.0 / 3)
    table = land_take_table({"A": transitions, "B": transition_matrix(before, before, unit="pixels")}, 3, {"A": 8.0, "B": 8.0})
    assert table["region"].tolist() == ["A", "B"]
    assert table["land_take"].tolist() == [3.0, 0.0]
    with pytest.raises(ValueError, match=r"region_area has no area for region\(s\) \['B'\]"):
        land_take_table({"B": transitions}, 3, {"A": 8.0})
    with pytest.raises(ValueError, match="years"):
        land_take_indicator(transitions, years=0, region_area=8.0)


def test_a_plain_array_is_read_as_classes_1_to_10() -> None:
    matrix = _error_matrix()
    from_frame = sealed_share_estimate(matrix, MAPPED)
    from_array = sealed_share_estimate(matrix.to_numpy(), MAPPED.to_numpy())
    assert from_array == from_frame
    with pytest.raises(ValueError, match="10 x 10 array"):
        tree_cover_share_estimate(np.eye(3) * 5, [1, 1, 1])

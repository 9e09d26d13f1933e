"""Stratified area and accuracy estimates (landcover.stats.estimation) against Olofsson et al. (2014)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landcover.stats import (
    Z95,
    estimate_areas,
    estimate_group_areas,
    estimate_share,
    merge_reference_classes,
)

# The worked example of Olofsson et al. (2014), RSE 148, 42-57, section 5 (tables 8-9).
# Rows = map class = stratum, columns = reference class. The strata's sample sizes
# are 75/75/165/325, so these are the row totals; the four lists sometimes quoted as
# "rows" ([66,0,1,2], [0,55,0,1], [5,8,153,9], [4,12,11,313]) are the COLUMNS of the
# paper's table (their totals are 69/56/175/340), hence the transpose.
PAPER_CLASSES = ["deforestation", "forest gain", "forest", "non-forest"]
PAPER_COUNTS = np.array([[66, 0, 1, 2], [0, 55, 0, 1], [5, 8, 153, 9], [4, 12, 11, 313]]).T
PAPER_AREAS_HA = np.array([18_000, 13_500, 288_000, 580_500])


@pytest.fixture
def paper() -> pd.DataFrame:
    matrix = pd.DataFrame(PAPER_COUNTS, index=PAPER_CLASSES, columns=PAPER_CLASSES)
    return estimate_areas(matrix, pd.Series(PAPER_AREAS_HA, index=PAPER_CLASSES))


def test_the_example_matrix_has_the_papers_stratum_sizes() -> None:
    assert PAPER_COUNTS.sum(axis=1).tolist() == [75, 75, 165, 325]


def test_areas_and_intervals_match_the_paper(paper: pd.DataFrame) -> None:
    assert paper.index.tolist() == PAPER_CLASSES
    assert paper["area"].round().tolist() == [21_158, 11_686, 285_770, 581_386]
    assert paper["area_ci95"].round().tolist() == [6_158, 3_756, 15_510, 16_282]
    assert np.allclose(paper["area_ci95"], Z95 * paper["area_se"])
    assert paper["area"].sum() == pytest.approx(PAPER_AREAS_HA.sum())


def test_accuracies_match_the_paper(paper: pd.DataFrame) -> None:
    assert round(paper.attrs["overall_accuracy"], 2) == 0.95
    assert round(Z95 * paper.attrs["overall_accuracy_se"], 2) == 0.02
    assert paper["users_accuracy"].round(2).tolist() == [0.88, 0.73, 0.93, 0.96]
    assert (Z95 * paper["users_accuracy_se"]).round(2).tolist() == [0.07, 0.10, 0.04, 0.02]
    assert paper["producers_accuracy"].round(2).tolist() == [0.75, 0.85, 0.93, 0.96]
    # The paper prints producer's-accuracy intervals 0.21, 0.23, 0.03 and 0.01. Two are
    # rounding slips: its own eq. (7) gives 0.254 (forest gain) and 0.018 (non-forest),
    # as independent implementations agree. These are the formula's values.
    assert (Z95 * paper["producers_accuracy_se"]).round(3).tolist() == [0.213, 0.254, 0.034, 0.018]


def test_producers_accuracy_variance_by_hand_for_deforestation(paper: pd.DataFrame) -> None:
    n, a = PAPER_COUNTS.astype(float), PAPER_AREAS_HA.astype(float)
    q = n / n.sum(axis=1, keepdims=True)
    n_hat = (a * q[:, 0]).sum()
    pa = a[0] * q[0, 0] / n_hat
    own = a[0] ** 2 * (1 - pa) ** 2 * q[0, 0] * (1 - q[0, 0]) / (n[0].sum() - 1)
    others = sum(a[i] ** 2 * q[i, 0] * (1 - q[i, 0]) / (n[i].sum() - 1) for i in (1, 2, 3))
    assert paper["producers_accuracy_se"].iloc[0] == pytest.approx(np.sqrt((own + pa**2 * others) / n_hat**2))


def test_a_perfect_map_gives_its_mapped_areas_with_zero_error() -> None:
    table = estimate_areas(np.diag([50, 60, 70]), [10.0, 30.0, 60.0])
    assert table["area"].tolist() == pytest.approx([10.0, 30.0, 60.0])
    assert table["area_se"].tolist() == [0.0, 0.0, 0.0]
    assert table[["users_accuracy", "producers_accuracy"]].to_numpy() == pytest.approx(np.ones((3, 2)))
    assert table.attrs["overall_accuracy"] == 1.0
    assert table.attrs["overall_accuracy_se"] == 0.0


def test_an_empty_stratum_without_samples_is_allowed() -> None:
    counts = np.array([[48, 2, 0], [3, 47, 0], [0, 0, 0]])
    table = estimate_areas(counts, [40.0, 60.0, 0.0])
    assert table["area"].sum() == pytest.approx(100.0)
    assert table.loc[2, "area"] == 0.0
    assert np.isnan(table.loc[2, "users_accuracy"])
    assert np.isnan(table.loc[2, "producers_accuracy"])


@st.composite
def designs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(2, 6))
    counts = np.array(draw(st.lists(st.lists(st.integers(0, 40), min_size=k, max_size=k), min_size=k, max_size=k)))
    counts[np.arange(k), np.arange(k)] += 2  # every stratum has at least 2 samples
    areas = np.array(draw(st.lists(st.floats(0.5, 1e6), min_size=k, max_size=k)))
    return counts, areas


@settings(max_examples=60, deadline=None)
@given(designs(), st.floats(1e-3, 1e3), st.randoms(use_true_random=False))
def test_estimates_are_consistent_under_scaling_and_permutation(design, scale, random) -> None:
    counts, areas = design
    table = estimate_areas(counts, areas)
    assert table["proportion"].sum() == pytest.approx(1.0)
    assert table["area"].sum() == pytest.approx(areas.sum())
    assert (table["proportion_se"] >= 0).all()
    scaled = estimate_areas(counts, areas * scale)
    assert scaled["area"].to_numpy() == pytest.approx(table["area"].to_numpy() * scale)
    assert scaled["area_ci95"].to_numpy() == pytest.approx(table["area_ci95"].to_numpy() * scale)
    assert scaled["proportion"].to_numpy() == pytest.approx(table["proportion"].to_numpy())
    order = list(range(len(areas)))
    random.shuffle(order)
    permuted = estimate_areas(counts[np.ix_(order, order)], areas[order])
    columns = ["area", "area_se", "users_accuracy", "producers_accuracy", "producers_accuracy_se"]
    assert permuted[columns].to_numpy() == pytest.approx(table[columns].to_numpy()[order], nan_ok=True)
    assert permuted.attrs["overall_accuracy"] == pytest.approx(table.attrs["overall_accuracy"])


def test_estimates_are_unbiased_and_their_standard_errors_honest_by_simulation() -> None:
    # A population of three strata with known reference shares; 4000 stratified samples.
    rng = np.random.default_rng(7)
    areas = np.array([70.0, 20.0, 10.0])
    truth = np.array([[0.85, 0.1, 0.05], [0.15, 0.75, 0.1], [0.1, 0.2, 0.7]])
    sizes = np.array([100, 80, 80])
    true_areas = (areas[:, None] * truth).sum(axis=0)
    estimates, ses = [], []
    for _ in range(4000):
        counts = np.stack([rng.multinomial(n, p) for n, p in zip(sizes, truth)])
        table = estimate_areas(counts, areas)
        estimates.append(table["area"].to_numpy())
        ses.append(table["area_se"].to_numpy())
    estimates, ses = np.array(estimates), np.array(ses)
    assert estimates.mean(axis=0) == pytest.approx(true_areas, abs=0.1)
    assert ses.mean(axis=0) == pytest.approx(estimates.std(axis=0), rel=0.05)
    # The normal (Wald) interval covers close to 95 %; a little less for a class that is
    # rare in a large stratum, whose estimate is skewed (here 0.93 for the third class).
    covered = np.abs(estimates - true_areas) <= Z95 * ses
    assert covered.mean(axis=0) == pytest.approx([0.95] * 3, abs=0.03)


@pytest.mark.parametrize(
    ("matrix", "areas", "message"),
    [
        (np.ones((2, 3)) * 5, [1, 1], "square"),
        ([[5, -1], [2, 5]], [1, 1], "negative"),
        ([[5, 0.5], [2, 5]], [1, 1], "non-integer"),
        ([[5, np.nan], [2, 5]], [1, 1], "NaN"),
        ([[5, 2], [1, 0]], [1, 1], r"fewer than 2 samples .*\['1'\]"),
        ([[5, 2], [1, 5]], [1, 1, 1], "mapped_areas has 3 values"),
        ([[5, 2], [1, 5]], [1, -1], "mapped_areas must be non-negative"),
        ([[5, 2], [1, 5]], [1, np.nan], "mapped_areas holds NaN"),
        ([["a", 2], [1, 5]], [1, 1], "numbers"),
    ],
)
def test_bad_input_names_the_parameter(matrix, areas, message) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_areas(matrix, areas)


def test_a_stratum_with_too_few_samples_is_named_by_its_label() -> None:
    matrix = pd.DataFrame([[30, 2], [1, 0]], index=["crop", "sealed"], columns=["crop", "sealed"])
    with pytest.raises(ValueError, match=r"\['sealed'\]"):
        estimate_areas(matrix, [90, 10])


def test_labels_must_agree() -> None:
    matrix = pd.DataFrame([[30, 2], [1, 5]], index=[1, 2], columns=[2, 1])
    with pytest.raises(ValueError, match="error_matrix must list the same classes"):
        estimate_areas(matrix, [90, 10])
    matrix = pd.DataFrame([[30, 2], [1, 5]], index=[1, 2], columns=[1, 2])
    with pytest.raises(ValueError, match="mapped_areas is indexed by"):
        estimate_areas(matrix, pd.Series([90, 10], index=[1, 3]))


def test_a_series_of_areas_is_aligned_on_the_labels() -> None:
    matrix = pd.DataFrame([[30, 2], [1, 5]], index=[1, 2], columns=[1, 2])
    direct = estimate_areas(matrix, [90.0, 10.0])
    shuffled = estimate_areas(matrix, pd.Series([10.0, 90.0], index=[2, 1]))
    assert shuffled["area"].tolist() == pytest.approx(direct["area"].tolist())


def _paper_frame() -> tuple[pd.DataFrame, pd.Series]:
    return (pd.DataFrame(PAPER_COUNTS, index=PAPER_CLASSES, columns=PAPER_CLASSES),
            pd.Series(PAPER_AREAS_HA, index=PAPER_CLASSES, dtype=float))


def test_merging_reference_columns_keeps_the_strata() -> None:
    matrix, _ = _paper_frame()
    merged = merge_reference_classes(matrix, {"change": ["deforestation", "forest gain"]})
    assert merged.columns.tolist() == ["change", "forest", "non-forest"]
    assert merged.index.tolist() == PAPER_CLASSES
    assert merged["change"].tolist() == [66, 55, 1, 3]
    with pytest.raises(ValueError, match="groups must name distinct columns"):
        merge_reference_classes(matrix, {"x": ["forest", "nope"]})


def test_group_area_has_the_standard_error_of_the_merged_class() -> None:
    matrix, areas = _paper_frame()
    groups = {"change": ["deforestation", "forest gain"]}
    table = estimate_group_areas(matrix, areas, groups)
    classes = estimate_areas(matrix, areas)
    assert table.loc["change", "area"] == pytest.approx(classes["area"].iloc[:2].sum())
    # by hand: the merged reference share y_i = (n_i,def + n_i,gain) / n_i. within each stratum
    n = PAPER_COUNTS.astype(float)
    w = PAPER_AREAS_HA / PAPER_AREAS_HA.sum()
    y = n[:, :2].sum(axis=1) / n.sum(axis=1)
    se = np.sqrt((w**2 * y * (1 - y) / (n.sum(axis=1) - 1)).sum())
    assert table.loc["change", "proportion_se"] == pytest.approx(se)
    # and not the root of the summed variances, which ignores the negative covariance
    naive = np.sqrt((classes["proportion_se"].iloc[:2] ** 2).sum())
    assert table.loc["change", "proportion_se"] != pytest.approx(naive, rel=1e-3)
    assert table.loc["forest", "area"] == pytest.approx(classes.loc["forest", "area"])


def test_share_of_all_area_equals_the_merged_class_estimate() -> None:
    matrix, areas = _paper_frame()
    share = estimate_share(matrix, areas, ["deforestation", "forest gain"])
    group = estimate_group_areas(matrix, areas, {"change": ["deforestation", "forest gain"]})
    assert share.estimate == pytest.approx(group.loc["change", "proportion"])
    assert share.se == pytest.approx(group.loc["change", "proportion_se"])
    assert share.mapped == pytest.approx((18_000 + 13_500) / 900_000)
    low, high = share.ci95
    assert (high - low) / 2 == pytest.approx(Z95 * share.se)


def test_ratio_share_matches_the_delta_method() -> None:
    # share of deforestation in the non-"non-forest" area: R = a / (1 - b)
    matrix, areas = _paper_frame()
    share = estimate_share(matrix, areas, ["deforestation"], ["deforestation", "forest gain", "forest"])
    classes = estimate_areas(matrix, areas)
    a, b = classes["proportion"].iloc[0], classes["proportion"].iloc[3]
    n = PAPER_COUNTS.astype(float)
    w = PAPER_AREAS_HA / PAPER_AREAS_HA.sum()
    q = n / n.sum(axis=1, keepdims=True)
    cov_ab = (w**2 * -q[:, 0] * q[:, 3] / (n.sum(axis=1) - 1)).sum()
    var_a, var_b = classes["proportion_se"].iloc[0] ** 2, classes["proportion_se"].iloc[3] ** 2
    ratio = a / (1 - b)
    var = (var_a + 2 * ratio * cov_ab + ratio**2 * var_b) / (1 - b) ** 2
    assert share.estimate == pytest.approx(ratio)
    assert share.se == pytest.approx(np.sqrt(var))


def test_share_rejects_unknown_classes() -> None:
    matrix, areas = _paper_frame()
    with pytest.raises(ValueError, match="numerator must name classes"):
        estimate_share(matrix, areas, ["urban"])
    with pytest.raises(ValueError, match="denominator must name classes"):
        estimate_share(matrix, areas, ["forest"], ["urban"])

"""Sample size and allocation of a reference sample (landcover.stats.design), Olofsson et al. (2014) section 5.1."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landcover.stats import allocate_sample, overall_accuracy_se, sample_size_for_overall_accuracy

# Section 5.1 of the paper: strata weights and expected user's accuracies.
WEIGHTS = [0.02, 0.015, 0.320, 0.645]
USERS = [0.7, 0.6, 0.9, 0.95]


def test_sample_size_of_the_papers_example() -> None:
    # (0.02*sqrt(.21) + 0.015*sqrt(.24) + 0.32*sqrt(.09) + 0.645*sqrt(.0475))^2 / 0.01^2 = 640.5
    expected = (sum(w * np.sqrt(u * (1 - u)) for w, u in zip(WEIGHTS, USERS)) / 0.01) ** 2
    assert expected == pytest.approx(640.5, abs=0.1)
    assert sample_size_for_overall_accuracy(WEIGHTS, USERS, 0.01) == 641


def test_areas_give_the_same_size_as_weights() -> None:
    areas = [w * 900_000 for w in WEIGHTS]
    assert sample_size_for_overall_accuracy(areas, USERS, 0.01) == 641


def test_one_users_accuracy_for_all_strata_and_a_minimum() -> None:
    # S = sqrt(0.9 * 0.1) = 0.3 whatever the weights: n = (0.3 / 0.02)^2 = 225
    assert sample_size_for_overall_accuracy([1, 2, 3], 0.9, 0.02) == 225
    assert sample_size_for_overall_accuracy([1, 2, 3], 0.9, 0.02, minimum_per_stratum=100) == 300


def test_allocation_with_the_papers_minimum_of_75() -> None:
    allocation = allocate_sample(641, WEIGHTS, minimum_per_stratum=75)
    # 75 each for the two rare strata; 491 left, shared 0.320 : 0.645
    assert allocation.tolist() == [75, 75, round(491 * 0.32 / 0.965), 491 - round(491 * 0.32 / 0.965)]
    assert allocation.sum() == 641


def test_proportional_allocation_without_minimum() -> None:
    assert allocate_sample(200, [1, 1, 2], minimum_per_stratum=0).tolist() == [50, 50, 100]


def test_strata_without_area_get_no_sample() -> None:
    assert allocate_sample(100, [0, 1, 3], minimum_per_stratum=30).tolist() == [0, 30, 70]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0.0, 1e4), min_size=1, max_size=10).filter(lambda w: sum(w) > 0),
       st.integers(0, 80), st.integers(0, 3000))
def test_allocation_sums_to_the_total_and_respects_the_minimum(weights, minimum, extra) -> None:
    mapped = np.array(weights) > 0
    total = minimum * int(mapped.sum()) + extra
    allocation = allocate_sample(total, weights, minimum_per_stratum=minimum)
    assert allocation.sum() == total
    assert (allocation[mapped] >= minimum).all()
    assert (allocation[~mapped] == 0).all()


def test_expected_standard_error_of_an_allocation() -> None:
    allocation = [75, 75, 163, 328]
    expected = np.sqrt(sum(w**2 * u * (1 - u) / (n - 1) for w, u, n in zip(WEIGHTS, USERS, allocation)))
    assert overall_accuracy_se(WEIGHTS, USERS, allocation) == pytest.approx(expected)
    # the minimum for rare strata costs a little precision on overall accuracy
    assert overall_accuracy_se(WEIGHTS, USERS, allocation) > 0.01


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sample_size_for_overall_accuracy(WEIGHTS, USERS, 0), "target_se"),
        (lambda: sample_size_for_overall_accuracy(WEIGHTS, [0.9, 1.2, 0.9, 0.9], 0.01), "expected_users_accuracy must lie"),
        (lambda: sample_size_for_overall_accuracy(WEIGHTS, [0.9, 0.9], 0.01), "expected_users_accuracy has 2 values"),
        (lambda: sample_size_for_overall_accuracy([-1, 2], 0.9, 0.01), "mapped_areas"),
        (lambda: allocate_sample(100, WEIGHTS, minimum_per_stratum=30), "total must be"),
        (lambda: allocate_sample(10.5, WEIGHTS, minimum_per_stratum=0), "total must be"),
        (lambda: allocate_sample(100, WEIGHTS, minimum_per_stratum=-1), "minimum_per_stratum"),
        (lambda: overall_accuracy_se(WEIGHTS, USERS, [1, 75, 75, 75]), "allocation"),
    ],
)
def test_bad_input_names_the_parameter(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()

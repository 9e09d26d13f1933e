"""Sample design for an accuracy assessment: how many reference points, and how many per map class.

Follows Olofsson et al. (2014, *Remote Sensing of Environment* 148, 42-57),
section 5.1: the total from a target standard error of overall accuracy
(their eq. 13), then an allocation to the strata (the map classes).
"""

from __future__ import annotations

import math

import numpy as np


def _weights(mapped_areas: object) -> np.ndarray:
    """Stratum weights (summing to 1) from mapped areas or from weights."""
    areas = np.asarray(mapped_areas, dtype=float).ravel()
    if areas.size == 0 or not np.isfinite(areas).all() or (areas < 0).any() or areas.sum() <= 0:
        raise ValueError(f"mapped_areas must be finite, non-negative and not all zero; got {areas.tolist()}")
    return areas / areas.sum()


def _users_accuracies(expected_users_accuracy: object, k: int) -> np.ndarray:
    """Expected user's accuracies, one per stratum, each in [0, 1]."""
    users = np.asarray(expected_users_accuracy, dtype=float).ravel()
    if users.size == 1:
        users = np.repeat(users, k)
    if users.size != k:
        raise ValueError(f"expected_users_accuracy has {users.size} values but mapped_areas has {k}")
    if not np.isfinite(users).all() or (users < 0).any() or (users > 1).any():
        raise ValueError(f"expected_users_accuracy must lie in [0, 1]; got {users.tolist()}")
    return users


def sample_size_for_overall_accuracy(
    mapped_areas: object,
    expected_users_accuracy: object,
    target_se: float,
    minimum_per_stratum: int = 0,
) -> int:
    """Total sample size that gives overall accuracy the standard error ``target_se`` (eq. 13).

    ``n = (sum_i W_i S_i / S(O))²`` with ``S_i = sqrt(U_i (1 - U_i))``, where
    ``W_i`` is the weight of stratum ``i`` (``mapped_areas`` in any unit, or
    weights), ``U_i`` its expected user's accuracy (one value for all, or one
    per stratum) and ``S(O)`` the target standard error (0.01 = one point of
    accuracy). The result is rounded up, and raised to
    ``minimum_per_stratum`` times the number of strata with an area when that is
    larger, so that :func:`allocate_sample` can give every stratum its minimum.
    """
    weights = _weights(mapped_areas)
    users = _users_accuracies(expected_users_accuracy, weights.size)
    if not np.isfinite(target_se) or target_se <= 0:
        raise ValueError(f"target_se must be a positive standard error (e.g. 0.01); got {target_se!r}")
    if minimum_per_stratum < 0:
        raise ValueError(f"minimum_per_stratum must be >= 0; got {minimum_per_stratum}")
    n = (weights * np.sqrt(users * (1 - users))).sum() ** 2 / target_se**2
    strata = int((np.asarray(mapped_areas, dtype=float).ravel() > 0).sum())
    return max(math.ceil(n - 1e-9), minimum_per_stratum * strata)


def allocate_sample(total: int, mapped_areas: object, minimum_per_stratum: int = 50) -> np.ndarray:
    """Sample size per stratum: proportional to area, but at least ``minimum_per_stratum``; sums to ``total``.

    Proportional allocation estimates overall accuracy well but leaves rare
    classes (often the ones of interest: change, sealed land) with a handful of
    points, so their user's accuracy and area are poorly estimated. Olofsson et
    al. (2014, section 5.1) recommend a compromise: give the rare strata a
    minimum sample (their example gives 75 to each rare class; 50 to 100 is the
    usual range) and share the rest in proportion to area. Strata below the
    minimum are set to it until the remaining shares all exceed it; rounding by
    largest remainder keeps the total. Strata with no area get 0.
    """
    weights = _weights(mapped_areas)
    if minimum_per_stratum < 0:
        raise ValueError(f"minimum_per_stratum must be >= 0; got {minimum_per_stratum}")
    mapped = np.asarray(mapped_areas, dtype=float).ravel() > 0  # not weights > 0: a tiny area may round to 0
    if int(total) != total or total < minimum_per_stratum * mapped.sum():
        raise ValueError(
            f"total must be a whole number of at least minimum_per_stratum x strata = "
            f"{minimum_per_stratum} x {int(mapped.sum())}; got {total}"
        )
    fixed = np.zeros(weights.size, dtype=bool)
    while True:
        free = mapped & ~fixed
        share = np.zeros(weights.size)
        share[free] = weights[free] / weights[free].sum() * (total - minimum_per_stratum * fixed.sum())
        below = free & (share < minimum_per_stratum)
        if not below.any():
            break
        fixed |= below
    share[fixed] = minimum_per_stratum
    allocation = np.floor(share).astype(int)
    order = np.argsort(-(share - allocation), kind="stable")
    allocation[order[: int(total) - allocation.sum()]] += 1
    return allocation


def overall_accuracy_se(mapped_areas: object, expected_users_accuracy: object, allocation: object) -> float:
    """Standard error of overall accuracy that an ``allocation`` is expected to give.

    ``V(O) = sum_i W_i² U_i (1 - U_i) / (n_i - 1)``: use it to see what a
    minimum per stratum costs against the target of
    :func:`sample_size_for_overall_accuracy`.
    """
    weights = _weights(mapped_areas)
    users = _users_accuracies(expected_users_accuracy, weights.size)
    sizes = np.asarray(allocation, dtype=float).ravel()
    if sizes.size != weights.size or ((sizes < 2) & (weights > 0)).any():
        raise ValueError(f"allocation must give each of the {weights.size} strata with an area at least 2; got {sizes.tolist()}")
    terms = np.divide(weights**2 * users * (1 - users), sizes - 1, out=np.zeros(weights.size), where=weights > 0)
    return float(np.sqrt(terms.sum()))

"""Area and accuracy estimates from a stratified reference sample (Olofsson et al. 2014).

A map's pixel counts are biased by its errors: every commission error inflates a
class and every omission error shrinks it. The good-practice estimator of
Olofsson, Foody, Herold, Stehman, Woodcock and Wulder (2014, *Remote Sensing of
Environment* 148, 42-57) corrects the mapped areas with a reference sample drawn
by stratified random sampling, the strata being the map classes, and gives each
estimate a standard error. Equation numbers below are the paper's.

Notation: ``n_ij`` sample counts (row ``i`` = map class = stratum, column ``j`` =
reference class), ``n_i.`` the sample size of stratum ``i``, ``A_i`` its mapped
area and ``W_i = A_i / A`` its weight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from landcover.classes import CLASS_IDS

#: Normal quantile of a two-sided 95 % confidence interval (the paper's 1.96).
Z95 = 1.96


@dataclass(frozen=True)
class _Design:
    """Validated inputs: counts ``(K, J)``, areas ``(K,)``, row and column labels."""

    counts: np.ndarray
    areas: np.ndarray
    labels: pd.Index
    columns: pd.Index

    @property
    def weights(self) -> np.ndarray:
        """Stratum weights ``W_i = A_i / A``."""
        return self.areas / self.areas.sum()

    @property
    def row_shares(self) -> np.ndarray:
        """``n_ij / n_i.``: the reference classes' shares within each stratum's sample (0 for empty strata)."""
        sizes = self.counts.sum(axis=1, keepdims=True)
        return np.divide(self.counts, sizes, out=np.zeros_like(self.counts), where=sizes > 0)

    @property
    def inverse_df(self) -> np.ndarray:
        """``1 / (n_i. - 1)`` per stratum; 0 for strata of no area, which add no variance."""
        sizes = self.counts.sum(axis=1)
        return np.divide(1.0, sizes - 1.0, out=np.zeros_like(self.areas), where=(self.areas > 0) & (sizes > 1))


def _counts(error_matrix: object, square: bool) -> tuple[np.ndarray, pd.Index | None, pd.Index | None]:
    """The error matrix as float counts, and its row and column labels when it was a DataFrame."""
    rows = columns = None
    if isinstance(error_matrix, pd.DataFrame):
        rows, columns = error_matrix.index, error_matrix.columns
        if square and list(rows) != list(columns):
            raise ValueError(
                "error_matrix must list the same classes, in the same order, as rows (map) and columns "
                f"(reference); got rows {list(rows)} and columns {list(columns)}"
            )
    try:
        counts = np.asarray(error_matrix, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"error_matrix must hold numbers (sample counts): {error}") from None
    if counts.ndim != 2 or (square and counts.shape[0] != counts.shape[1]) or counts.size == 0:
        raise ValueError(f"error_matrix must be a {'square ' if square else ''}2-D table of counts; got shape {counts.shape}")
    if not np.isfinite(counts).all():
        raise ValueError("error_matrix holds NaN or infinite values; it must hold sample counts")
    if (counts < 0).any():
        raise ValueError("error_matrix holds negative values; it must hold sample counts")
    if not np.allclose(counts, np.round(counts)):
        raise ValueError("error_matrix holds non-integer values; it must hold sample counts, not proportions or areas")
    return np.round(counts), rows, columns


def _areas(mapped_areas: object, labels: pd.Index | None, k: int) -> tuple[np.ndarray, pd.Index]:
    """Mapped areas in the error matrix's row order, and the class labels."""
    if isinstance(mapped_areas, pd.Series):
        if labels is None:
            labels = mapped_areas.index
        elif set(mapped_areas.index) != set(labels):
            raise ValueError(
                f"mapped_areas is indexed by {list(mapped_areas.index)} but error_matrix by {list(labels)}; "
                "they must name the same classes"
            )
        mapped_areas = mapped_areas.reindex(labels)
    areas = np.asarray(mapped_areas, dtype=float).ravel()
    if areas.size != k:
        raise ValueError(f"mapped_areas has {areas.size} values but error_matrix has {k} classes (rows)")
    if not np.isfinite(areas).all():
        raise ValueError("mapped_areas holds NaN or infinite values")
    if (areas < 0).any() or areas.sum() <= 0:
        raise ValueError("mapped_areas must be non-negative and not all zero")
    labels = pd.RangeIndex(k) if labels is None else pd.Index(labels)
    return areas, labels


def _design(error_matrix: object, mapped_areas: object, square: bool = True) -> _Design:
    """Check the inputs of an estimate and bundle them."""
    counts, rows, columns = _counts(error_matrix, square)
    areas, labels = _areas(mapped_areas, rows, counts.shape[0])
    small = [str(label) for label, n, a in zip(labels, counts.sum(axis=1), areas) if a > 0 and n < 2]
    if small:
        raise ValueError(
            f"error_matrix has fewer than 2 samples in the mapped stratum/strata {small}; "
            "the variance of a stratum needs at least 2 (the paper suggests 50 or more)"
        )
    columns = labels if square else (pd.RangeIndex(counts.shape[1]) if columns is None else columns)
    return _Design(counts, areas, labels.rename("class"), pd.Index(columns).rename("class"))


def _reference_proportions(design: _Design) -> tuple[np.ndarray, np.ndarray]:
    """Estimated area proportion of each reference class, ``sum_i W_i n_ik / n_i.``, and its standard error."""
    w, q = design.weights[:, None], design.row_shares
    proportion = (w * q).sum(axis=0)
    variance = (w**2 * q * (1 - q) * design.inverse_df[:, None]).sum(axis=0)
    return proportion, np.sqrt(variance)


def _producers_accuracy(design: _Design) -> tuple[np.ndarray, np.ndarray]:
    """Producer's accuracy of each class and its standard error (eq. 7, areas in place of pixel counts)."""
    a, q, inv = design.areas, design.row_shares, design.inverse_df
    users = np.diag(q)
    estimated = (a[:, None] * q).sum(axis=0)  # N^_.j: estimated reference area of class j
    with np.errstate(invalid="ignore", divide="ignore"):
        producers = a * users / estimated
        others = (a[:, None] ** 2 * q * (1 - q) * inv[:, None]).sum(axis=0) - a**2 * users * (1 - users) * inv
        own = a**2 * (1 - producers) ** 2 * users * (1 - users) * inv
        variance = (own + producers**2 * others) / estimated**2
    return producers, np.sqrt(variance)


def estimate_areas(error_matrix: object, mapped_areas: object) -> pd.DataFrame:
    """Bias-adjusted class areas and accuracies with standard errors (Olofsson et al. 2014).

    Parameters
    ----------
    error_matrix
        Square table of sample COUNTS ``n_ij``: row ``i`` = map class (the
        stratum the sample unit was drawn from), column ``j`` = reference class,
        same classes in the same order. A DataFrame keeps its index as labels.
    mapped_areas
        Mapped area ``A_i`` of each stratum, in any unit (pixels, ha, km²); a
        Series is aligned on the error matrix's labels.

    Returns
    -------
    pandas.DataFrame
        One row per class: ``proportion`` of the total area and its
        ``proportion_se``; ``area`` and ``area_se`` in the unit of
        ``mapped_areas`` and ``area_ci95``, the half-width ``1.96 * area_se`` of
        the 95 % interval; ``users_accuracy`` and
        ``producers_accuracy`` with their standard errors (eq. 7 for the latter).
        ``attrs`` hold ``overall_accuracy``, ``overall_accuracy_se`` and
        ``total_area``.

    Notes
    -----
    With ``q_ik = n_ik / n_i.``:

    - proportion ``p_.k = sum_i W_i q_ik``, variance ``sum_i W_i² q_ik (1 - q_ik) / (n_i. - 1)``;
      area ``A p_.k``, standard error ``A SE(p_.k)``;
    - user's accuracy ``U_i = q_ii``, variance ``U_i (1 - U_i) / (n_i. - 1)``;
    - overall accuracy ``O = sum_i W_i U_i``, variance ``sum_i W_i² U_i (1 - U_i) / (n_i. - 1)``;
    - producer's accuracy ``P_j = A_j U_j / N_j`` with ``N_j = sum_i A_i q_ij``
      the estimated reference area of ``j``; variance by eq. 7, with mapped
      areas in place of the strata's pixel counts (the ratios are the same).

    A stratum with mapped area 0 is empty: it adds nothing, and may have no
    sample. Any stratum with an area needs at least 2 sample units. The variances
    have no finite-population correction, so they are slightly conservative.
    """
    design = _design(error_matrix, mapped_areas)
    w, q, inv = design.weights, design.row_shares, design.inverse_df
    proportion, proportion_se = _reference_proportions(design)
    users = np.where(design.counts.sum(axis=1) > 0, np.diag(q), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        users_se = np.sqrt(users * (1 - users) / (design.counts.sum(axis=1) - 1))
    producers, producers_se = _producers_accuracy(design)
    total = design.areas.sum()
    table = pd.DataFrame(
        {
            "proportion": proportion,
            "proportion_se": proportion_se,
            "area": proportion * total,
            "area_se": proportion_se * total,
            "area_ci95": Z95 * proportion_se * total,
            "users_accuracy": users,
            "users_accuracy_se": users_se,
            "producers_accuracy": producers,
            "producers_accuracy_se": producers_se,
        },
        index=design.labels,
    )
    diagonal = np.nan_to_num(np.diag(q))
    table.attrs["overall_accuracy"] = float((w * diagonal).sum())
    table.attrs["overall_accuracy_se"] = float(np.sqrt((w**2 * diagonal * (1 - diagonal) * inv).sum()))
    table.attrs["total_area"] = float(total)
    return table


def merge_reference_classes(error_matrix: pd.DataFrame, groups: Mapping[str, Sequence[object]]) -> pd.DataFrame:
    """The error matrix with its reference COLUMNS summed into groups; the rows (strata) stay as they are.

    The strata must stay: the sample was allocated to them, so merging rows
    would change the design. Merging columns answers "is the reference in
    this group?" for each sample unit, which is what the area of a group needs.
    Columns in no group are kept under their own label, after the groups.
    """
    if not isinstance(error_matrix, pd.DataFrame):
        raise ValueError("error_matrix must be a DataFrame whose columns are the reference classes")
    members = [label for labels in groups.values() for label in labels]
    unknown = [label for label in members if label not in error_matrix.columns]
    if unknown or len(set(members)) != len(members):
        raise ValueError(f"groups must name distinct columns of error_matrix; unknown or repeated: {unknown or members}")
    merged = {name: error_matrix[list(labels)].sum(axis=1) for name, labels in groups.items()}
    rest = {label: error_matrix[label] for label in error_matrix.columns if label not in members}
    return pd.DataFrame({**merged, **rest}, index=error_matrix.index)


def estimate_group_areas(
    error_matrix: pd.DataFrame, mapped_areas: object, groups: Mapping[str, Sequence[object]]
) -> pd.DataFrame:
    """Bias-adjusted area of groups of reference classes (e.g. the three tree classes), with standard errors.

    The area proportion of a group is the sum of its classes' proportions. Its
    standard error is not the root of the summed variances: within a stratum
    the classes' shares are negatively correlated. The estimator of a merged
    reference class (the proportion's estimator applied to
    :func:`merge_reference_classes`) accounts for it.

    Returns one row per group (then per class left out of every group) with
    ``proportion``, ``proportion_se``, ``area``, ``area_se``, ``area_ci95`` in
    the unit of ``mapped_areas``.
    """
    _counts(error_matrix, square=True)  # the same checks as estimate_areas, before merging
    merged = merge_reference_classes(error_matrix, groups)
    design = _design(merged, mapped_areas, square=False)
    proportion, se = _reference_proportions(design)
    total = design.areas.sum()
    return pd.DataFrame(
        {"proportion": proportion, "proportion_se": se, "area": proportion * total,
         "area_se": se * total, "area_ci95": Z95 * se * total},
        index=pd.Index(merged.columns, name="group"),
    )


@dataclass(frozen=True)
class ShareEstimate:
    """A share of area (0..1) as mapped and as estimated from a reference sample, with its uncertainty."""

    mapped: float
    estimate: float
    se: float

    @property
    def ci95(self) -> tuple[float, float]:
        """The 95 % confidence interval ``estimate ± 1.96 se``."""
        return self.estimate - Z95 * self.se, self.estimate + Z95 * self.se


def _indicator(labels: pd.Index, members: Iterable[object] | None, name: str) -> np.ndarray:
    """1.0 for the columns that belong to ``members`` (all when None), else 0.0.

    A member that is a class of the book but absent from the matrix (a class no
    stratum was mapped as and no sample unit referenced, such as lichens in a
    lowland region) contributes nothing; anything else is an error.
    """
    if members is None:
        return np.ones(len(labels))
    members = list(members)
    unknown = [m for m in members if m not in labels and m not in CLASS_IDS]
    if unknown or not any(m in labels for m in members):
        raise ValueError(f"{name} must name classes of error_matrix {list(labels)}; unknown: {unknown or 'none given'}")
    return np.isin(labels, members).astype(float)


def estimate_share(
    error_matrix: object,
    mapped_areas: object,
    numerator: Iterable[object],
    denominator: Iterable[object] | None = None,
) -> ShareEstimate:
    """Estimated share of the ``numerator`` classes in the area of the ``denominator`` classes (all by default).

    A share of *land* area (sealed land / land) divides two estimated areas, both
    uncertain. The ratio ``R = p_num / p_den`` is estimated from the stratified
    sample, and its variance by linearisation (Cochran 1977, section 6.11): each
    sample unit gets ``z = 1[ref in numerator] - R 1[ref in denominator]`` and
    ``V(R) = sum_i W_i² s²_i(z) / n_i. / p_den²``. With the default denominator
    this is exactly the proportion of a merged reference class.
    ``mapped`` is the share in the map itself (from ``mapped_areas``).
    """
    design = _design(error_matrix, mapped_areas)
    num = _indicator(design.labels, numerator, "numerator")
    den = _indicator(design.labels, denominator, "denominator")
    w, q = design.weights, design.row_shares
    p_num, p_den = (w * (q @ num)).sum(), (w * (q @ den)).sum()
    if p_den <= 0:
        raise ValueError("denominator classes have an estimated area of 0; the share is undefined")
    ratio = p_num / p_den
    z = num - ratio * den
    mean = q @ z
    within = (q * (z[None, :] - mean[:, None]) ** 2).sum(axis=1)  # sum_j (n_ij/n_i.) (z_j - zbar_i)^2
    variance = (w**2 * within * design.inverse_df).sum() / p_den**2  # V(zbar_i) = within_i / (n_i. - 1)
    mapped = float((design.areas * num).sum() / (design.areas * den).sum()) if (design.areas * den).sum() else float("nan")
    return ShareEstimate(mapped=mapped, estimate=float(ratio), se=float(np.sqrt(variance)))

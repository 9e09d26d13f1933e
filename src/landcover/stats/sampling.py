"""Stratified random sampling of map pixels, and the error matrix of the sample.

The strata are the map classes: each class's pixels are a stratum, sampled
without replacement, so :func:`landcover.stats.estimate_areas` can weight each
stratum by its mapped area. The reference class of each sample unit comes from
a better source (photo-interpretation, field survey, or here the CLC+ labels).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from affine import Affine

from landcover.classes import CLASS_IDS, NODATA
from landcover.stats._crosstab import lookup_table
from landcover.stats._validation import as_class_raster, class_ids, north_up_transform


class SampleWarning(UserWarning):
    """A sample is not quite what was asked for (a stratum too small, units without a reference)."""


def _sizes(raster: np.ndarray, n_per_class: Mapping[int, int] | int, nodata: int) -> dict[int, int]:
    """Requested sample size per class; an int applies to every class present in the map."""
    if isinstance(n_per_class, Mapping):
        sizes = {int(c): n for c, n in n_per_class.items()}
        class_ids(sizes, nodata, "n_per_class")
    else:
        present = np.unique(raster)
        sizes = {int(c): n_per_class for c in present if c != nodata}
    bad = {c: n for c, n in sizes.items() if not isinstance(n, (int, np.integer)) or n < 0}
    if bad:
        raise ValueError(f"n_per_class must give whole, non-negative sample sizes; got {bad}")
    return sizes


def stratified_sample(
    map_array: object,
    n_per_class: Mapping[int, int] | int,
    seed: int | np.random.Generator,
    nodata: int = NODATA,
    transform: Affine | None = None,
) -> pd.DataFrame:
    """A stratified random sample of pixels of a class map, without replacement, reproducible.

    Parameters
    ----------
    map_array
        2-D class map (the strata), e.g. a region's predicted mosaic.
    n_per_class
        Sample size per map class, as ``{class: n}``, or one int for every
        class present. :func:`landcover.stats.allocate_sample` suggests sizes.
    seed
        Seed or ``numpy.random.Generator``: the same seed draws the same sample.
    nodata
        Map value that is not a stratum (never sampled).
    transform
        Optional affine transform of the map (EPSG:3035): adds the pixel
        centres ``x``, ``y`` in metres, to find the points on imagery.

    Returns
    -------
    pandas.DataFrame
        ``row``, ``col``, ``map_class`` (and ``x``, ``y``), sorted by class then position.

    Warns
    -----
    SampleWarning
        When a class has fewer pixels than asked: all of them are taken (the
        stratum is then a census, which the estimator handles: its share of the
        reference classes is known exactly, though the variance formula, without
        a finite-population correction, still gives it a small variance).
    """
    raster = as_class_raster(map_array, "map_array")
    rng = np.random.default_rng(seed)
    flat = raster.ravel()
    picks = []
    for value, wanted in sorted(_sizes(raster, n_per_class, nodata).items()):
        pixels = np.flatnonzero(flat == value)
        if pixels.size < wanted:
            warnings.warn(
                f"class {value} has {pixels.size} pixels but n_per_class asks for {wanted}; taking all of them",
                SampleWarning, stacklevel=2,
            )
        picks.append(np.sort(rng.choice(pixels, size=min(wanted, pixels.size), replace=False)))
    chosen = np.concatenate(picks) if picks else np.empty(0, dtype=np.int64)
    rows, cols = np.unravel_index(chosen, raster.shape)
    sample = pd.DataFrame({"row": rows, "col": cols, "map_class": flat[chosen].astype(int)})
    if transform is not None:
        transform = north_up_transform(transform)
        sample["x"], sample["y"] = transform @ (cols + 0.5, rows + 0.5)
    return sample


def reference_at(sample: pd.DataFrame, reference_array: object) -> pd.DataFrame:
    """The ``sample`` with a ``reference_class`` column read from ``reference_array`` at each unit's pixel.

    ``reference_array`` must be on the map's grid (same shape, same transform).
    """
    reference = as_class_raster(reference_array, "reference_array")
    missing = {"row", "col"} - set(sample.columns)
    if missing:
        raise ValueError(f"sample lacks the column(s) {sorted(missing)}; draw it with stratified_sample")
    rows, cols = sample["row"].to_numpy(), sample["col"].to_numpy()
    outside = (rows < 0) | (rows >= reference.shape[0]) | (cols < 0) | (cols >= reference.shape[1])
    if outside.any():
        raise ValueError(
            f"{int(outside.sum())} sample unit(s) fall outside reference_array of shape {reference.shape}; "
            "the reference must be on the map's grid"
        )
    return sample.assign(reference_class=reference[rows, cols].astype(int))


def error_matrix_from_sample(
    sample: pd.DataFrame, classes: Iterable[int] = CLASS_IDS, nodata: int = NODATA
) -> pd.DataFrame:
    """Sample counts by map class (rows, the strata) and reference class (columns), the input of ``estimate_areas``.

    Units whose reference is ``nodata`` carry no information and are dropped,
    with a :class:`SampleWarning` that says how many (``attrs["dropped"]``
    holds the number). Dropping them assumes they are missing at random within
    their stratum; many of them in one stratum deserve a look.
    """
    ids = class_ids(classes, nodata)
    missing = {"map_class", "reference_class"} - set(sample.columns)
    if missing:
        raise ValueError(f"sample lacks the column(s) {sorted(missing)}; use stratified_sample then reference_at")
    mapped, reference = sample["map_class"].to_numpy(int), sample["reference_class"].to_numpy(int)
    dropped = int((reference == nodata).sum())
    if dropped:
        warnings.warn(f"dropped {dropped} of {len(sample)} sample units whose reference is nodata", SampleWarning, stacklevel=2)
    keep = reference != nodata
    table = lookup_table(int(max(mapped.max(initial=0), reference.max(initial=0))), ids)
    im, ir = table[mapped[keep]], table[reference[keep]]
    if (im < 0).any() or (ir < 0).any():
        unknown = sorted(set(mapped[keep][im < 0].tolist()) | set(reference[keep][ir < 0].tolist()))
        raise ValueError(f"sample holds classes {unknown} that are not in classes {ids}")
    k = len(ids)
    counts = np.bincount(im * k + ir, minlength=k * k).reshape(k, k)
    matrix = pd.DataFrame(counts, index=pd.Index(ids, name="map"), columns=pd.Index(ids, name="reference"))
    matrix.attrs["dropped"] = dropped
    return matrix

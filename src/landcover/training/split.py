"""An honest train / validation split: spatially separate, and separate across years.

Neighbouring pixels look alike (spatial autocorrelation), and the same place
looks almost the same in 2018 and 2021. A random split of tiles would
therefore put near-copies of validation tiles in the training set and report a
flattering score. Two safeguards here:

1. **Locations, not tiles, are split.** A location is the tile's lower-left
   corner (EPSG:3035 metres), the same in every year and in every region
   folder; all tiles of one location land on the same side.
2. **Validation is spatially apart**: either whole regions never seen in
   training (``split_by_region``, the strictest), or square blocks of
   several tiles (``split_by_blocks``), optionally with a buffer: training
   tiles closer than ``buffer_m`` to a validation tile are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from landcover.training.io import TileRecord

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Split:
    """Training and validation tiles, with how they were separated."""

    train: tuple[TileRecord, ...]
    val: tuple[TileRecord, ...]
    strategy: str
    description: str
    dropped: tuple[TileRecord, ...] = ()

    def summary(self) -> pd.DataFrame:
        """Tile counts per set, region and year (a pandas DataFrame)."""
        import pandas as pd

        rows = [
            {"set": name, "nuts": r.nuts, "year": r.year}
            for name, records in (("train", self.train), ("validation", self.val), ("dropped", self.dropped))
            for r in records
        ]
        table = pd.DataFrame(rows, columns=["set", "nuts", "year"])
        return table.groupby(["set", "nuts", "year"]).size().rename("tiles").reset_index()


def locations(records: Iterable[TileRecord]) -> set[tuple[int, int]]:
    """The ground locations (lower-left corners) of ``records``."""
    return {r.location for r in records}


def shared_locations(split: Split) -> set[tuple[int, int]]:
    """Locations present in both sets (empty for an honest split)."""
    return locations(split.train) & locations(split.val)


def shared_stems(split: Split) -> set[str]:
    """Tile names present in both sets, whatever the year (empty for an honest split)."""
    return {r.stem for r in split.train} & {r.stem for r in split.val}


def check_disjoint(split: Split) -> None:
    """Raise ``ValueError`` when a location or a tile name sits in both sets."""
    overlap = shared_locations(split)
    stems = shared_stems(split)
    if overlap or stems:
        raise ValueError(
            f"train and validation share {len(overlap)} locations and {len(stems)} tile names, "
            f"e.g. {sorted(overlap)[:3] or sorted(stems)[:3]}"
        )


def _bbox_array(records: Sequence[TileRecord]) -> np.ndarray:
    return np.array([[r.xmin, r.ymin, r.xmax, r.ymax] for r in records], dtype=np.float64).reshape(-1, 4)


def _min_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each box of ``a``, the distance (metres) to the nearest box of ``b`` (0 when touching)."""
    if len(b) == 0:
        return np.full(len(a), np.inf)
    dx = np.maximum(0, np.maximum(b[None, :, 0] - a[:, None, 2], a[:, None, 0] - b[None, :, 2]))
    dy = np.maximum(0, np.maximum(b[None, :, 1] - a[:, None, 3], a[:, None, 1] - b[None, :, 3]))
    return np.hypot(dx, dy).min(axis=1)


def _finish(
    train: list[TileRecord], val: list[TileRecord], strategy: str, description: str, buffer_m: float
) -> Split:
    val_locations = locations(val)
    val_stems = {v.stem for v in val}
    leaking = [r.location in val_locations or r.stem in val_stems for r in train]
    dropped = [r for r, leak in zip(train, leaking) if leak]
    train = [r for r, leak in zip(train, leaking) if not leak]
    if buffer_m > 0 and train:
        distance = _min_distance(_bbox_array(train), _bbox_array(val))
        # Boxes that merely touch are at distance 0; "< buffer" drops them too.
        near = distance < buffer_m
        dropped += [r for r, n in zip(train, near) if n]
        train = [r for r, n in zip(train, near) if not n]
        description += f"; training tiles within {buffer_m:g} m of validation dropped"
    if not train or not val:
        raise ValueError(f"the split left {len(train)} training and {len(val)} validation tiles; adjust it")
    split = Split(tuple(train), tuple(val), strategy, description, tuple(dropped))
    check_disjoint(split)
    return split


def split_by_region(
    records: Sequence[TileRecord], val_regions: Sequence[str], *, buffer_m: float = 0.0
) -> Split:
    """Validation = every tile of ``val_regions``; training = the other regions.

    A tile of a training region at the same location as a validation tile
    (regions can share border tiles) is dropped from training.
    """
    val_regions = list(val_regions)
    regions = {r.nuts for r in records}
    unknown = set(val_regions) - regions
    if unknown:
        raise ValueError(f"validation regions {sorted(unknown)} are not among the tiles' regions {sorted(regions)}")
    val = [r for r in records if r.nuts in val_regions]
    train = [r for r in records if r.nuts not in val_regions]
    return _finish(train, val, "region", f"held-out regions: {', '.join(sorted(val_regions))}", buffer_m)


def block_of(record: TileRecord, block_size_m: float) -> tuple[int, int]:
    """The square block (EPSG:3035 grid of ``block_size_m`` metres) holding a tile's corner."""
    x, y = record.location
    return (int(np.floor(x / block_size_m)), int(np.floor(y / block_size_m)))


def split_by_blocks(
    records: Sequence[TileRecord],
    *,
    block_size_m: float = 10_000.0,
    val_fraction: float = 0.2,
    seed: int = 0,
    buffer_m: float = 0.0,
) -> Split:
    """Validation = randomly chosen square blocks covering about ``val_fraction`` of the tiles.

    Blocks of ``block_size_m`` (default 10 km = 4 x 4 tiles of 2.5 km) are
    drawn in a seeded random order until the validation set holds
    ``val_fraction`` of the tiles; all years of a location share its block.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    groups: dict[tuple[int, int], list[TileRecord]] = {}
    for record in records:
        groups.setdefault(block_of(record, block_size_m), []).append(record)
    if len(groups) < 2:
        raise ValueError(f"all tiles fall in one {block_size_m:g} m block; use smaller blocks")
    order = sorted(groups)
    rng = np.random.default_rng(seed)
    rng.shuffle(order)
    target = val_fraction * len(records)
    val_blocks: list[tuple[int, int]] = []
    count = 0
    for block in order[:-1]:  # keep at least one block for training
        if count >= target:
            break
        val_blocks.append(block)
        count += len(groups[block])
    chosen = set(val_blocks)
    val = [r for r in records if block_of(r, block_size_m) in chosen]
    train = [r for r in records if block_of(r, block_size_m) not in chosen]
    description = f"{len(chosen)} of {len(groups)} blocks of {block_size_m / 1000:g} km held out (seed {seed})"
    return _finish(train, val, "blocks", description, buffer_m)


def spatial_split(
    records: Sequence[TileRecord],
    *,
    val_regions: Sequence[str] | None = None,
    block_size_m: float = 10_000.0,
    val_fraction: float = 0.2,
    seed: int = 0,
    buffer_m: float = 0.0,
) -> Split:
    """Region hold-out when ``val_regions`` is given, spatial blocks otherwise."""
    if val_regions:
        return split_by_region(records, val_regions, buffer_m=buffer_m)
    return split_by_blocks(
        records, block_size_m=block_size_m, val_fraction=val_fraction, seed=seed, buffer_m=buffer_m
    )


def first_seed_covering_classes(
    records: Sequence[TileRecord],
    *,
    seeds: Iterable[int] = range(50),
    progress: bool = False,
    **block_options: float,
) -> int:
    """The first block-split seed whose validation tiles contain every class found in ``records``.

    A validation set missing a class cannot tell how well that class is
    mapped; choosing the split by class *presence* (never by the scores a
    model gets on it) keeps the evaluation honest. Reads every label once.
    """
    from tqdm.auto import tqdm

    from landcover.training.io import read_label

    present: dict[TileRecord, set[int]] = {}
    for record in tqdm(records, desc="classes per tile", disable=not progress, leave=False):
        present[record] = {int(v) for v in np.unique(read_label(record.label)) if v != 0}
    wanted = set().union(*present.values())
    for seed in seeds:
        split = split_by_blocks(records, seed=seed, **block_options)
        if set().union(*(present[r] for r in split.val)) >= wanted:
            return seed
    raise ValueError(f"no seed among those tried puts all classes {sorted(wanted)} in the validation blocks")

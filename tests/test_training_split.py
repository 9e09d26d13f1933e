"""The honest split: no location (tile stem) on both sides, whatever the year or region folder."""

from __future__ import annotations

from dataclasses import replace

import pytest

from landcover.training.io import TileRecord
from landcover.training.split import (
    Split,
    check_disjoint,
    shared_locations,
    shared_stems,
    spatial_split,
    split_by_blocks,
    split_by_region,
)

SIDE = 2500.0


def _grid(nuts: str, x0: float, y0: float, columns: int, rows: int, years=(2018, 2021)) -> list[TileRecord]:
    records = []
    for year in years:
        for row in range(rows):
            for column in range(columns):
                x, y = x0 + column * SIDE, y0 + row * SIDE
                stem = f"{int(x)}_{int(y)}_0_{row * columns + column}"
                records.append(
                    TileRecord(nuts, year, stem, f"images/{nuts}/{year}/{stem}.tif",
                               f"labels/{nuts}/{year}/{stem}.npy", x, y, x + SIDE, y + SIDE)
                )
    return records


@pytest.fixture
def records() -> list[TileRecord]:
    return _grid("LU000", 4_000_000, 2_950_000, 12, 10) + _grid("BE100", 3_900_000, 3_090_000, 4, 4)


def test_block_split_has_no_location_in_both_sets_across_years(records):
    split = split_by_blocks(records, block_size_m=10_000, val_fraction=0.2, seed=3)
    assert not shared_locations(split) and not shared_stems(split)
    check_disjoint(split)
    # every tile is used exactly once, and both years of a location travel together
    assert len(split.train) + len(split.val) + len(split.dropped) == len(records)
    for part in (split.train, split.val):
        locations = {r.location for r in part}
        assert {(r.location, r.year) for r in part} == {(loc, y) for loc in locations for y in (2018, 2021)}
    assert 0.15 < len(split.val) / len(records) < 0.35
    # whole 10 km blocks (4 x 4 tiles) are held out, not scattered tiles
    val_blocks = {(r.location[0] // 10_000, r.location[1] // 10_000) for r in split.val}
    train_blocks = {(r.location[0] // 10_000, r.location[1] // 10_000) for r in split.train}
    assert not val_blocks & train_blocks


def test_block_split_is_seeded(records):
    first = split_by_blocks(records, seed=1)
    again = split_by_blocks(records, seed=1)
    other = split_by_blocks(records, seed=2)
    assert first.val == again.val
    assert {r.location for r in other.val} != {r.location for r in first.val}


def test_region_split_holds_out_whole_regions(records):
    split = spatial_split(records, val_regions=["BE100"])
    assert {r.nuts for r in split.val} == {"BE100"} and {r.nuts for r in split.train} == {"LU000"}
    assert len(split.val) == 4 * 4 * 2
    check_disjoint(split)
    assert "BE100" in split.description
    with pytest.raises(ValueError, match="XX999"):
        split_by_region(records, ["XX999"])


def test_a_location_shared_by_two_region_folders_never_trains(records):
    # a border tile published in both folders (same ground location, other region)
    border = replace(records[0], nuts="BE100")
    split = split_by_region(records + [border], ["BE100"])
    assert records[0] in split.dropped and records[0] not in split.train
    check_disjoint(split)


def test_buffer_drops_training_tiles_touching_validation(records):
    plain = split_by_blocks(records, seed=3)
    buffered = split_by_blocks(records, seed=3, buffer_m=1.0)
    assert len(buffered.train) < len(plain.train)
    assert buffered.val == plain.val
    for tile in buffered.train:
        for other in buffered.val:
            gap_x = max(other.xmin - tile.xmax, tile.xmin - other.xmax, 0)
            gap_y = max(other.ymin - tile.ymax, tile.ymin - other.ymax, 0)
            assert max(gap_x, gap_y) > 0  # not even touching


def test_check_disjoint_catches_a_leaky_split(records):
    leaky = Split(tuple(records[:10]), tuple(records[5:12]), "manual", "overlapping on purpose")
    with pytest.raises(ValueError, match="share"):
        check_disjoint(leaky)
    # the same location in another year is a leak too
    other_year = [r for r in records if r.year == 2021 and r.location == records[0].location]
    with pytest.raises(ValueError):
        check_disjoint(Split((records[0],), tuple(other_year), "manual", "across years"))


def test_split_refuses_degenerate_inputs(records):
    one_block = [r for r in records if r.nuts == "BE100"]
    with pytest.raises(ValueError, match="one"):
        split_by_blocks(one_block, block_size_m=50_000)
    with pytest.raises(ValueError, match="val_fraction"):
        split_by_blocks(records, val_fraction=1.5)


def test_the_pretrained_models_split_is_honest_and_covers_every_class(synthetic_dir):
    import numpy as np

    from landcover.training.io import labelled_records, read_label
    from landcover.training.pretrained import pretrained_split
    from landcover.training.split import shared_locations

    records = labelled_records(str(synthetic_dir))
    split = pretrained_split(records)
    assert shared_locations(split) == set()
    assert {r.location for r in split.val}.isdisjoint({r.location for r in split.train})
    held_out = {r.location for r in split.val}
    assert 0.1 <= len(held_out) / len({r.location for r in records}) <= 0.3
    classes = set().union(*({int(v) for v in np.unique(read_label(r.label))} for r in split.val))
    assert classes - {0} == set(range(1, 11))
    assert pretrained_split(records).val == split.val  # the same tiles every time

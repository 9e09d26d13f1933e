"""Land-cover change between two years (landcover.stats.change)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from landcover.classes import CLASS_IDS
from landcover.stats import (
    average_annual_rate,
    gross_and_net_change,
    land_take,
    land_take_by_origin,
    transition_matrix,
)

BEFORE = np.array([[1, 7, 7, 6], [2, 7, 6, 6], [0, 10, 10, 6]], dtype=np.uint8)
AFTER = np.array([[1, 1, 7, 7], [2, 1, 6, 0], [6, 10, 1, 6]], dtype=np.uint8)


def test_transition_matrix_in_pixels_and_km2() -> None:
    pixels = transition_matrix(BEFORE, AFTER, classes=[1, 2, 6, 7, 10], unit="pixels")
    assert pixels.index.name == "from" and pixels.columns.name == "to"
    assert pixels.loc[7, 1] == 2  # two cropland pixels sealed
    assert pixels.loc[6, 7] == 1
    assert pixels.loc[10, 1] == 1
    assert pixels.attrs["excluded_pixels"] == 2  # nodata in 2018 at (2, 0) and in 2021 at (1, 3)
    assert pixels.to_numpy().sum() == BEFORE.size - 2
    km2 = transition_matrix(BEFORE, AFTER, classes=[1, 2, 6, 7, 10])
    assert km2.to_numpy() == pytest.approx(pixels.to_numpy() * 1e-4)


def test_gross_and_net_change_by_hand() -> None:
    change = gross_and_net_change(transition_matrix(BEFORE, AFTER, classes=[1, 2, 6, 7, 10], unit="pixels"))
    sealed, crop, grass = change.loc[1], change.loc[7], change.loc[6]
    assert (sealed["gains"], sealed["losses"], sealed["net"]) == (3, 0, 3)
    # cropland 2018: (0,1) (0,2) (1,1); 2021: (0,2) kept, (0,3) gained from grassland
    assert (crop["opening"], crop["closing"], crop["unchanged"]) == (3, 2, 1)
    assert (crop["gains"], crop["losses"], crop["net"], crop["gross"], crop["swap"]) == (1, 2, -1, 3, 2)
    assert grass["gross"] == pytest.approx(abs(grass["net"]) + grass["swap"])
    assert change["gains"].sum() == change["losses"].sum()
    assert change["net"].sum() == 0


def test_change_identities_on_random_maps() -> None:
    rng = np.random.default_rng(3)
    before = rng.integers(0, 11, (80, 80)).astype(np.uint8)
    after = np.where(rng.random((80, 80)) < 0.2, rng.integers(0, 11, (80, 80)), before).astype(np.uint8)
    transitions = transition_matrix(before, after, unit="pixels")
    change = gross_and_net_change(transitions)
    changed = transitions.to_numpy().sum() - np.trace(transitions.to_numpy())
    assert change["gross"].sum() == 2 * changed
    assert (change["gross"] == change["net"].abs() + change["swap"]).all()
    assert (change["closing"] - change["opening"] == change["net"]).all()
    assert change.index.tolist() == list(CLASS_IDS)


def test_land_take_counts_what_became_sealed() -> None:
    transitions = transition_matrix(BEFORE, AFTER, classes=[1, 2, 6, 7, 10], unit="pixels")
    assert land_take(transitions) == 3.0
    origin = land_take_by_origin(transitions)
    assert origin.to_dict() == {2: 0, 6: 0, 7: 2, 10: 1}
    assert land_take(transitions, sealed=[1, 2]) == 3.0  # 2 -> 2 and 1 -> 2 are within the group


def test_average_annual_rate() -> None:
    assert average_annual_rate(3.0, 100.0, 3) == pytest.approx(0.01)
    for kwargs, name in [({"region_area": 0.0}, "region_area"), ({"years": 0}, "years"),
                         ({"change_area": float("nan")}, "change_area")]:
        arguments = {"change_area": 1.0, "region_area": 10.0, "years": 3} | kwargs
        with pytest.raises(ValueError, match=name):
            average_annual_rate(**arguments)


def test_bad_input_names_the_parameter() -> None:
    with pytest.raises(ValueError, match="they must share a grid"):
        transition_matrix(BEFORE, AFTER[:2])
    with pytest.raises(ValueError, match=r"map_a holds values \[2\]"):
        transition_matrix(BEFORE, AFTER, classes=[1, 6, 7, 10])
    with pytest.raises(ValueError, match="transitions must be a square"):
        gross_and_net_change(pd.DataFrame([[1, 2]], index=[1], columns=[1, 2]))
    with pytest.raises(ValueError, match="sealed must name classes"):
        land_take(transition_matrix(BEFORE, AFTER, classes=[1, 2, 6, 7, 10]), sealed=[99])

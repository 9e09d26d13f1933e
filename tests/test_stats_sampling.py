"""Stratified sampling of map pixels and the sample's error matrix (landcover.stats.sampling)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from landcover.stats import (
    SampleWarning,
    error_matrix_from_sample,
    estimate_areas,
    reference_at,
    stratified_sample,
)


@pytest.fixture
def class_map() -> np.ndarray:
    rng = np.random.default_rng(1)
    raster = rng.choice([1, 2, 3, 7], size=(120, 150), p=[0.1, 0.3, 0.2, 0.4]).astype(np.uint8)
    raster[:10] = 0  # a strip of nodata
    raster[50, 60:65] = 10  # a class of only five pixels
    return raster


def test_sample_sizes_are_as_asked_and_units_distinct(class_map: np.ndarray) -> None:
    sample = stratified_sample(class_map, {1: 40, 2: 30, 7: 20}, seed=3)
    assert sample["map_class"].value_counts().sort_index().to_dict() == {1: 40, 2: 30, 7: 20}
    assert not sample.duplicated(["row", "col"]).any()
    assert (class_map[sample["row"], sample["col"]] == sample["map_class"]).all()
    assert list(sample.columns) == ["row", "col", "map_class"]


def test_one_size_for_every_class_present_never_samples_nodata(class_map: np.ndarray) -> None:
    with pytest.warns(SampleWarning, match="class 10 has 5 pixels"):
        sample = stratified_sample(class_map, 25, seed=0)
    assert sample["map_class"].value_counts().sort_index().to_dict() == {1: 25, 2: 25, 3: 25, 7: 25, 10: 5}
    assert (sample["row"] >= 10).all()


def test_a_small_class_is_taken_whole(class_map: np.ndarray) -> None:
    with pytest.warns(SampleWarning, match="n_per_class asks for 50"):
        sample = stratified_sample(class_map, {10: 50}, seed=0)
    assert sorted(sample["col"]) == [60, 61, 62, 63, 64]


def test_the_same_seed_draws_the_same_sample(class_map: np.ndarray) -> None:
    first = stratified_sample(class_map, {2: 50, 3: 50}, seed=42)
    again = stratified_sample(class_map, {2: 50, 3: 50}, seed=np.random.default_rng(42))
    other = stratified_sample(class_map, {2: 50, 3: 50}, seed=43)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_units_are_spread_uniformly_over_the_stratum() -> None:
    raster = np.ones((100, 100), dtype=np.uint8)
    sample = stratified_sample(raster, {1: 4000}, seed=5)
    top = int((sample["row"] < 50).sum())
    assert abs(top - 2000) < 4 * np.sqrt(4000 * 0.25)  # binomial(4000, 1/2), 4 standard deviations


def test_pixel_centres_in_epsg_3035() -> None:
    raster = np.ones((4, 5), dtype=np.uint8)
    transform = Affine(10.0, 0.0, 4_042_000.0, 0.0, -10.0, 2_954_190.0)
    sample = stratified_sample(raster, {1: 20}, seed=0, transform=transform)
    assert (sample["x"] == 4_042_000.0 + 10 * sample["col"] + 5).all()
    assert (sample["y"] == 2_954_190.0 - 10 * sample["row"] - 5).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"map_array": np.ones((3, 3, 3), dtype=np.uint8), "n_per_class": 5}, "map_array must be a 2-D"),
        ({"map_array": np.ones((3, 3)), "n_per_class": 5}, "map_array must hold integer"),
        ({"map_array": np.ones((3, 3), dtype=np.uint8), "n_per_class": {1: -2}}, "n_per_class must give whole"),
        ({"map_array": np.ones((3, 3), dtype=np.uint8), "n_per_class": {1: 2.5}}, "n_per_class must give whole"),
        ({"map_array": np.ones((3, 3), dtype=np.uint8), "n_per_class": {0: 2}}, "n_per_class must be"),
    ],
)
def test_bad_sampling_input_names_the_parameter(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        stratified_sample(seed=0, **kwargs)


def test_reference_is_read_at_the_sampled_pixels(class_map: np.ndarray) -> None:
    reference = (class_map.astype(int) * 2 % 11).astype(np.uint8)
    sample = reference_at(stratified_sample(class_map, {1: 10, 2: 10}, seed=0), reference)
    assert (sample["reference_class"] == reference[sample["row"], sample["col"]]).all()
    with pytest.raises(ValueError, match="outside reference_array"):
        reference_at(sample, reference[:5, :5])
    with pytest.raises(ValueError, match="sample lacks the column"):
        reference_at(sample.drop(columns="row"), reference)


def test_error_matrix_counts_map_by_reference() -> None:
    sample = pd.DataFrame({"map_class": [1, 1, 1, 2, 2, 3, 3, 3], "reference_class": [1, 1, 2, 2, 2, 3, 1, 0]})
    with pytest.warns(SampleWarning, match="dropped 1 of 8"):
        matrix = error_matrix_from_sample(sample, classes=[1, 2, 3])
    assert matrix.to_numpy().tolist() == [[2, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert matrix.index.name == "map" and matrix.columns.name == "reference"
    assert matrix.attrs["dropped"] == 1


def test_error_matrix_rejects_classes_outside_the_list() -> None:
    sample = pd.DataFrame({"map_class": [1, 4], "reference_class": [1, 1]})
    with pytest.raises(ValueError, match=r"classes \[4\] that are not in classes"):
        error_matrix_from_sample(sample, classes=[1, 2, 3])
    with pytest.raises(ValueError, match="sample lacks the column"):
        error_matrix_from_sample(sample.drop(columns="reference_class"))


def test_sample_to_estimate_recovers_the_reference_areas() -> None:
    # The reference is known everywhere; the map misses 40 % of class 1 (mapped as 2) and
    # puts 2 % of class 3 into class 1, so it under-states class 1 by about a quarter.
    # The stratified estimate must land within its interval of the true reference areas.
    rng = np.random.default_rng(11)
    reference = rng.choice([1, 2, 3], size=(300, 300), p=[0.1, 0.3, 0.6]).astype(np.uint8)
    draw = rng.random(reference.shape)
    mapped = reference.copy()
    mapped[(reference == 1) & (draw < 0.4)] = 2
    mapped[(reference == 3) & (draw < 0.02)] = 1
    sample = reference_at(stratified_sample(mapped, {1: 150, 2: 600, 3: 150}, seed=2), reference)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        matrix = error_matrix_from_sample(sample, classes=[1, 2, 3])
    areas = pd.Series({c: float((mapped == c).sum()) for c in (1, 2, 3)})
    table = estimate_areas(matrix, areas)
    truth = np.array([(reference == c).sum() for c in (1, 2, 3)])
    assert (np.abs(table["area"].to_numpy() - truth) < 3 * table["area_se"].to_numpy()).all()
    # and the map's own pixel counts are off by more than that for class 1
    assert abs(areas[1] - truth[0]) > 3 * table.loc[1, "area_se"]

"""Pixel-wise agreement between a map and the labels (landcover.stats.agreement)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from landcover.classes import CLASS_IDS
from landcover.stats import agreement_report, confusion_matrix


def test_confusion_matrix_matches_a_crosstab() -> None:
    rng = np.random.default_rng(0)
    predicted = rng.integers(0, 11, size=(60, 70)).astype(np.uint8)
    labels = rng.integers(0, 11, size=(60, 70)).astype(np.uint8)
    table = confusion_matrix(predicted, labels)
    keep = (predicted > 0) & (labels > 0)
    expected = pd.crosstab(predicted[keep], labels[keep]).reindex(index=CLASS_IDS, columns=CLASS_IDS, fill_value=0)
    assert table.to_numpy().tolist() == expected.to_numpy().tolist()
    assert table.index.tolist() == list(CLASS_IDS)
    assert table.attrs["excluded_pixels"] == int((~keep).sum())
    assert table.to_numpy().sum() + table.attrs["excluded_pixels"] == predicted.size


def test_areas_in_km2_and_hectares() -> None:
    predicted = np.array([[1, 1], [2, 2]], dtype=np.uint8)
    labels = np.array([[1, 2], [2, 2]], dtype=np.uint8)
    km2 = confusion_matrix(predicted, labels, classes=[1, 2], unit="km2")
    assert km2.to_numpy() == pytest.approx(np.array([[1e-4, 1e-4], [0.0, 2e-4]]))
    ha = confusion_matrix(predicted, labels, classes=[1, 2], unit="ha")
    assert ha.to_numpy() == pytest.approx(np.array([[0.01, 0.01], [0.0, 0.02]]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"map_array": np.ones((2, 2), np.uint8), "reference_array": np.ones((3, 2), np.uint8)}, "they must share a grid"),
        ({"map_array": np.full((2, 2), 11, np.uint8), "reference_array": np.ones((2, 2), np.uint8)},
         r"map_array holds values \[11\]"),
        ({"map_array": np.ones((2, 2), np.uint8), "reference_array": np.ones((2, 2), np.uint8), "unit": "acres"},
         "unit must be one of"),
        ({"map_array": np.ones((2, 2), np.uint8), "reference_array": np.ones((2, 2), np.uint8), "classes": [0, 1]},
         "classes must be"),
        ({"map_array": np.ones((2, 2), np.float32), "reference_array": np.ones((2, 2), np.uint8)}, "map_array must hold integer"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        confusion_matrix(**kwargs)


def test_agreement_report_by_hand() -> None:
    confusion = pd.DataFrame([[8, 2, 0], [1, 6, 0], [0, 0, 0]], index=[1, 2, 3], columns=[1, 2, 3])
    report = agreement_report(confusion)
    assert report.loc[1, "users_agreement"] == pytest.approx(8 / 10)
    assert report.loc[1, "producers_agreement"] == pytest.approx(8 / 9)
    assert report.loc[1, "f1"] == pytest.approx(2 * 8 / (10 + 9))
    assert report.loc[1, "iou"] == pytest.approx(8 / (10 + 9 - 8))
    assert report.loc[2, "iou"] == pytest.approx(6 / (7 + 8 - 6))
    assert report.attrs["overall_agreement"] == pytest.approx(14 / 17)
    assert report.loc[3, ["users_agreement", "producers_agreement", "f1", "iou"]].isna().all()


def test_a_class_missing_from_the_map_only_has_zero_producers_agreement() -> None:
    confusion = pd.DataFrame([[5, 3], [0, 0]], index=[1, 2], columns=[1, 2])
    report = agreement_report(confusion)
    assert np.isnan(report.loc[2, "users_agreement"])
    assert report.loc[2, "producers_agreement"] == 0.0
    assert report.loc[2, "f1"] == 0.0


def test_report_on_rasters_end_to_end() -> None:
    labels = np.array([[1, 1, 2, 2], [1, 1, 2, 2]], dtype=np.uint8)
    predicted = np.array([[1, 2, 2, 2], [1, 1, 2, 0]], dtype=np.uint8)
    report = agreement_report(confusion_matrix(predicted, labels, classes=[1, 2]))
    assert report.attrs["overall_agreement"] == pytest.approx(6 / 7)
    assert report["map_total"].tolist() == [3, 4]


def test_report_rejects_a_non_square_table() -> None:
    with pytest.raises(ValueError, match="confusion must be a square DataFrame"):
        agreement_report(pd.DataFrame([[1, 2]], index=[1], columns=[1, 2]))
    with pytest.raises(ValueError, match="non-negative"):
        agreement_report(pd.DataFrame([[1, -2], [0, 1]], index=[1, 2], columns=[1, 2]))

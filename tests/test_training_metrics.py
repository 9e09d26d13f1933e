"""Metrics against values computed by hand on a small example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from landcover.training.metrics import (
    ConfusionMatrix,
    confusion_matrix,
    plot_confusion_matrix,
    scores_from_confusion,
)

# Reference and prediction over 12 pixels, classes 1..3 (n_classes=3), 0 = nodata.
REFERENCE = np.array([1, 1, 1, 1, 2, 2, 2, 3, 3, 0, 0, 1])
PREDICTED = np.array([1, 1, 1, 2, 2, 2, 1, 3, 2, 3, 1, 3])
# Labelled pixels (10): by hand, rows = reference, columns = prediction
#   ref 1: pred 1 x3, pred 2 x1, pred 3 x1
#   ref 2: pred 1 x1, pred 2 x2
#   ref 3: pred 2 x1, pred 3 x1
EXPECTED = np.array([[3, 1, 1], [1, 2, 0], [0, 1, 1]])


def test_confusion_matrix_by_hand():
    np.testing.assert_array_equal(confusion_matrix(PREDICTED, REFERENCE, n_classes=3), EXPECTED)
    accumulator = ConfusionMatrix(n_classes=3)
    accumulator.update(PREDICTED[:6], REFERENCE[:6])
    accumulator.update(PREDICTED[6:], REFERENCE[6:])
    np.testing.assert_array_equal(accumulator.matrix, EXPECTED)


def test_scores_by_hand():
    scores = scores_from_confusion(EXPECTED)
    # class 1: TP 3, FN 2, FP 1 -> IoU 3/6, F1 6/9; class 2: TP 2, FN 1, FP 2 -> 2/5, 4/7;
    # class 3: TP 1, FN 1, FP 1 -> 1/3, 2/4
    np.testing.assert_allclose(scores.iou, [3 / 6, 2 / 5, 1 / 3])
    np.testing.assert_allclose(scores.f1, [6 / 9, 4 / 7, 2 / 4])
    assert scores.miou == pytest.approx((3 / 6 + 2 / 5 + 1 / 3) / 3)
    assert scores.overall_accuracy == pytest.approx(6 / 10)
    assert scores.n_pixels == 10


def test_miou_skips_classes_absent_from_reference_and_prediction():
    cm = np.zeros((10, 10), dtype=int)
    cm[0, 0], cm[0, 1], cm[1, 1] = 8, 2, 5  # only classes 1 and 2 appear anywhere
    scores = scores_from_confusion(cm)
    assert scores.present.tolist() == [True, True] + [False] * 8
    assert scores.miou == pytest.approx((8 / 10 + 5 / 7) / 2)
    assert math.isnan(scores.iou[5])
    logged = scores.as_dict("val_")
    assert set(logged) == {"val_miou", "val_accuracy", "val_iou_01_sealed", "val_f1_01_sealed",
                           "val_iou_02_needle_trees", "val_f1_02_needle_trees"}
    # a class only predicted (never in the reference) counts, with IoU 0
    cm[3, 3] = 0
    cm[1, 4] = 1
    assert scores_from_confusion(cm).present[4] and scores_from_confusion(cm).iou[4] == 0


def test_predictions_outside_the_classes_are_rejected():
    with pytest.raises(ValueError, match="1..3"):
        confusion_matrix(np.array([0, 1]), np.array([1, 1]), n_classes=3)
    with pytest.raises(ValueError, match="size"):
        confusion_matrix(np.array([1, 1, 1]), np.array([1, 1]), n_classes=3)


def test_confusion_matrix_plot_has_names_title_labels_and_colour_bar():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.diag(np.arange(1, 11)) + 1
    figure = plot_confusion_matrix(cm, title="Validation")
    ax = figure.axes[0]
    assert ax.get_title() == "Validation"
    assert ax.get_xlabel() == "Predicted class" and ax.get_ylabel().startswith("Reference class")
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "1 sealed"
    assert len(figure.axes) == 2 and "%" in figure.axes[1].get_ylabel()  # the colour bar and its unit
    plt.close(figure)
    counts = plot_confusion_matrix(cm, normalize=None)
    assert "pixels" in counts.axes[1].get_ylabel()
    plt.close(counts)

"""Window placement and blending weights: every pixel covered, edges flush, weights smooth and positive."""

from __future__ import annotations

import numpy as np
import pytest

from landcover.inference.windows import blend_weights, default_overlap, image_windows, window_starts


@pytest.mark.parametrize("length", [250, 251, 300, 420, 600, 1750])
def test_windows_cover_every_pixel_and_the_last_one_ends_at_the_edge(length):
    starts = window_starts(length, 250, 62)
    assert starts[0] == 0 and starts[-1] + 250 == length  # flush with the edge: no edge chip dropped
    covered = np.zeros(length, dtype=int)
    for start in starts:
        covered[start : start + 250] += 1
    assert covered.min() >= 1
    assert all(b - a <= 250 - 62 for a, b in zip(starts, starts[1:]))  # at least the asked overlap


def test_short_images_get_one_window_of_their_own_size():
    assert window_starts(100, 250, 62) == [0]
    windows = image_windows((100, 600), 250)
    assert {(w.height, w.width) for w in windows} == {(100, 250)}
    assert [w.col for w in windows] == [0, 188, 350]
    assert image_windows((250, 250), 250) == [(0, 0, 250, 250)]
    assert default_overlap(250) == 62


@pytest.mark.parametrize(("length", "size", "overlap", "word"),
                         [(100, 0, 0, "tiles_size"), (100, 50, 50, "overlap"), (100, 50, -1, "overlap"),
                          (0, 50, 10, "side")])
def test_bad_window_settings_name_the_parameter(length, size, overlap, word):
    with pytest.raises(ValueError, match=word):
        window_starts(length, size, overlap)


def test_blend_weights_peak_at_the_centre_and_keep_a_floor_at_the_edges():
    weights = blend_weights(250, 250, floor=0.05)
    assert weights.shape == (250, 250) and weights.dtype == np.float32
    assert weights.min() > 0.05 ** 2 * 0.99 and weights.max() <= 1.0
    assert weights[125, 125] == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(weights, weights[::-1, ::-1], rtol=1e-6)  # symmetric
    profile = weights[125, :125]
    assert np.all(np.diff(profile) > 0)  # rises smoothly towards the centre, no step
    assert np.abs(np.diff(weights[125])).max() < 0.02
    with pytest.raises(ValueError, match="floor"):
        blend_weights(10, 10, floor=0.0)

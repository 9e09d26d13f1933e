"""landcover.viz: the display stretch, composites, safe NDVI and class maps of the book's figures."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from landcover import viz  # noqa: E402
from landcover.classes import CLASS_COLOURS, CLASS_NAMES, N_CLASSES  # noqa: E402


def tile_like(seed: int = 0) -> np.ndarray:
    """A (14, 20, 30) float64 array whose channel k is k/100 plus noise (a tile in miniature)."""
    rng = np.random.default_rng(seed)
    base = np.arange(1, 15, dtype=np.float64)[:, None, None] / 100
    return base + rng.uniform(0, 0.01, size=(14, 20, 30))


def test_percentile_stretch_divides_by_one_percentile_and_clips() -> None:
    values = np.arange(1, 101, dtype=np.float64).reshape(1, 10, 10)
    stretched = viz.percentile_stretch(values, 50)
    assert stretched.dtype == np.float32
    scale = np.percentile(values, 50)
    np.testing.assert_allclose(stretched, np.clip(values / scale, 0, 1), rtol=1e-6)
    assert stretched.max() == 1.0 and (stretched == 1.0).sum() == 50  # the top half saturates


def test_percentile_stretch_ignores_and_keeps_nan() -> None:
    values = np.array([[np.nan, 1.0, 2.0, 4.0]])
    stretched = viz.percentile_stretch(values, 100)
    assert np.isnan(stretched[0, 0])
    np.testing.assert_allclose(stretched[0, 1:], [0.25, 0.5, 1.0])


@pytest.mark.parametrize("bad", [np.zeros((2, 2)), np.full((2, 2), np.nan)])
def test_percentile_stretch_refuses_what_cannot_be_stretched(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        viz.percentile_stretch(bad)


def test_composites_take_bands_by_name_in_display_order() -> None:
    tile = tile_like()
    rgb = viz.true_colour(tile)
    assert rgb.shape == (20, 30, 3)
    expected = viz.percentile_stretch(np.moveaxis(tile[[3, 2, 1]], 0, -1))
    np.testing.assert_array_equal(rgb, expected)
    fc = viz.false_colour(tile)
    np.testing.assert_array_equal(fc, viz.percentile_stretch(np.moveaxis(tile[[7, 3, 2]], 0, -1)))
    with pytest.raises(ValueError, match="exactly three"):
        viz.composite(tile, ["B4", "B3"])
    with pytest.raises(ValueError, match="unknown band"):
        viz.composite(tile, ["B4", "B3", "B10"])  # there is no B10 in the files


def test_normalized_difference_is_safe() -> None:
    nir = np.array([0.3, 0.0, 0.2])
    red = np.array([0.1, 0.0, 0.2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            ndvi = viz.normalized_difference(nir, red)
    np.testing.assert_allclose(ndvi, [0.5, 0.0, 0.0])
    dn = viz.normalized_difference(np.array([3000], dtype=np.uint16), np.array([4000], dtype=np.uint16))
    np.testing.assert_allclose(dn, [-1 / 7])  # no uint16 wrap-around
    assert np.isnan(viz.normalized_difference(np.array([0.0]), np.array([0.0]), fill=np.nan)[0])


def test_ndvi_map_has_a_fixed_diverging_scale_and_colour_bar() -> None:
    fig, ax = plt.subplots()
    image = viz.show_ndvi(
        np.linspace(-0.5, 0.8, 12).reshape(3, 4), ax=ax, bounds=(0, 0, 40, 30), title="NDVI"
    )
    assert image.get_cmap().name == viz.NDVI_CMAP and image.get_clim() == (-1, 1)
    assert len(fig.axes) == 2 and "NDVI" in fig.axes[1].get_ylabel()  # the colour bar
    assert image.get_extent() == [0.0, 40.0, 0.0, 30.0]
    assert "EPSG:3035" in ax.get_xlabel() and ax.get_title() == "NDVI"
    plt.close(fig)


def test_class_map_uses_the_class_table_and_lists_only_present_classes() -> None:
    label = np.array([[1, 1, 6], [6, 10, 0]], dtype=np.uint8)
    fig, ax = plt.subplots()
    image = viz.show_classes(label, ax=ax)
    cmap, norm = image.get_cmap(), image.norm
    for class_id in (1, 6, 10):
        assert to_hex(cmap(norm(class_id))) == CLASS_COLOURS[class_id]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == [f"1 {CLASS_NAMES[1]}", f"6 {CLASS_NAMES[6]}", f"10 {CLASS_NAMES[10]}", "0 No data"]
    plt.close(fig)
    assert viz.classes_present(label) == [1, 6, 10]


def test_class_summary_counts_areas_in_km2_without_nodata() -> None:
    label = np.zeros((100, 100), dtype=np.uint8)
    label[:50] = 3
    label[50:75] = 7  # 2,500 pixels of class 7; the rest (2,500) is nodata
    table = viz.class_summary(label)
    assert list(table["id"]) == list(range(1, N_CLASSES + 1))
    row3 = table.set_index("id").loc[3]
    assert row3["pixels"] == 5000 and row3["area (km²)"] == pytest.approx(0.5)  # 5,000 x 100 m²
    assert row3["share (%)"] == pytest.approx(100 * 5000 / 7500)
    assert table.attrs["nodata_pixels"] == 2500
    assert table["share (%)"].sum() == pytest.approx(100)

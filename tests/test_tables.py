"""The shared class and band tables every figure and model relies on."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from landcover import bands, classes


def test_ten_classes_with_distinct_colours_and_names():
    assert classes.CLASS_IDS == tuple(range(1, 11))
    colours = [c.colour for c in classes.CLASSES]
    assert len(set(colours)) == 10
    for colour in colours:
        to_rgb(colour)  # raises on an invalid colour
    assert classes.class_name(0) == "No data"
    with pytest.raises(ValueError, match="12"):
        classes.class_name(12)


def test_raw_clcplus_codes_are_remapped():
    raw = np.array([[1, 10, 11, 253], [254, 255, 7, 0]], dtype=np.uint8)
    out = classes.remap_raw_clcplus(raw)
    assert out.dtype == np.uint8
    assert out.tolist() == [[1, 10, 9, 0], [0, 0, 7, 0]]
    assert raw[1, 0] == 254, "the input must not be modified"


def test_colormap_maps_each_label_to_its_colour():
    cmap, norm = classes.listed_colormap()
    for c in classes.CLASSES:
        assert np.allclose(cmap(norm(c.id))[:3], to_rgb(c.colour))
    assert np.allclose(cmap(norm(0))[:3], to_rgb(classes.NODATA_COLOUR))
    assert [h.get_label() for h in classes.legend_handles([0, 3, 10])] == [
        "3 Woody broadleaved deciduous trees", "10 Water"]


def test_band_order_matches_the_files():
    assert bands.BAND_NAMES == ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12",
                                "NDVI", "NDWI")
    assert bands.band_index("B8A") == 9 and bands.band_index("b9") == 10 and bands.band_index("NDVI") == 13
    assert bands.TRUE_COLOUR == (4, 3, 2) and bands.FALSE_COLOUR == (8, 4, 3)
    with pytest.raises(ValueError, match="B10"):
        bands.band_index("B10")


def test_product_band_names_follow_the_file_order():
    assert bands.PRODUCT_BAND_NAMES == ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09",
                                        "B11", "B12")
    assert bands.NATIVE_RESOLUTION_M["B8A"] == 20 and bands.NATIVE_RESOLUTION_M["B09"] == 60
    assert set(bands.NATIVE_RESOLUTION_M) == set(bands.PRODUCT_BAND_NAMES)

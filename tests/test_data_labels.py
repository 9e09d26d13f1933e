"""Label tiles: uint8 (250, 250), raw CLC+ codes cleaned, in every mode; and bad label files."""

from __future__ import annotations

import numpy as np
import pytest
from tests.support.tiny_data import FIRST_STEM, label_pixels

from landcover.data import DataFileError, label_path, load_label


def test_label_in_every_mode(tiny_root):
    expected = label_pixels(FIRST_STEM, 2021)
    by_key = load_label("LU000", 2021, FIRST_STEM)
    assert by_key.dtype == np.uint8 and by_key.shape == (250, 250)
    np.testing.assert_array_equal(by_key, expected)
    np.testing.assert_array_equal(load_label(("LU000", 2021, FIRST_STEM)), expected)
    np.testing.assert_array_equal(load_label(f"LU000/2021/{FIRST_STEM}.npy"), expected)
    np.testing.assert_array_equal(load_label(label_path("LU000", 2021, FIRST_STEM)), expected)
    assert set(np.unique(by_key)) <= set(range(11))


def test_no_labels_for_2024_and_the_error_says_why(tiny_root):
    with pytest.raises(FileNotFoundError, match=r"LU000/2024/4042000_2951690_0_637\.npy.*no 2024 product"):
        load_label("LU000", 2024, FIRST_STEM)


def test_missing_label_names_the_path(tiny_root):
    with pytest.raises(FileNotFoundError, match=r"labels/BE100/2018/4042000_2951690_0_637\.npy") as info:
        load_label("BE100", 2018, FIRST_STEM)
    assert "2024" not in str(info.value)


def test_raw_clcplus_codes_become_nodata(tmp_path):
    raw = np.full((250, 250), 6, dtype=np.uint8)
    raw[0, :10] = 254
    raw[1, :10] = 255
    raw[2, :10] = 253
    raw[3, :10] = 11
    path = tmp_path / "labels" / "LU000" / "2021" / f"{FIRST_STEM}.npy"
    path.parent.mkdir(parents=True)
    np.save(path, raw)
    label = load_label(path)
    assert label.dtype == np.uint8
    assert (label[0:3, :10] == 0).all()
    assert (label[3, :10] == 9).all()
    assert (label[4:] == 6).all()
    assert label.max() <= 10


def test_wider_integer_labels_are_accepted_and_cleaned(tmp_path):
    path = tmp_path / "wide.npy"
    np.save(path, np.full((250, 250), 255, dtype=np.int64))
    assert (load_label(path) == 0).all()


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((250, 250), dtype=np.float32), "dtype float32"),
        (np.zeros((256, 256), dtype=np.uint8), r"shape \(256, 256\)"),
        (np.zeros((3, 250, 250), dtype=np.uint8), r"shape \(3, 250, 250\)"),
        (np.full((250, 250), -1, dtype=np.int16), "values -1..-1"),
    ],
)
def test_bad_label_arrays(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(DataFileError, match=rf"bad\.npy.*{message}"):
        load_label(path)


def test_other_shapes_when_asked(tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.ones((500, 500), dtype=np.uint8))
    assert load_label(path, expected_shape=None).shape == (500, 500)


def test_pickled_and_corrupt_files_are_refused(tmp_path):
    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataFileError, match=r"objects\.npy"):
        load_label(pickled)
    corrupt = tmp_path / "corrupt.npy"
    corrupt.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataFileError, match=r"corrupt\.npy"):
        load_label(corrupt)


def test_call_forms_are_checked():
    with pytest.raises(TypeError, match="load_label"):
        load_label("LU000", 2021)
    with pytest.raises(TypeError, match="nuts, year, stem"):
        load_label(("LU000", 2021))

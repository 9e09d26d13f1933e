"""Normalisation statistics in every mode, and malformed YAML files."""

from __future__ import annotations

import numpy as np
import pytest
from tests.support.tiny_data import MEAN, STD

from landcover.data import DataFileError, load_normalization


def test_statistics_in_every_mode(tiny_root):
    mean, std = load_normalization("LU000", 2021)
    assert mean.shape == std.shape == (14,)
    np.testing.assert_allclose(mean, MEAN)
    np.testing.assert_allclose(std, STD)


def test_missing_file_names_the_path(tiny_root):
    with pytest.raises(FileNotFoundError, match=r"BE100/2018/metrics-normalization\.yaml"):
        load_normalization("BE100", 2018)


@pytest.mark.parametrize(
    "text, message",
    [
        ("mean: [1, 2]\n", "'mean:' and 'std:'"),
        ("mean: [0.1, 0.2]\nstd: [0.1]\n", "2 means but 1 standard"),
        ("mean: [0.1, 0.2]\nstd: [0.1, 0.2]\n", "2 bands; expected 14"),
        ("mean: [a, b]\nstd: [1, 2]\n", "lists of numbers"),
        ("mean: [" + ", ".join(["0.1"] * 14) + "]\nstd: [" + ", ".join(["0"] * 14) + "]\n", "positive"),
        ("mean: [: bad\n", "as YAML"),
    ],
)
def test_malformed_files(tmp_path, text, message):
    folder = tmp_path / "images" / "LU000" / "2021"
    folder.mkdir(parents=True)
    (folder / "metrics-normalization.yaml").write_text(text)
    with pytest.raises(DataFileError, match=message) as info:
        load_normalization("LU000", 2021, root=str(tmp_path))
    assert "metrics-normalization.yaml" in str(info.value)

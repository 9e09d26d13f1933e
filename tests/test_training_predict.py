"""Reproducing a prediction from params.json: normalise, resize, predict, upsample, argmax + 1."""

from __future__ import annotations

import json

import numpy as np
import pytest

from landcover.inference.params import load_params, parse_params
from landcover.inference.predict import (
    logits_to_labels,
    network_size,
    predict_tile,
    preprocess,
)

MEAN = [0.1] * 14
STD = [0.05] * 14
PARAMS = {
    "n_bands": "14", "tiles_size": "250", "augment_size": "250", "module_name": "segformer-tiny",
    "normalization_mean": MEAN, "normalization_std": STD,
}


class RecordingModel:
    """Stands in for the pyfunc: remembers its input, returns logits favouring one channel."""

    def __init__(self, channel: int = 3) -> None:
        self.channel = channel
        self.inputs: list[np.ndarray] = []

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.inputs.append(batch)
        b, _, h, w = batch.shape
        logits = np.zeros((b, 10, h // 4, w // 4), dtype=np.float32)
        logits[:, self.channel] = 1.0
        return logits


def test_params_parse_from_json_file_and_from_mlflow_strings(tmp_path):
    from_file = parse_params(PARAMS)
    assert from_file["n_bands"] == 14 and from_file["augment_size"] == 250
    as_strings = {**PARAMS, "normalization_mean": json.dumps(MEAN), "normalization_std": str(STD)}
    assert parse_params(as_strings) == from_file
    (tmp_path / "params.json").write_text(json.dumps(PARAMS))
    assert load_params(tmp_path / "params.json") == from_file
    assert load_params(tmp_path) == from_file  # a run's artifacts folder
    with pytest.raises(ValueError, match="augment_size"):
        parse_params({k: v for k, v in PARAMS.items() if k != "augment_size"})
    with pytest.raises(ValueError, match="normalization_std"):
        parse_params({**PARAMS, "normalization_std": [0.0] * 14})
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        load_params(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError):
        load_params(tmp_path / "missing.json")


def test_preprocess_normalises_band_by_band_and_keeps_n_bands():
    image = np.full((15, 20, 20), 0.2)  # an extra band beyond n_bands is dropped
    image[0, 0, 0] = np.nan
    batch = preprocess(image, parse_params(PARAMS))
    assert batch.shape == (1, 14, 20, 20) and batch.dtype == np.float32
    assert batch[0, 1, 5, 5] == pytest.approx((0.2 - 0.1) / 0.05)
    assert batch[0, 0, 0, 0] == 0.0  # non-finite -> the band mean
    with pytest.raises(ValueError, match="14"):
        preprocess(np.zeros((3, 8, 8)), parse_params(PARAMS))


def test_predict_tile_resizes_to_augment_size_and_back():
    params = parse_params({**PARAMS, "augment_size": "500"})
    model = RecordingModel(channel=6)
    labels = predict_tile(model, np.full((14, 250, 250), 0.1), params)
    assert model.inputs[0].shape == (1, 14, 500, 500)  # the network saw augment_size
    assert labels.shape == (250, 250) and labels.dtype == np.uint8
    assert set(np.unique(labels)) == {7}  # channel 6 -> class 7
    assert network_size((100, 50), params) == (200, 100)


def test_predict_tile_without_resize_keeps_the_tile_size():
    model = RecordingModel(channel=0)
    labels = predict_tile(model, np.full((14, 64, 64), 0.1), PARAMS)  # raw strings are parsed too
    assert model.inputs[0].shape == (1, 14, 64, 64)
    assert labels.shape == (64, 64) and set(np.unique(labels)) == {1}


def test_logits_upsample_bilinearly_then_argmax_plus_one():
    logits = np.zeros((10, 2, 2), dtype=np.float32)
    logits[9, :, 0] = 1.0  # left column: water (10)
    logits[2, :, 1] = 1.0  # right column: broadleaved deciduous (3)
    labels = logits_to_labels(logits, (8, 8))
    assert labels.shape == (8, 8)
    assert (labels[:, :3] == 10).all() and (labels[:, 5:] == 3).all()
    batch = logits_to_labels(np.stack([logits, logits]), (2, 2))
    assert batch.shape == (2, 2, 2)
    with pytest.raises(ValueError, match="logits"):
        logits_to_labels(np.zeros((10,)), (2, 2))

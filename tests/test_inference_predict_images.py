"""predict(): images of any size through overlapping, blended, batched windows; same classes as predict_tile."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landcover.inference.loading import LoadedModel
from landcover.inference.params import parse_params
from landcover.inference.predict import predict_tile
from landcover.inference.prediction import predict
from landcover.training.model import build_model

MEAN = [0.1] * 14
STD = [0.05] * 14
RAW = {"n_bands": 14, "tiles_size": 250, "augment_size": 250, "module_name": "toy",
       "normalization_mean": MEAN, "normalization_std": STD}


class BandZeroModel:
    """A pixel-wise stand-in: class k + 1 wins where band 0 (normalised) is closest to k; logits at 1/4 size.

    It counts its forward passes and the windows it saw, so batching can be checked.
    """

    def __init__(self) -> None:
        self.calls = 0
        self.windows = 0

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.windows += batch.shape[0]
        x = torch.from_numpy(batch[:, :1])
        h, w = -(-batch.shape[2] // 4), -(-batch.shape[3] // 4)
        pooled = torch.nn.functional.adaptive_avg_pool2d(x, (h, w))
        centres = torch.arange(10, dtype=torch.float32).view(1, 10, 1, 1)
        return (-(pooled - centres) ** 2).numpy()


def band_zero_image(classes: np.ndarray) -> np.ndarray:
    """A 14-band image whose band 0 makes BandZeroModel predict ``classes`` (1..10)."""
    image = np.full((14, *classes.shape), 0.1)
    image[0] = 0.1 + 0.05 * (classes - 1)  # normalised band 0 = class - 1
    return image


@pytest.fixture(scope="module")
def segformer():
    torch.manual_seed(11)
    return build_model("tiny").eval()


def _random_image(shape, seed=0):
    rng = np.random.default_rng(seed)
    return np.array(MEAN)[:, None, None] + np.array(STD)[:, None, None] * rng.normal(size=(14, *shape))


@pytest.mark.parametrize("augment", [250, 500])
def test_a_250_tile_gives_the_classes_of_predict_tile(segformer, augment):
    params = parse_params({**RAW, "augment_size": augment})
    image = _random_image((250, 250))
    expected = predict_tile(segformer, image, params)
    # random reflectances pass the cloud test here and there: this test is about the windows, not clouds
    result = predict(image, segformer, params=params, mask_clouds=False)
    assert result["mask"].dtype == np.uint8 and result["mask"].shape == (250, 250)
    np.testing.assert_array_equal(result["mask"], expected)
    assert len(np.unique(expected)) > 1  # a real test: the random network predicts several classes


def test_the_original_keywords_and_a_loaded_model_give_the_same_result(segformer):
    image = _random_image((250, 250), seed=3)
    loaded = LoadedModel(segformer, parse_params(RAW), version="7")
    by_keywords = predict(images=image, model=segformer, tiles_size=250, augment_size=250, n_bands=14,
                          normalization_mean=MEAN, normalization_std=STD, module_name="segformer-tiny")
    np.testing.assert_array_equal(predict(image, loaded)["mask"], by_keywords["mask"])
    with pytest.raises(ValueError, match="tiles_size"):
        predict(image, segformer)  # a bare model needs its parameters


@pytest.mark.parametrize("shape", [(250, 250), (300, 420), (600, 600), (120, 700)])
def test_any_size_is_predicted_whole(shape):
    classes = np.random.default_rng(1).integers(1, 11, size=(shape[0] // 50 + 1, shape[1] // 50 + 1))
    truth = np.kron(classes, np.ones((50, 50), dtype=int))[: shape[0], : shape[1]]
    model = BandZeroModel()
    result = predict(band_zero_image(truth), model, params=RAW, return_probability=True)
    mask = result["mask"]
    assert mask.shape == shape and mask.dtype == np.uint8 and mask.min() >= 1  # no pixel left out
    inner = np.ones(shape, bool)
    for axis in (0, 1):  # away from class borders (4-pixel pooling of the stand-in)
        edges = np.flatnonzero((np.diff(truth, axis=axis) != 0).any(axis=1 - axis))
        band = np.zeros(shape[axis], bool)
        for e in edges:
            band[max(0, e - 4) : e + 6] = True
        inner &= ~(band[:, None] if axis == 0 else band[None, :])
    assert (mask[inner] == truth[inner]).all()
    probability = result["probability"]
    assert probability.dtype == np.float32 and probability.shape == shape
    assert 0.1 <= probability.min() and probability.max() <= 1.0


def test_a_uniform_image_has_one_class_everywhere_no_seam():
    model = BandZeroModel()
    mask = predict(band_zero_image(np.full((600, 600), 4)), model, params=RAW)["mask"]
    assert set(np.unique(mask)) == {4}


def test_a_boundary_crossing_window_edges_stays_straight():
    truth = np.where(np.arange(600)[None, :] < 301, 2, 9) * np.ones((600, 1), dtype=int)
    mask = predict(band_zero_image(truth), BandZeroModel(), params=RAW)["mask"]
    # window edges are at columns 188, 250, 350, 438 and rows alike: the class map does not change there
    columns_of_change = {int(c) for c in np.flatnonzero(np.diff(mask.astype(int), axis=1).any(axis=0))}
    assert columns_of_change <= set(range(296, 305))
    assert (mask[:, :296] == 2).all() and (mask[:, 306:] == 9).all()


def test_where_one_window_covers_a_pixel_the_blend_equals_the_plain_tile(segformer):
    params = parse_params(RAW)
    image = _random_image((250, 400), seed=5)  # windows at columns 0 and 150
    blended = predict(image, segformer, params=params, batch_size=1, mask_clouds=False)["mask"]
    left = predict_tile(segformer, image[:, :, :250], params)
    right = predict_tile(segformer, image[:, :, 150:], params)
    np.testing.assert_array_equal(blended[:, :150], left[:, :150])
    np.testing.assert_array_equal(blended[:, 250:], right[:, 100:])
    overlap = blended[:, 150:250]
    assert np.isin(overlap, np.stack([left[:, 150:], right[:, :100]])).all()
    agree = left[:, 150:] == right[:, :100]
    assert (overlap[agree] == left[:, 150:][agree]).all()  # where both windows agree, so does the blend


def test_nodata_pixels_get_class_zero_and_all_nodata_windows_skip_the_model():
    image = band_zero_image(np.full((250, 600), 3))
    image[:, :, 250:] = np.nan  # nodata in every band: the window at columns 350..600 has no valid pixel
    image[0, 10, 10] = np.nan  # one band missing is still a pixel
    model = BandZeroModel()
    result = predict(image, model, params=RAW, return_probability=True)
    assert (result["mask"][:, 250:] == 0).all() and (result["probability"][:, 250:] == 0).all()
    assert (result["mask"][:, :240] == 3).all() and result["mask"][10, 10] == 3
    assert model.windows == 2  # the windows at columns 0 and 188; the all-nodata one skipped the model
    empty = predict(np.full((14, 40, 40), np.nan), BandZeroModel(), params=RAW)
    assert (empty["mask"] == 0).all()


def test_many_images_share_batches_and_keep_their_order_and_georeferencing():
    images = [{"array": band_zero_image(np.full((250, 250), k)), "transform": f"t{k}", "crs": "EPSG:3035"}
              for k in range(1, 8)]
    model = BandZeroModel()
    results = predict(images, model, params=RAW, batch_size=4)
    assert isinstance(results, list) and [r["image"]["transform"] for r in results] == [f"t{k}" for k in range(1, 8)]
    assert [int(np.unique(r["mask"])[0]) for r in results] == list(range(1, 8))
    assert model.calls == 2 and model.windows == 7  # 7 tiles in batches of 4
    assert "probability" not in results[0]
    stack = predict(np.stack([im["array"] for im in images[:2]]), model, params=RAW)
    assert len(stack) == 2 and stack[0]["image"]["transform"] is None
    with pytest.raises(ValueError, match="batch_size"):
        predict(images[0], model, params=RAW, batch_size=0)
    with pytest.raises(ValueError, match="14 bands"):
        predict(np.zeros((3, 20, 20)), model, params=RAW)


def test_clouds_and_their_shadows_are_nodata_unless_asked_otherwise():
    classes = np.full((250, 250), 6)
    image = band_zero_image(classes)
    image[1:12, 150:180, 150:180] = 0.5  # a bright, flat cloud (B1 is band 0: the model still sees class 6 there)
    image[0, 150:180, 150:180] = 0.1 + 0.05 * 5
    image[1:12, 110:135, 135:165] *= 0.3  # its shadow, north-north-west of it: dark in the near infrared
    image[7, 110:135, 135:165] = 0.05  # NIR brighter than green: land (NDWI < 0), not water
    masked = predict(image, BandZeroModel(), params=RAW)["mask"]
    assert (masked[150:180, 150:180] == 0).all()  # the cloud
    assert (masked[148, 148] == 0) and masked[140, 200] == 6  # its 2-pixel buffer; land away from it
    assert (masked[115:130, 140:160] == 0).mean() > 0.9  # the shadow
    assert (masked == 6).mean() > 0.95
    unmasked = predict(image, BandZeroModel(), params=RAW, mask_clouds=False)["mask"]
    assert (unmasked == 6).all()

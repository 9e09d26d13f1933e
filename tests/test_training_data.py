"""Training data: records, normalisation, datasets and augmentations (image and mask stay aligned)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.support.toy import class_spectra, write_toy_dataset

from landcover.training.augment import evaluation_transform, training_transform
from landcover.training.dataset import LandCoverTiles, Sentinel2Tiles
from landcover.training.io import labelled_records, read_image, read_label, tile_records
from landcover.training.normalization import (
    Normalization,
    compute_normalization,
    normalization_from_yaml,
)

SIZE = 64


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("toy") / "data"
    return str(write_toy_dataset(root, years=(2018, 2021, 2024), grid=(2, 2), size=SIZE))


@pytest.fixture(scope="module")
def records(toy_root):
    return labelled_records(toy_root)


def test_records_are_the_labelled_tiles_with_their_locations(toy_root, records):
    assert {r.year for r in records} == {2018, 2021}  # 2024 has no labels
    assert len(records) == 2 * 2 * 4
    unlabelled = tile_records("AA001", 2024, toy_root, require_label=False)
    assert len(unlabelled) == 4 and all(r.label is None for r in unlabelled)
    first = records[0]
    assert first.location == (int(first.stem.split("_")[0]), int(first.stem.split("_")[1]))
    assert first.xmax - first.xmin == SIZE * 10
    # the same location exists in both labelled years
    by_year = {year: {r.location for r in records if r.year == year and r.nuts == "AA001"} for year in (2018, 2021)}
    assert by_year[2018] == by_year[2021]


def test_compute_normalization_matches_numpy_over_all_pixels(records):
    stats = compute_normalization(records[:3], progress=False)
    stack = np.stack([read_image(r.image).astype(np.float64) for r in records[:3]])
    expected_mean = stack.transpose(1, 0, 2, 3).reshape(14, -1).mean(axis=1)
    expected_std = stack.transpose(1, 0, 2, 3).reshape(14, -1).std(axis=1)
    np.testing.assert_allclose(stats.mean, expected_mean, rtol=1e-5)
    np.testing.assert_allclose(stats.std, expected_std, rtol=1e-4)


def test_pooled_yaml_statistics_equal_direct_computation(records):
    # each toy YAML holds its folder's exact statistics: pooling must give the union's
    pooled = normalization_from_yaml(records)
    direct = compute_normalization(records, progress=False)
    assert pooled.is_close(direct, rel=1e-4)


def test_normalization_rejects_bad_values():
    with pytest.raises(ValueError, match="positive"):
        Normalization((0.0, 0.0), (1.0, 0.0))
    with pytest.raises(ValueError, match="mean has 2 values"):
        Normalization((0.0, 0.0), (1.0,))


def test_dataset_sample_is_normalised_image_and_raw_label(records):
    stats = compute_normalization(records, progress=False)
    dataset = LandCoverTiles(records, stats, cache=True)
    sample = dataset[0]
    assert sample["image"].dtype == torch.float32 and sample["image"].shape == (14, SIZE, SIZE)
    assert sample["mask"].dtype == torch.int64 and sample["mask"].shape == (SIZE, SIZE)
    np.testing.assert_array_equal(sample["mask"].numpy(), read_label(records[0].label))
    raw = read_image(records[0].image)
    np.testing.assert_allclose(
        sample["image"].numpy(),
        (raw - np.array(stats.mean, dtype=np.float32)[:, None, None]) / np.array(stats.std, dtype=np.float32)[:, None, None],
        rtol=1e-5, atol=1e-5,
    )
    everything = torch.stack([dataset[i]["image"] for i in range(len(dataset))])
    assert everything.mean(dim=(0, 2, 3)).abs().max() < 1e-3  # normalised over these very tiles
    counts = dataset.label_counts(progress=False)
    assert counts.sum() == len(dataset) * SIZE * SIZE and counts[0] > 0  # the toy has nodata strips


def test_dataset_requires_labels(toy_root):
    stats = Normalization([0.0] * 14, [1.0] * 14)
    with pytest.raises(ValueError, match="no label"):
        LandCoverTiles(tile_records("AA001", 2024, toy_root, require_label=False), stats)
    images = Sentinel2Tiles(tile_records("AA001", 2024, toy_root, require_label=False), stats)
    assert images[0]["image"].shape == (14, SIZE, SIZE) and "mask" not in images[0]


def _marker_pair(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """An image (H, W, 14) and a mask whose L-shaped marker sits at the same pixels."""
    image = np.zeros((size, size, 14), dtype=np.float32)
    mask = np.ones((size, size), dtype=np.uint8)
    rows, cols = slice(10, 30), slice(8, 14)
    image[rows, cols, 0] = 100.0
    mask[rows, cols] = 7
    image[24:30, 14:40, 0] = 100.0  # the foot of the L: not symmetric under any flip/rotation
    mask[24:30, 14:40] = 7
    return image, mask


def test_augmentations_move_mask_exactly_like_image():
    image, mask = _marker_pair()
    transform = training_transform(crop_size=48, tiles_size=64)
    seen = set()
    for seed in range(24):
        transform.set_random_seed(seed)
        out = transform(image=image, mask=mask)
        assert out["image"].shape == (48, 48, 14) and out["mask"].shape == (48, 48)
        np.testing.assert_array_equal(out["image"][..., 0] == 100.0, out["mask"] == 7)
        seen.add(out["mask"].tobytes())
    assert len(seen) > 8  # crops and symmetries really vary


def test_resize_to_augment_size_keeps_labels_crisp_and_aligned():
    image, mask = _marker_pair()
    transform = training_transform(crop_size=None, augment_size=128, tiles_size=64)
    transform.set_random_seed(3)
    out = transform(image=image, mask=mask)
    assert out["image"].shape == (128, 128, 14) and out["mask"].shape == (128, 128)
    assert set(np.unique(out["mask"])) <= {1, 7}  # nearest neighbour: no averaged labels
    marker_image = out["image"][..., 0] > 50
    marker_mask = out["mask"] == 7
    iou = (marker_image & marker_mask).sum() / (marker_image | marker_mask).sum()
    assert iou > 0.95
    only_image = evaluation_transform(augment_size=128, tiles_size=64)(image=image)["image"]
    assert only_image.shape == (128, 128, 14)
    assert evaluation_transform(augment_size=None, tiles_size=64) is None


def test_augmented_dataset_samples_keep_pixels_on_their_classes(records):
    """Through the real dataset: every labelled pixel still carries its class's spectrum."""
    stats = compute_normalization(records, progress=False)
    dataset = LandCoverTiles(records, stats, transform=training_transform(crop_size=40, tiles_size=SIZE), seed=1)
    signatures = (class_spectra()[:, :12] - np.array(stats.mean[:12])) / np.array(stats.std[:12])
    for epoch in (0, 1):
        dataset.set_epoch(epoch)
        for index in range(0, len(dataset), 3):
            sample = dataset[index]
            pixels = sample["image"][:12].reshape(12, -1).numpy().T
            nearest = ((pixels[:, None, :] - signatures[None]) ** 2).sum(axis=-1).argmin(axis=1) + 1
            labels = sample["mask"].reshape(-1).numpy()
            labelled = labels > 0
            assert (nearest[labelled] == labels[labelled]).mean() > 0.97


def test_augmentations_are_reproducible_per_epoch(records):
    stats = compute_normalization(records, progress=False)
    dataset = LandCoverTiles(records, stats, transform=training_transform(crop_size=32, tiles_size=SIZE), seed=5)
    dataset.set_epoch(2)
    first = dataset[1]["image"]
    other = dataset[2]["image"]
    dataset.set_epoch(3)
    changed = dataset[1]["image"]
    dataset.set_epoch(2)
    assert torch.equal(dataset[1]["image"], first)
    assert not torch.equal(changed, first) or not torch.equal(other, first)


def test_plot_shows_composite_and_mask_with_titles(records):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = compute_normalization(records, progress=False)
    dataset = LandCoverTiles(records, stats)
    sample = dataset[0]
    sample["prediction"] = sample["mask"].clone()
    figure = dataset.plot(sample)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == ["True colour (B4, B3, B2)", "Reference (CLC+ Backbone)", "Prediction"]
    assert figure.legends and figure._suptitle is not None
    rgb = dataset.rgb(sample["image"])
    assert rgb.shape == (SIZE, SIZE, 3) and 0 <= rgb.min() and rgb.max() <= 1
    plt.close(figure)


def test_one_normalization_type_from_yaml_tiles_and_params(toy_root, records):
    import landcover.data
    import landcover.training
    from landcover.data.normalization import load_normalization, normalization_beside
    from landcover.inference.params import parse_params

    assert landcover.training.Normalization is landcover.data.Normalization is Normalization
    from_yaml = load_normalization("AA001", 2018, toy_root)
    assert isinstance(from_yaml, Normalization) and from_yaml == normalization_beside(records[0].image)
    computed = compute_normalization([r for r in records if (r.nuts, r.year) == ("AA001", 2018)], progress=False)
    assert computed.is_close(from_yaml, rel=1e-5)  # the toy YAML holds its folder's exact statistics
    params = parse_params({"n_bands": "14", "tiles_size": "64", "augment_size": "64", "module_name": "m",
                           **{k: str(v) for k, v in computed.to_params().items()}})
    assert Normalization.from_params(params) == computed  # params.json round trip, to the last bit
    image = read_image(records[0].image)
    np.testing.assert_array_equal(from_yaml.apply(image), Normalization(*from_yaml).apply(image))
    with pytest.raises(AttributeError, match="immutable"):
        computed.mean = computed.std

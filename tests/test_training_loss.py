"""The loss: nodata ignored, class k+1 <-> channel k, sensible class weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from landcover.training.loss import IGNORE_INDEX, SegmentationLoss, class_weights, labels_to_targets


def test_labels_shift_to_channels_and_nodata_is_ignored():
    labels = torch.tensor([[0, 1, 10], [5, 0, 2]], dtype=torch.uint8)
    targets = labels_to_targets(labels)
    assert targets.tolist() == [[IGNORE_INDEX, 0, 9], [4, IGNORE_INDEX, 1]]


@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_changing_predictions_on_nodata_pixels_does_not_change_the_loss(gamma):
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(1, 11, (2, 16, 16), generator=generator)
    labels[:, :, :5] = 0  # a nodata strip
    logits = torch.randn(2, 10, 16, 16, generator=generator, requires_grad=True)
    loss_fn = SegmentationLoss(class_weights(np.arange(1, 11) * 100), gamma=gamma)
    loss = loss_fn(logits, labels)
    loss.backward()
    changed = logits.detach().clone()
    changed[:, :, :, :5] = torch.randn(2, 10, 16, 5, generator=generator) * 50
    assert torch.allclose(loss_fn(changed, labels), loss.detach())
    # no gradient reaches nodata pixels; labelled pixels do get one
    assert logits.grad[:, :, :, :5].abs().max() == 0
    assert logits.grad[:, :, :, 5:].abs().max() > 0
    # while changing a labelled pixel does change it
    changed[:, 0, 0, 7] += 5.0  # one channel of one labelled pixel
    assert not torch.allclose(loss_fn(changed, labels), loss.detach())


def test_loss_equals_weighted_cross_entropy_and_upsamples_logits():
    generator = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 11, (2, 32, 32), generator=generator)
    small = torch.randn(2, 10, 8, 8, generator=generator)
    weights = torch.linspace(0.5, 2.0, 10)
    loss = SegmentationLoss(weights)(small, labels)
    up = F.interpolate(small, size=(32, 32), mode="bilinear", align_corners=False)
    expected = F.cross_entropy(up, labels_to_targets(labels), weight=weights, ignore_index=IGNORE_INDEX)
    assert torch.allclose(loss, expected, atol=1e-6)


def test_batch_without_labelled_pixels_gives_zero_not_nan():
    logits = torch.randn(1, 10, 4, 4, requires_grad=True)
    loss = SegmentationLoss()(logits, torch.zeros(1, 4, 4, dtype=torch.long))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_focal_loss_discounts_easy_pixels():
    labels = torch.ones(1, 2, 2, dtype=torch.long)
    confident = torch.full((1, 10, 2, 2), -5.0)
    confident[:, 0] = 5.0  # channel 0 = class 1, right and sure
    plain = SegmentationLoss()(confident, labels)
    focal = SegmentationLoss(gamma=2.0)(confident, labels)
    assert 0 < focal < plain * 1e-3


def test_class_weights_inverse_square_root_of_frequency():
    counts = np.array([500, 100, 400, 1600, 0, 100, 100, 100, 100, 100, 100])  # label values 0..10
    weights = class_weights(counts, clip=(0.01, 100.0)).numpy()
    frequency = counts[1:] / counts[1:].sum()
    present = frequency > 0
    # ratios follow 1 / sqrt(frequency): class 1 (100 px) weighs 4x class 3 (1600 px)
    assert weights[0] / weights[2] == pytest.approx(4.0)
    assert weights[1] / weights[2] == pytest.approx(2.0)
    # the pixel-weighted mean is 1: the loss keeps the scale of plain cross-entropy
    assert (frequency[present] * weights[present]).sum() == pytest.approx(1.0)
    assert weights[3] == pytest.approx(100.0)  # class 4 absent: upper bound
    clipped = class_weights(counts, clip=(0.5, 1.2)).numpy()
    assert clipped.min() >= 0.5 and clipped.max() <= 1.2
    with pytest.raises(ValueError, match="entries"):
        class_weights([1, 2, 3])
    with pytest.raises(ValueError, match="no labelled"):
        class_weights(np.zeros(10))

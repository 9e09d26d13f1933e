"""The SegFormer sizes and shapes: 14 channels in, 10 classes out at 1/4 resolution."""

from __future__ import annotations

import pytest
import torch

from landcover.training.model import MODEL_SIZES, build_model, count_parameters, module_name, segformer_config

# Table 1 of the SegFormer paper (Xie et al., 2021).
PAPER = {
    "b0": ([32, 64, 160, 256], [2, 2, 2, 2], 256),
    "b1": ([64, 128, 320, 512], [2, 2, 2, 2], 256),
    "b2": ([64, 128, 320, 512], [3, 4, 6, 3], 768),
    "b3": ([64, 128, 320, 512], [3, 4, 18, 3], 768),
    "b4": ([64, 128, 320, 512], [3, 8, 27, 3], 768),
    "b5": ([64, 128, 320, 512], [3, 6, 40, 3], 768),
}


@pytest.mark.parametrize("size", sorted(PAPER))
def test_mit_sizes_follow_the_paper(size):
    config = segformer_config(size)
    hidden, depths, decoder = PAPER[size]
    assert list(config.hidden_sizes) == hidden and list(config.depths) == depths
    assert config.decoder_hidden_size == decoder
    assert list(config.num_attention_heads) == [1, 2, 5, 8] and list(config.sr_ratios) == [8, 4, 2, 1]
    assert config.num_channels == 14 and config.num_labels == 10


def test_tiny_model_shapes_and_class_names():
    torch.manual_seed(0)
    model = build_model().eval()
    assert model.config.id2label[0] == "Sealed" and model.config.id2label[9] == "Water"
    assert count_parameters(model) < 0.5 * count_parameters(build_model("b0"))  # a third of MiT-b0
    with torch.inference_mode():
        assert model(pixel_values=torch.randn(2, 14, 64, 64)).logits.shape == (2, 10, 16, 16)
        assert model(pixel_values=torch.randn(1, 14, 250, 250)).logits.shape == (1, 10, 63, 63)
    assert module_name("tiny") == "segformer-tiny"
    assert set(MODEL_SIZES) == {"tiny", "b0", "b1", "b2", "b3", "b4", "b5"}


def test_unknown_size_is_named_in_the_error():
    with pytest.raises(ValueError, match="b9"):
        build_model("b9")

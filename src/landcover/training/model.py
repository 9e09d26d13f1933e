"""The segmentation network: a SegFormer built from a configuration (no download).

SegFormer (Xie et al., 2021, "SegFormer: Simple and Efficient Design for
Semantic Segmentation with Transformers") pairs a hierarchical transformer
encoder (Mix Transformer, "MiT") with a light all-MLP decoder. Its logits come
out at 1/4 of the input size; the loss and the predictions upsample them.

The weights start random: ImageNet weights expect 3 channels, our tiles have
14, and nothing may be downloaded here. The MiT-b0..b5 sizes follow Table 1 of
the paper; ``tiny`` is a smaller variant of b0 that trains on a laptop CPU in
minutes (on 2x upsampled tiles, see ``augment_size``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from transformers import SegformerConfig, SegformerForSemanticSegmentation

from landcover.bands import N_BANDS
from landcover.classes import CLASSES, N_CLASSES

if TYPE_CHECKING:
    import torch

_MIT_HEADS = [1, 2, 5, 8]
_MIT_SR = [8, 4, 2, 1]

#: Encoder and decoder sizes by name. ``hidden_sizes``/``depths``/``num_attention_heads``
#: are per encoder stage; ``decoder_hidden_size`` is the width of the MLP decoder.
MODEL_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {
        "hidden_sizes": [32, 64, 128, 160],
        "depths": [1, 1, 1, 1],
        "num_attention_heads": [1, 2, 4, 5],
        "decoder_hidden_size": 128,
        # From scratch, a wider weight initialisation than the default 0.02 lets
        # this small network learn in about a thousand steps on a CPU.
        "initializer_range": 0.06,
        "drop_path_rate": 0.0,
    },
    "b0": {"hidden_sizes": [32, 64, 160, 256], "depths": [2, 2, 2, 2], "decoder_hidden_size": 256},
    "b1": {"hidden_sizes": [64, 128, 320, 512], "depths": [2, 2, 2, 2], "decoder_hidden_size": 256},
    "b2": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 4, 6, 3], "decoder_hidden_size": 768},
    "b3": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 4, 18, 3], "decoder_hidden_size": 768},
    "b4": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 8, 27, 3], "decoder_hidden_size": 768},
    "b5": {"hidden_sizes": [64, 128, 320, 512], "depths": [3, 6, 40, 3], "decoder_hidden_size": 768},
}
DEFAULT_SIZE = "tiny"


def segformer_config(
    size: str = DEFAULT_SIZE, *, n_bands: int = N_BANDS, n_classes: int = N_CLASSES, **overrides: Any
) -> SegformerConfig:
    """A :class:`SegformerConfig` for ``size`` (``tiny``, ``b0`` .. ``b5``) with 14 bands and 10 classes.

    Output channel ``k`` is land-cover class ``k + 1`` (``id2label`` says so).
    ``overrides`` go straight to the config (e.g. ``drop_path_rate=0.0``).
    """
    if size not in MODEL_SIZES:
        raise ValueError(f"unknown model size {size!r}; choose one of {', '.join(MODEL_SIZES)}")
    settings: dict[str, Any] = {
        "num_attention_heads": _MIT_HEADS,
        "sr_ratios": _MIT_SR,
        "mlp_ratios": [4, 4, 4, 4],
        "drop_path_rate": 0.1,
        "classifier_dropout_prob": 0.1,
    }
    settings.update(MODEL_SIZES[size])
    settings.update(overrides)
    names = {c.id - 1: c.name for c in CLASSES} if n_classes == N_CLASSES else {k: f"class {k + 1}" for k in range(n_classes)}
    return SegformerConfig(
        num_channels=n_bands,
        num_labels=n_classes,
        id2label=names,
        label2id={v: k for k, v in names.items()},
        **settings,
    )


def build_model(
    size: str = DEFAULT_SIZE, *, n_bands: int = N_BANDS, n_classes: int = N_CLASSES, **overrides: Any
) -> SegformerForSemanticSegmentation:
    """A randomly initialised SegFormer for ``n_bands`` channels and ``n_classes`` classes."""
    return SegformerForSemanticSegmentation(
        segformer_config(size, n_bands=n_bands, n_classes=n_classes, **overrides)
    )


def module_name(size: str) -> str:
    """The ``module_name`` recorded in ``params.json`` for a model size."""
    return f"segformer-{size}"


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

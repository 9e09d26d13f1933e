"""The forward pass: raw logits of a batch, from a PyTorch SegFormer or from the MLflow model.

Training (every step and every validation pass) and prediction share this one
forward pass, so a model is judged exactly as it is applied. Logits come out at
the network's native resolution, 1/4 of its input size; channel ``k`` is
land-cover class ``k + 1``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import torch


@runtime_checkable
class LogitsModel(Protocol):
    """An MLflow pyfunc (or anything else) whose ``predict`` maps a normalised batch to raw logits."""

    def predict(self, data: np.ndarray) -> np.ndarray:
        """Logits ``(B, classes, h, w)`` of a float32 batch ``(B, bands, H, W)``."""
        ...


def forward_logits(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Raw logits ``(B, classes, H/4, W/4)`` of a Hugging Face SegFormer (or any module).

    A Hugging Face model (it has a ``config``) takes ``pixel_values=`` and wraps
    its logits in an output object; a plain module gets the tensor and returns
    the logits directly.
    """
    output = model(pixel_values=images) if hasattr(model, "config") else model(images)
    return output.logits if hasattr(output, "logits") else output


def model_logits(model: LogitsModel | torch.nn.Module, batch: np.ndarray) -> np.ndarray:
    """Raw logits as a NumPy array, from an MLflow pyfunc (``model.predict``) or a PyTorch SegFormer.

    A PyTorch model runs in evaluation mode without gradients, on the device
    its weights are on; ``batch`` is a float32 ``(B, bands, H, W)`` array
    already normalised (see :func:`landcover.inference.predict.preprocess`).
    """
    if isinstance(model, LogitsModel):
        return np.asarray(model.predict(batch))
    import torch

    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    model.eval()
    with torch.inference_mode():
        return forward_logits(model, torch.from_numpy(batch).to(device)).float().cpu().numpy()

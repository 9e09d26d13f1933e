"""The MLflow pyfunc form of the segmentation model, with the original ``predict`` contract.

``predict`` takes a float32 array ``(B, 14, H, W)`` already normalised with
``normalization_mean`` / ``normalization_std`` (and resized to
``augment_size`` when it differs from ``tiles_size``) and returns the raw
logits ``(B, 10, H', W')`` as a NumPy array at the network's native 1/4
resolution; channel ``k`` is class ``k + 1``. Upsampling, argmax and ``+ 1``
are left to the caller (:func:`landcover.inference.predict.predict_tile`), so
anyone holding ``params.json`` and this model can reproduce a prediction.

This file is logged *as code* (MLflow "models from code"): MLflow copies it
into the model directory and runs it when the model is loaded. It therefore
imports nothing from the ``landcover`` package; the model needs only numpy,
torch and transformers. Its one artifact, ``hf_model``, is the Hugging Face
model folder (``config.json`` + ``model.safetensors``).
"""

import numpy as np
from mlflow.pyfunc import PythonModel, PythonModelContext

#: Name of the artifact holding the saved Hugging Face model folder.
HF_MODEL_ARTIFACT = "hf_model"


class SegformerLogitsModel(PythonModel):
    """Wraps a saved ``SegformerForSemanticSegmentation``; ``predict`` returns raw logits."""

    #: Tiles per forward pass, to bound memory on large inputs.
    batch_size = 8

    def load_context(self, context: PythonModelContext) -> None:  # noqa: D102 - MLflow hook
        import torch
        from transformers import SegformerForSemanticSegmentation
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar in every notebook that loads the model
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model = SegformerForSemanticSegmentation.from_pretrained(context.artifacts[HF_MODEL_ARTIFACT])
        self.model = model.eval().to(self.device)

    def predict(self, context: PythonModelContext, model_input: np.ndarray, params: dict | None = None) -> np.ndarray:
        """Raw logits ``(B, 10, H/4, W/4)`` of a normalised float32 batch ``(B, 14, H, W)``, in batches of 8."""
        import torch

        array = np.asarray(model_input, dtype=np.float32)
        channels = int(self.model.config.num_channels)
        if array.ndim != 4 or array.shape[1] != channels:
            raise ValueError(
                f"model input must be a float32 array (batch, {channels}, height, width), got shape {array.shape}"
            )
        outputs = []
        with torch.inference_mode():
            for start in range(0, array.shape[0], self.batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(array[start : start + self.batch_size]))
                logits = self.model(pixel_values=batch.to(self.device)).logits
                outputs.append(logits.float().cpu().numpy())
        if not outputs:
            return np.zeros((0, int(self.model.config.num_labels), 0, 0), dtype=np.float32)
        return np.concatenate(outputs, axis=0)


# MLflow executes this file under a module name starting with "code_model_" when it
# logs or loads the model; register the model object only then.
if __name__.startswith("code_model_"):
    from mlflow.models import set_model

    set_model(SegformerLogitsModel())

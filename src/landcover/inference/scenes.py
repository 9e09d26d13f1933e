"""Predict a large raster (a region's VRT mosaic, a Sentinel-2 scene) window by window, never whole in memory.

The scene is read with rasterio, one model window at a time
(:class:`rasterio.windows.Window`), local or remote (GDAL range requests).
Windows are processed row of windows by row of windows; the blended logits
of the rows no later window touches are turned into classes and dropped, so
memory holds the output mask, about two window heights of logits and one
batch of windows, whatever the scene's size. Windows with no valid pixel
(the gaps of a mosaic) skip the model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import numpy as np

from landcover.classes import NODATA
from landcover.errors import DataFileError
from landcover.inference.prediction import (
    DEFAULT_BATCH_SIZE,
    BlendBuffer,
    ModelLike,
    _batches,
    _progress_bar,
    blended_labels,
    check_batch_size,
    resolve_model,
    window_logits,
)
from landcover.inference.windows import DEFAULT_WEIGHT_FLOOR, PixelWindow, blend_weights, image_windows
from landcover.storage import open_raster, scheme_of


class ScenePrediction(TypedDict):
    """What :func:`predict_scene` returns: the mask on the scene's own grid.

    ``mask``: uint8 ``(rows, cols)``, classes 1..10, 0 = nodata;
    ``transform``/``crs``/``bounds``: the scene's (rasterio objects);
    ``path``: the scene read; ``out_path``: the GeoTIFF written, if any;
    ``probability``: float32, only with ``return_probability=True``.
    """

    mask: np.ndarray
    transform: Any
    crs: Any
    bounds: Any
    path: str
    out_path: NotRequired[str]
    probability: NotRequired[np.ndarray]


def _read_window(src: Any, indexes: list[int], window: PixelWindow) -> np.ndarray:
    """Bands ``indexes`` of one window as float32, the dataset's nodata value turned into NaN."""
    from rasterio.windows import Window

    array = src.read(indexes, window=Window(window.col, window.row, window.width, window.height), out_dtype="float32")
    nodata = src.nodata
    if nodata is not None and not np.isnan(nodata):
        array[array == np.float32(nodata)] = np.nan
    return array


def predict_scene(
    path: str | os.PathLike[str],
    model: ModelLike,
    *,
    out_path: str | os.PathLike[str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    overlap: int | None = None,
    return_probability: bool = False,
    weight_floor: float = DEFAULT_WEIGHT_FLOOR,
    progress: bool = True,
) -> ScenePrediction:
    """Land cover of a large raster, predicted window by window on the raster's own grid.

    Parameters
    ----------
    path : str or os.PathLike
        The raster (GeoTIFF or VRT; local path, ``https://`` or ``s3://``)
        with at least ``n_bands`` bands in the model's band order, in reflectance.
        NaN (or the file's nodata value) in every band marks nodata.
    model : LoadedModel
        :func:`~landcover.inference.model.load_model` output (a bare model
        with its parameters as a ``(model, params)`` tuple also works).
    out_path : str or os.PathLike, optional
        Also write the mask as a uint8 GeoTIFF (nodata 0, the class colours
        as its colour table), atomically; local or ``s3://``.
    batch_size, overlap, return_probability, weight_floor
        As for :func:`~landcover.inference.prediction.predict`.
    progress : bool
        Show a tqdm bar over windows.

    Returns
    -------
    ScenePrediction
        The mask with the scene's transform, CRS and bounds.

    Raises
    ------
    FileNotFoundError
        When there is no raster at ``path``.
    landcover.errors.DataFileError
        When it has fewer bands than the model reads.
    """
    network, params = resolve_model(model)
    batch_size = check_batch_size(batch_size)
    n_bands, size = int(params["n_bands"]), int(params["tiles_size"])
    location = os.fspath(path)
    indexes = list(range(1, n_bands + 1))
    with open_raster(location) as src:
        if src.count < n_bands:
            raise DataFileError(f"{location} has {src.count} band(s); the model reads {n_bands}")
        height, width = src.height, src.width
        windows = image_windows((height, width), size, overlap)
        row_starts = sorted({w.row for w in windows})
        mask = np.full((height, width), NODATA, dtype=np.uint8)
        probability = np.zeros((height, width), dtype=np.float32) if return_probability else None
        valid = np.zeros((height, width), dtype=bool)
        buffer: BlendBuffer | None = None
        weights: dict[tuple[int, int], np.ndarray] = {}
        done = 0
        bar = _progress_bar(progress, "window", len(windows), Path(location).name)
        try:
            for position, row in enumerate(row_starts):
                items = []
                for window in (w for w in windows if w.row == row):
                    array = _read_window(src, indexes, window)
                    window_valid = np.isfinite(array).any(axis=0)
                    valid[window.rows, window.cols] |= window_valid
                    if window_valid.any():
                        items.append((array, window))
                for batch in _batches(items, batch_size):
                    logits = window_logits(network, [array for array, _ in batch], params)
                    if buffer is None:
                        buffer = BlendBuffer(width, logits.shape[1], top=done)
                    buffer.extend(row + batch[0][1].height)
                    for (_, window), window_logit in zip(batch, logits, strict=True):
                        shape = (window.height, window.width)
                        if shape not in weights:
                            weights[shape] = blend_weights(window.height, window.width, weight_floor)
                        buffer.add(window, window_logit, weights[shape])
                finished = row_starts[position + 1] if position + 1 < len(row_starts) else height
                if buffer is not None:
                    buffer.extend(finished)
                    scores, sums = buffer.pop(finished)
                    labels, proba = blended_labels(
                        scores, sums, valid[done:finished], return_probability=return_probability
                    )
                    mask[done:finished] = labels
                    if probability is not None and proba is not None:
                        probability[done:finished] = proba
                done = finished
                if bar is not None:
                    bar.update(sum(1 for w in windows if w.row == row))
        finally:
            if bar is not None:
                bar.close()
        result: ScenePrediction = {
            "mask": mask, "transform": src.transform, "crs": src.crs, "bounds": src.bounds, "path": location,
        }
    if probability is not None:
        result["probability"] = probability
    if out_path is not None:
        result["out_path"] = write_mask_geotiff(out_path, mask, result["transform"], result["crs"])
    return result


def write_mask_geotiff(path: str | os.PathLike[str], mask: np.ndarray, transform: Any, crs: Any) -> str:
    """Write a scene's class mask as a Cloud-Optimised GeoTIFF with the class colours, atomically.

    The same file as every other export of a prediction
    (:func:`landcover.inference.export.write_class_cog`): tiled, DEFLATE,
    nodata 0, MODE overviews and the class colour table, local or ``s3://``.
    Returns the location written.

    Raises
    ------
    ValueError
        When ``mask`` is not 2-D uint8 or ``path`` is an HTTP URL.
    """
    from landcover.inference.export import write_class_cog

    mask = np.asarray(mask)
    if mask.dtype != np.uint8 or mask.ndim != 2:
        raise ValueError(f"mask must be uint8 (rows, cols), got {mask.dtype} {mask.shape}")
    text = os.fspath(path)
    if scheme_of(text) in ("http", "https"):
        raise ValueError(f"out_path={text!r}: cannot write over HTTP; give a local path or s3://")
    return write_class_cog(mask, transform, crs, text)

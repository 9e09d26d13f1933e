"""Predict every tile of a region and year, batched and cached, as one mosaic on the tiles' own grid.

The tiles come from the region-year's index (``filename2bbox.parquet``,
:func:`landcover.data.load_tile_index`). Each tile is one window of the model,
so tiles are predicted ``batch_size`` at a time; each prediction is stored in
the prediction store (:mod:`landcover.inference.cache`) and read from there on
the next call. The mosaic's grid is the tiles' grid (EPSG:3035, 10 m pixels):
its top-left corner is the top-left corner of the tiles' joint box, and pixels
no tile covers are nodata (0).

:func:`region_tiles`, :func:`place_tile` and :func:`region_result` are the
pieces of the mosaic that :func:`predict_region` and the Dask version
(:func:`landcover.inference.distributed.predict_region_distributed`) share.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NotRequired, TypedDict

import numpy as np
from affine import Affine

from landcover.classes import NODATA
from landcover.data.paths import PIXEL_SIZE_M, image_path, tile_stem, validate_nuts, validate_year
from landcover.data.tile_index import INDEX_CRS, load_tile_index
from landcover.data.tiles import get_satellite_image
from landcover.errors import DataFileError
from landcover.inference.cache import PredictionStore, model_key, resolve_store
from landcover.inference.prediction import (
    DEFAULT_BATCH_SIZE,
    ImagePrediction,
    ModelLike,
    _progress_bar,
    check_batch_size,
    predict_images,
    resolve_model,
)
from landcover.inference.windows import PixelWindow
from landcover.storage import exists


class TileEntry(TypedDict):
    """One tile of a region prediction: its name, box (EPSG:3035 m), place in the mosaic, cache status."""

    filename: str
    stem: str
    bbox: tuple[float, float, float, float]
    window: PixelWindow
    cached: bool


class RegionPrediction(TypedDict):
    """What :func:`predict_region` returns.

    ``mask``: uint8 ``(rows, cols)`` mosaic, classes 1..10, 0 where no tile
    (or nodata); ``transform``: affine pixel -> EPSG:3035 metres of the
    mosaic; ``crs``: ``"EPSG:3035"``; ``bounds``: ``(xmin, ymin, xmax,
    ymax)`` in metres; ``tiles``: one :class:`TileEntry` per tile, in index
    order; ``probability``: float32 mosaic, only with ``return_probability=True``.
    :func:`~landcover.inference.distributed.predict_region_distributed` adds
    ``dashboard`` (the Dask dashboard's URL, ``None`` when there is none) and
    ``stats`` (tasks, tiles predicted and found, scheduler, workers, seconds).
    """

    nuts: str
    year: int
    mask: np.ndarray
    transform: Affine
    crs: str
    bounds: tuple[float, float, float, float]
    tiles: list[TileEntry]
    probability: NotRequired[np.ndarray]
    dashboard: NotRequired[str | None]
    stats: NotRequired[dict[str, Any]]


def region_grid(
    boxes: np.ndarray, pixel_size: float = PIXEL_SIZE_M
) -> tuple[Affine, tuple[int, int], list[PixelWindow]]:
    """The mosaic grid of tiles with ``boxes`` ``(n, 4)`` (xmin, ymin, xmax, ymax in EPSG:3035 metres).

    Returns the mosaic's transform (north-up, ``pixel_size`` metres), its
    shape ``(rows, cols)`` and each tile's window in it. Tile corners are
    snapped to the nearest pixel of the grid.

    Raises
    ------
    ValueError
        When there is no box or ``pixel_size`` is not positive.
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    if len(boxes) == 0:
        raise ValueError("boxes: a mosaic needs at least one tile")
    if not pixel_size > 0:
        raise ValueError(f"pixel_size={pixel_size} must be a positive number of metres")
    xmin, ymax = float(boxes[:, 0].min()), float(boxes[:, 3].max())
    cols = int(round((float(boxes[:, 2].max()) - xmin) / pixel_size))
    rows = int(round((ymax - float(boxes[:, 1].min())) / pixel_size))
    windows = [
        PixelWindow(
            int(round((ymax - b[3]) / pixel_size)), int(round((b[0] - xmin) / pixel_size)),
            int(round((b[3] - b[1]) / pixel_size)), int(round((b[2] - b[0]) / pixel_size)),
        )
        for b in boxes
    ]
    return Affine(pixel_size, 0.0, xmin, 0.0, -pixel_size, ymax), (rows, cols), windows


def region_tiles(
    nuts: str, year: int, root: str | None = None
) -> tuple[Affine, tuple[int, int], list[TileEntry]]:
    """The tiles of a region-year in index order, with the mosaic grid they lie on.

    ``nuts`` and ``year`` must be validated already
    (:func:`~landcover.data.paths.validate_nuts`, :func:`~landcover.data.paths.validate_year`).
    Returns the mosaic's transform, its shape ``(rows, cols)`` and one
    :class:`TileEntry` per tile (``cached`` False).

    Raises
    ------
    FileNotFoundError
        When the region-year has no tile index.
    landcover.errors.DataFileError
        When the index lists no tile.
    """
    index = load_tile_index(nuts, year, root)
    if index.empty:
        raise DataFileError(f"the tile index of {nuts}/{year} lists no tiles")
    boxes = np.array([list(b) for b in index["bbox"]], dtype=float)
    transform, shape, windows = region_grid(boxes)
    tiles: list[TileEntry] = []
    for filename, box, window in zip(index["filename"], boxes, windows, strict=True):
        tiles.append({"filename": str(filename), "stem": tile_stem(str(filename)),
                      "bbox": tuple(float(v) for v in box), "window": window, "cached": False})  # type: ignore[typeddict-item]
    return transform, shape, tiles


def place_tile(
    mosaic: np.ndarray,
    probability: np.ndarray | None,
    entry: TileEntry,
    mask: np.ndarray,
    proba: np.ndarray | None,
    *,
    nuts: str,
    year: int,
) -> None:
    """Write one tile's ``mask`` (and ``proba``) into the mosaic at the tile's window.

    Raises
    ------
    landcover.errors.DataFileError
        When the prediction's size disagrees with the tile's box.
    """
    window = entry["window"]
    if mask.shape != (window.height, window.width):
        raise DataFileError(
            f"{entry['filename']} of {nuts}/{year}: prediction of {mask.shape[0]} x {mask.shape[1]} pixels "
            f"for a box of {window.height} x {window.width} pixels of {PIXEL_SIZE_M:g} m"
        )
    mosaic[window.rows, window.cols] = mask
    if probability is not None and proba is not None:
        probability[window.rows, window.cols] = proba


def region_result(
    nuts: str,
    year: int,
    transform: Affine,
    mosaic: np.ndarray,
    probability: np.ndarray | None,
    tiles: list[TileEntry],
) -> RegionPrediction:
    """The :class:`RegionPrediction` of a finished mosaic (bounds from its transform and shape)."""
    rows, cols = mosaic.shape
    bounds = (transform.c, transform.f - rows * PIXEL_SIZE_M, transform.c + cols * PIXEL_SIZE_M, transform.f)
    result: RegionPrediction = {
        "nuts": nuts, "year": year, "mask": mosaic, "transform": transform, "crs": INDEX_CRS,
        "bounds": bounds, "tiles": tiles,
    }
    if probability is not None:
        result["probability"] = probability
    return result


def predict_region(
    nuts: str,
    year: int | str,
    model: ModelLike,
    *,
    cache: PredictionStore | str | os.PathLike[str] | bool | None = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    return_probability: bool = False,
    root: str | None = None,
) -> RegionPrediction:
    """Land cover of every tile of a region and year, as one mosaic in EPSG:3035 (10 m pixels).

    Parameters
    ----------
    nuts : str
        NUTS3 code, e.g. ``"BE100"``.
    year : int or str
        Year of the tiles (2018, 2021, 2024).
    model : LoadedModel
        :func:`~landcover.inference.model.load_model` output; a bare model
        works only with ``cache=False`` (a cache needs its name and version).
    cache : PredictionStore, str, os.PathLike, bool or None
        ``True``: the default store (:func:`~landcover.inference.cache.prediction_store_location`);
        a store, folder or ``s3://`` prefix; ``False``/``None``: no cache.
    batch_size : int
        Tiles per forward pass.
    progress : bool
        Show a tqdm bar over tiles.
    return_probability : bool
        Also return (and store) the probability of the chosen class.
    root : str, optional
        Data root (default: the active one).

    Returns
    -------
    RegionPrediction
        The mosaic, its transform and CRS, and the list of tiles.

    Raises
    ------
    FileNotFoundError
        When the region-year has no tile index.
    landcover.errors.DataFileError
        When the index lists no tile or a tile's size disagrees with its box.
    """
    nuts, year = validate_nuts(nuts), validate_year(year)
    batch_size = check_batch_size(batch_size)
    network, params = resolve_model(model)
    store = resolve_store(cache, root)
    if store is not None:
        model_key(model)  # fail early for a bare model: a cache needs its name and version
    transform, shape, tiles = region_tiles(nuts, year, root)
    mosaic = np.full(shape, NODATA, dtype=np.uint8)
    probability = np.zeros(shape, dtype=np.float32) if return_probability else None

    def place(entry: TileEntry, mask: np.ndarray, proba: np.ndarray | None) -> None:
        place_tile(mosaic, probability, entry, mask, proba, nuts=nuts, year=year)

    n_bands = int(params["n_bands"])

    def read(entries: list[TileEntry]) -> dict[str, dict]:
        return {e["stem"]: get_satellite_image(image_path(nuts, year, e["stem"], root), n_bands=n_bands) for e in entries}

    chunks = [tiles[start : start + batch_size] for start in range(0, len(tiles), batch_size)]
    stored = {e["stem"] for e in tiles if store is not None and exists(store.path(model, nuts, year, e["stem"]))}
    bar = _progress_bar(progress, "tile", len(tiles), f"{nuts} {year}")
    # Tiles are read one chunk ahead in a thread (GDAL and the model both release the GIL), so
    # reading overlaps the forward pass.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-tiles") as reader:
        ahead = reader.submit(read, [e for e in chunks[0] if e["stem"] not in stored])
        try:
            for number, chunk in enumerate(chunks):
                prefetched = ahead.result()
                if number + 1 < len(chunks):
                    ahead = reader.submit(read, [e for e in chunks[number + 1] if e["stem"] not in stored])
                keys = [(nuts, year, entry["stem"]) for entry in chunk]
                with store.locked(model, keys) if store is not None else contextlib.nullcontext():
                    missing = []
                    for entry in chunk:
                        found = (
                            store.load(model, nuts, year, entry["stem"], probability=return_probability)
                            if store is not None else None
                        )
                        if found is None:
                            missing.append(entry)
                        else:
                            entry["cached"] = True
                            place(entry, found.mask, found.probability)
                    if missing:
                        unread = read([e for e in missing if e["stem"] not in prefetched])
                        images = [prefetched.get(e["stem"]) or unread[e["stem"]] for e in missing]

                        def finished(position: int, result: ImagePrediction, missing: list[TileEntry] = missing) -> None:
                            entry = missing[position]
                            proba = result.get("probability")
                            if store is not None:
                                store.save(model, nuts, year, entry["stem"], result["mask"], proba)
                            place(entry, result["mask"], proba)

                        predict_images(images, network, params, batch_size=batch_size,
                                       return_probability=return_probability, on_result=finished)
                if bar is not None:
                    bar.update(len(chunk))
                    bar.set_postfix(cached=sum(t["cached"] for t in tiles[: batch_size * number + len(chunk)]))
        finally:
            if bar is not None:
                bar.close()
    return region_result(nuts, year, transform, mosaic, probability, tiles)


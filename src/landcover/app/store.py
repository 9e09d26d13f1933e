"""The explorer app's view of the prediction store: what it holds for a region-year, and reading it.

The app reads predictions from the same model-versioned store as the API
(:class:`landcover.inference.PredictionStore`, located by the data-root
setting or ``LANDCOVER_PREDICTION_STORE``) and never predicts on its own:
:func:`read_region_from_store` only reads, leaving the tiles the store lacks
as nodata, and :func:`predict_missing` is the one function that runs the
model, called when the user asks for it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from landcover.classes import NODATA
from landcover.config import data_root
from landcover.data import load_tile_index
from landcover.data.paths import PIXEL_SIZE_M, tile_stem, validate_nuts, validate_year
from landcover.inference import LoadedModel, PredictionStore, RegionPrediction, TileEntry, predict_region
from landcover.inference.cache import model_key
from landcover.inference.regions import region_grid
from landcover.storage import exists


@dataclass(frozen=True)
class StoreStatus:
    """Which tiles of a region-year the store holds for one model.

    ``stems`` lists every tile of the region-year (index order); ``masks``
    the tiles whose class mask is stored, ``probabilities`` those whose
    probability of the chosen class is stored too.
    """

    nuts: str
    year: int
    location: str
    model_name: str
    model_version: str
    stems: tuple[str, ...]
    masks: frozenset[str]
    probabilities: frozenset[str]

    @property
    def missing(self) -> list[str]:
        """Tiles without a stored mask (the app shows them as nodata until they are predicted)."""
        return [stem for stem in self.stems if stem not in self.masks]

    @property
    def missing_probability(self) -> list[str]:
        """Tiles without a stored probability (no uncertainty can be shown for them)."""
        return [stem for stem in self.stems if stem not in self.probabilities]

    @property
    def complete(self) -> bool:
        """Whether every tile's mask is in the store."""
        return not self.missing

    @property
    def key(self) -> str:
        """A short text that changes whenever the store's content for this region-year does (a cache key)."""
        text = "\n".join([self.location, *sorted(self.masks), "--", *sorted(self.probabilities)])
        return f"{len(self.masks)}:{len(self.probabilities)}:{hashlib.sha1(text.encode()).hexdigest()[:12]}"

    def summary(self) -> str:
        """One sentence: how many tiles are stored, under which model."""
        return (
            f"{len(self.masks)} of {len(self.stems)} tiles of {self.nuts} {self.year} are in the prediction "
            f"store for model {self.model_name} (version {self.model_version})"
        )


def store_for(root: str | None = None) -> PredictionStore:
    """The prediction store the API uses for the data root ``root`` (default: the active one)."""
    return PredictionStore(root=data_root() if root is None else root)


def store_status(nuts: str, year: int | str, model: LoadedModel, root: str | None = None) -> StoreStatus:
    """What the store holds for the tiles of ``nuts``/``year`` and ``model`` (one existence check per file).

    Raises
    ------
    FileNotFoundError
        When the region-year has no tile index.
    """
    nuts, year = validate_nuts(nuts), validate_year(year)
    store = store_for(root)
    key = model_key(model)
    stems = tuple(tile_stem(str(name)) for name in load_tile_index(nuts, year, root)["filename"])
    masks = frozenset(s for s in stems if exists(store.path(model, nuts, year, s)))
    probabilities = frozenset(s for s in masks if exists(store.path(model, nuts, year, s, probability=True)))
    return StoreStatus(nuts, year, store.location, key.name, key.version, stems, masks, probabilities)


def read_region_from_store(
    nuts: str, year: int | str, model: LoadedModel, *, probability: bool = False, root: str | None = None
) -> RegionPrediction:
    """The mosaic of a region-year as the store holds it, without predicting anything.

    Same grid and keys as :func:`landcover.inference.predict_region` (EPSG:3035,
    10 m pixels): ``mask`` (uint8, 0 where no tile, nodata, cloud, or a tile
    the store lacks), ``transform``, ``bounds``, ``tiles`` (each entry's
    ``cached`` says whether it was read from the store). With
    ``probability=True`` there is also ``probability`` (float32, NaN where the
    store holds none).

    Raises
    ------
    FileNotFoundError
        When the region-year has no tile index.
    """
    nuts, year = validate_nuts(nuts), validate_year(year)
    store = store_for(root)
    index = load_tile_index(nuts, year, root)
    boxes = np.array([list(b) for b in index["bbox"]], dtype=float).reshape(-1, 4)
    transform, shape, windows = region_grid(boxes)
    mask = np.full(shape, NODATA, dtype=np.uint8)
    proba = np.full(shape, np.nan, dtype=np.float32) if probability else None
    tiles: list[TileEntry] = []
    for filename, box, window in zip(index["filename"], boxes, windows, strict=True):
        stem = tile_stem(str(filename))
        found = store.load(model, nuts, year, stem)
        entry: TileEntry = {"filename": str(filename), "stem": stem, "bbox": tuple(float(v) for v in box),  # type: ignore[typeddict-item]
                            "window": window, "cached": found is not None}
        tiles.append(entry)
        if found is None or found.mask.shape != (window.height, window.width):
            entry["cached"] = False
            continue
        mask[window.rows, window.cols] = found.mask
        if proba is not None:
            with_probability = store.load(model, nuts, year, stem, probability=True)
            if with_probability is not None and with_probability.probability is not None:
                proba[window.rows, window.cols] = with_probability.probability
    rows, cols = shape
    result: RegionPrediction = {
        "nuts": nuts, "year": year, "mask": mask, "transform": transform, "crs": "EPSG:3035",
        "bounds": (transform.c, transform.f - rows * PIXEL_SIZE_M, transform.c + cols * PIXEL_SIZE_M, transform.f),
        "tiles": tiles,
    }
    if proba is not None:
        result["probability"] = proba
    return result


def predict_missing(
    nuts: str, year: int | str, model: LoadedModel, *, probability: bool = False, root: str | None = None
) -> int:
    """Predict the tiles the store lacks (with their probability when asked), store them; returns how many.

    :func:`landcover.inference.predict_region` reads what the store holds and
    predicts only the rest. With ``probability=True``, a tile stored without
    its probability is predicted again (same model, same mask) to store it.
    """
    result = predict_region(
        nuts, year, model, cache=store_for(root), progress=False, return_probability=probability, root=root
    )
    return sum(not entry["cached"] for entry in result["tiles"])


def read_tiles(region: RegionPrediction) -> np.ndarray:
    """Boolean mosaic, True on the pixels of the tiles read from the store (the part the numbers describe)."""
    footprint = np.zeros(np.shape(region["mask"]), dtype=bool)
    for entry in region["tiles"]:
        if entry["cached"]:
            window = entry["window"]
            footprint[window.rows, window.cols] = True
    return footprint

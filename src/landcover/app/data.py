"""Cached loaders of the explorer app, on top of the package: the model once, each region-year once per store state.

Streamlit reruns the whole script on every click, so everything heavy is
cached: the model with ``st.cache_resource`` (loaded once per process), region
mosaics and built maps with ``st.cache_resource`` (large arrays, shared and
never modified), tables with ``st.cache_data``. Every key holds the data
root and the model's identity; region keys also hold
:attr:`landcover.app.store.StoreStatus.key`, so a region is read again as soon
as the store holds more of it. Arguments whose name starts with ``_`` are not
part of a key (Streamlit's rule).
"""

from __future__ import annotations

import os
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import streamlit as st

from landcover.app import accounts as region_numbers
from landcover.app import maps, store
from landcover.app.lookup import PointLookup, lookup_point
from landcover.config import data_root
from landcover.data import LABEL_YEARS, available_years, list_regions, load_nuts3
from landcover.inference import LoadedModel, RegionPrediction, load_model
from landcover.stats import label_mosaic
from landcover.storage import exists
from landcover.synthetic.manifest import MANIFEST_NAME

#: The setting that chooses the model, shared with the API (empty: the model published under the data root).
MODEL_VARIABLE = "LANDCOVER_MODEL"


def model_source() -> str | None:
    """Where the model comes from: ``LANDCOVER_MODEL`` (as for the API), else ``None`` (the published model)."""
    return os.environ.get(MODEL_VARIABLE, "").strip() or None


def model_id(model: LoadedModel) -> str:
    """Name and cache version of a model: what its predictions are stored under."""
    return f"{model.name}/{model.cache_version}"


def is_synthetic(root: str | None = None) -> bool:
    """Whether the data root holds the book's synthetic data (its completion marker exists)."""
    return exists(f"{data_root() if root is None else root}/{MANIFEST_NAME}")


@st.cache_resource(show_spinner="Loading the model (once)…", max_entries=2)
def get_model(source: str | None, root: str) -> LoadedModel:
    """The model, loaded once per process for a source and data root (``root`` is part of the key only)."""
    return load_model(source)


@st.cache_data(show_spinner=False, max_entries=8)
def get_regions(root: str) -> list[str]:
    """NUTS3 codes with tiles under the data root."""
    return list_regions(root)


@st.cache_data(show_spinner=False, max_entries=64)
def get_years(root: str, nuts: str) -> list[int]:
    """Years with tiles for a region."""
    return available_years(nuts, root)


@st.cache_data(show_spinner=False, max_entries=8)
def get_outlines(root: str) -> gpd.GeoDataFrame:
    """NUTS3 outlines (EPSG:3035) of every region with tiles."""
    return load_nuts3(list_regions(root), root)


def outline_of(root: str, nuts: str) -> gpd.GeoDataFrame:
    """The outline of one region (a one-row GeoDataFrame, EPSG:3035)."""
    outlines = get_outlines(root)
    return outlines[outlines["NUTS_ID"] == nuts].reset_index(drop=True)


def get_status(root: str, model: str, nuts: str, year: int, _model: LoadedModel) -> store.StoreStatus:
    """What the store holds for a region-year (checked again after 30 s, or when cleared after a prediction)."""
    return _status(root, store.store_for(root).location, model, nuts, year, _model)


@st.cache_data(ttl=30, show_spinner=False, max_entries=64)
def _status(root: str, location: str, model: str, nuts: str, year: int, _model: LoadedModel) -> store.StoreStatus:
    """:func:`get_status`, keyed by the store's location too (``LANDCOVER_PREDICTION_STORE`` can move it)."""
    return store.store_status(nuts, year, _model, root)


@st.cache_resource(show_spinner="Reading the predictions from the store…", max_entries=6)
def get_region(root: str, model: str, nuts: str, year: int, probability: bool, status_key: str,
               _model: LoadedModel) -> RegionPrediction:
    """The region mosaic as the store holds it (read only: never predicted here)."""
    return store.read_region_from_store(nuts, year, _model, probability=probability, root=root)


@st.cache_resource(show_spinner="Reading the labels…", max_entries=6)
def get_label(root: str, nuts: str, year: int, _region: RegionPrediction) -> np.ndarray | None:
    """The CLC+ label mosaic on the region's grid, or ``None`` for a year without labels."""
    if int(year) not in LABEL_YEARS:
        return None
    try:
        return label_mosaic(_region, year, root)
    except FileNotFoundError:
        return None


@st.cache_data(show_spinner="Counting the classes inside the region…", max_entries=16)
def get_accounts(root: str, model: str, nuts: str, year: int, status_key: str,
                 _region: RegionPrediction) -> dict[str, Any]:
    """The region's accounts, coverage and indicators (:func:`landcover.app.accounts.region_accounts`)."""
    return region_numbers.region_accounts(_region, outline_of(root, nuts))


@st.cache_data(show_spinner="Drawing the stratified sample…", max_entries=16)
def get_estimate(root: str, model: str, nuts: str, year: int, status_key: str, seed: int,
                 _region: RegionPrediction) -> region_numbers.AreaEstimate:
    """Bias-adjusted areas with 95 % intervals (:func:`landcover.app.accounts.bias_adjusted_areas`)."""
    return region_numbers.bias_adjusted_areas(_region, outline_of(root, nuts), seed=seed, root=root)


@st.cache_data(show_spinner="Comparing the two years…", max_entries=16)
def get_change(root: str, model: str, nuts: str, years: tuple[int, int], status_keys: tuple[str, str],
               _first: RegionPrediction, _second: RegionPrediction) -> region_numbers.ChangeSummary:
    """Transitions and land take between two years (:func:`landcover.app.accounts.change_between`)."""
    return region_numbers.change_between(_first, _second, outline_of(root, nuts))


@st.cache_data(show_spinner="Reading the true-colour bands…", max_entries=8)
def get_rgb(root: str, nuts: str, year: int, max_pixels: int, _region: RegionPrediction) -> np.ndarray:
    """True colour of the region on its display grid (:func:`landcover.app.maps.rgb_mosaic`)."""
    grid = maps.display_grid(_region["transform"], np.shape(_region["mask"]), max_pixels)
    return maps.rgb_mosaic(_region, grid, root)


def get_map(root: str, model: str, nuts: str, year: int, status_key: str, change_key: str, base: str | None,
            title: str, region: RegionPrediction, label: np.ndarray | None,
            change: region_numbers.ChangeSummary | None) -> folium.Map:
    """The region's folium map, built afresh on the cached layers (``st_folium`` cannot draw one map twice)."""
    layers = get_layers(root, model, nuts, year, status_key, change_key, region, label, change)
    return maps.explorer_map(layers, title=title, outline=outline_of(root, nuts), tiles=maps.tile_frame(region),
                             base=base)


@st.cache_resource(show_spinner="Drawing the map…", max_entries=6)
def get_layers(root: str, model: str, nuts: str, year: int, status_key: str, change_key: str,
               _region: RegionPrediction, _label: np.ndarray | None,
               _change: region_numbers.ChangeSummary | None) -> maps.RegionLayers:
    """The map's rasters as PNG layers (:func:`landcover.app.maps.region_layers`), once per region-year and store state."""
    region = _region
    mask, transform = np.asarray(region["mask"]), region["transform"]
    grid = maps.display_grid(transform, mask.shape)
    tooltip_grid = maps.display_grid(transform, mask.shape, maps.MAX_TOOLTIP_PIXELS)
    probability = region.get("probability")
    uncertainty = None
    if probability is not None and np.isfinite(probability[mask != 0]).any():
        uncertainty = maps.uncertainty_on_grid(probability, mask, grid.factor)
    change, change_name = None, maps.LAYER_CHANGE
    if _change is not None:
        change = maps.change_rgba(region_numbers.changed_on(_change, region), mask != 0, grid.factor)
        change_name = f"{maps.LAYER_CHANGE} {_change.first_year} → {_change.second_year} (purple)"
    return maps.region_layers(
        grid=grid, rgb=get_rgb(root, nuts, year, maps.MAX_DISPLAY_PIXELS, region),
        classes=maps.classes_on_grid(mask, transform, grid.factor),
        label=None if _label is None else maps.classes_on_grid(_label, transform, grid.factor),
        uncertainty=uncertainty, change=change, change_name=change_name,
        tooltip_classes=(maps.classes_on_grid(mask, transform, tooltip_grid.factor), tooltip_grid.transform),
    )


@st.cache_data(show_spinner="Looking the point up…", max_entries=64)
def get_lookup(root: str, model: str, nuts: str, year: int, status_key: str, lon: float, lat: float,
               _region: RegionPrediction, _label: np.ndarray | None) -> PointLookup:
    """The tile under a point, its prediction and class shares (:func:`landcover.app.lookup.lookup_point`)."""
    return lookup_point(lon, lat, _region, _label, get_outlines(root), root)


def clear_store_caches() -> None:
    """Forget what was read from the store (after predicting), so the next run reads it again."""
    _status.clear()

"""The explorer app's region map: downsampled layers of a region-year, drawn with the book's web-map helpers.

A region's mosaic has millions of 10 m pixels, too many for a web map, so every
layer is put on one coarser *display grid* (a whole number of mosaic pixels per
cell, about :data:`MAX_DISPLAY_PIXELS` cells on the long side): true colour by
averaging reflectance, classes by the most frequent class
(:func:`landcover.inference.downsample_mask`), uncertainty and change by
averaging. :func:`region_layers` then resamples them onto longitude/latitude
(as PNGs, computed once), and :func:`explorer_map` draws them with
:mod:`landcover.webmaps` (named layers, layer control, the one class legend, a
colour bar for the uncertainty).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from folium.raster_layers import ImageOverlay
from folium.utilities import image_to_url
from rasterio.enums import Resampling
from rasterio.warp import reproject

from landcover.classes import CLASS_IDS, NODATA
from landcover.data import read_tile
from landcover.inference import downsample_mask
from landcover.viz import TRUE_COLOUR_BANDS, classes_present, percentile_stretch
from landcover.webmaps import (
    BASE_TILES,
    add_class_legend,
    add_colorbar,
    add_outline,
    add_title,
    class_polygons,
    class_rgba,
    finish_map,
    new_map,
    probability_rgba,
    reproject_to_wgs84,
    rgba_image,
    wgs84_grid,
)

#: Long side of the display grid, in cells: enough to see fields, light enough for a browser.
MAX_DISPLAY_PIXELS = 500
#: Long side of the grid of the hover tooltips' class polygons (coarser still: polygons are heavy).
MAX_TOOLTIP_PIXELS = 120
#: Colour of the "class changed" layer (RGB, a purple no class uses); more opaque where more pixels changed.
CHANGE_RGB = (106, 61, 154)
CRS = "EPSG:3035"
#: Names of the layers, as the layer control lists them.
LAYER_TRUE_COLOUR = "Sentinel-2 true colour"
LAYER_PREDICTION = "Predicted classes"
LAYER_LABEL = "CLC+ Backbone label"
LAYER_UNCERTAINTY = "Uncertainty (1 − probability)"
LAYER_CHANGE = "Class changed"
LAYER_TILES = "Tiles (green: in the store, orange: missing)"
LAYER_OUTLINE = "NUTS3 outline"


@dataclass(frozen=True)
class DisplayGrid:
    """A grid ``factor`` times coarser than a mosaic's, from the same corner (EPSG:3035)."""

    factor: int
    transform: Affine
    shape: tuple[int, int]

    @property
    def cell_m(self) -> float:
        """Width of one cell, in metres."""
        return float(abs(self.transform.a))


def display_grid(transform: Affine, shape: Sequence[int], max_pixels: int = MAX_DISPLAY_PIXELS) -> DisplayGrid:
    """The coarsest-needed display grid of a mosaic: at most ``max_pixels`` cells on its long side."""
    rows, cols = int(shape[0]), int(shape[1])
    factor = max(1, math.ceil(max(rows, cols) / max(1, int(max_pixels))))
    return DisplayGrid(factor, transform @ Affine.scale(factor, factor), (math.ceil(rows / factor), math.ceil(cols / factor)))


def block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    """Mean of each ``factor`` x ``factor`` block of a 2-D array, NaN ignored (NaN where a block has no value).

    The array is padded with NaN to whole blocks, so the result has
    ``ceil(rows / factor)`` x ``ceil(cols / factor)`` cells.
    """
    array = np.asarray(values, dtype=np.float32)
    rows, cols = array.shape
    out_rows, out_cols = math.ceil(rows / factor), math.ceil(cols / factor)
    padded = np.full((out_rows * factor, out_cols * factor), np.nan, dtype=np.float32)
    padded[:rows, :cols] = array
    blocks = padded.reshape(out_rows, factor, out_cols, factor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # blocks without any value: NaN, as wanted
        return np.nanmean(blocks, axis=(1, 3))


def rgb_mosaic(region: Mapping[str, Any], grid: DisplayGrid, root: str | None = None) -> np.ndarray:
    """True colour (B4, B3, B2) of a region's tiles on the display grid: (rows, cols, 3) in [0, 1], NaN outside.

    Each tile is read (three bands only) and averaged onto the grid; one
    percentile stretch over the whole region keeps tiles comparable.
    """
    coarse = np.full((3, *grid.shape), np.nan, dtype=np.float32)
    for entry in region["tiles"]:
        tile = read_tile(region["nuts"], region["year"], entry["stem"], bands=list(TRUE_COLOUR_BANDS), root=root)
        reproject(
            source=np.asarray(tile["array"], dtype=np.float32), destination=coarse,
            src_transform=tile["transform"], src_crs=CRS, src_nodata=np.nan,
            dst_transform=grid.transform, dst_crs=CRS, dst_nodata=np.nan,
            resampling=Resampling.average, init_dest_nodata=False,
        )
    if not np.isfinite(coarse).any():
        return np.moveaxis(coarse, 0, -1)
    return np.moveaxis(percentile_stretch(coarse), 0, -1)


def classes_on_grid(mask: np.ndarray, transform: Affine, factor: int) -> np.ndarray:
    """A class mosaic on a grid ``factor`` times coarser: the most frequent class of each block (nodata does not vote)."""
    if factor == 1:
        return np.asarray(mask, dtype=np.uint8)
    coarse, _ = downsample_mask(np.asarray(mask, dtype=np.uint8), transform, CRS, int(factor))
    return coarse


def uncertainty_on_grid(probability: np.ndarray, mask: np.ndarray, factor: int) -> np.ndarray:
    """Mean uncertainty, 1 − probability of the predicted class, of each block; NaN where no class is known."""
    values = np.where(np.asarray(mask) != NODATA, 1.0 - np.asarray(probability, dtype=np.float32), np.nan)
    return block_mean(values, factor)


def change_rgba(changed: np.ndarray, compared: np.ndarray, factor: int) -> np.ndarray:
    """RGBA of the change layer: purple where pixels changed class, more opaque the larger their share."""
    share = block_mean(np.where(np.asarray(compared, dtype=bool), np.asarray(changed, dtype=np.float32), np.nan), factor)
    rgba = np.zeros((*share.shape, 4), dtype=np.uint8)
    rgba[..., :3] = CHANGE_RGB
    positive = np.nan_to_num(share) > 0
    rgba[..., 3] = np.where(positive, np.round(90 + 165 * np.clip(np.nan_to_num(share), 0, 1)), 0).astype(np.uint8)
    return rgba


def tile_frame(region: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """The tiles of a region as boxes (EPSG:3035) with their stem and whether they were read from the store."""
    tiles = region["tiles"]
    return gpd.GeoDataFrame(
        {"stem": [t["stem"] for t in tiles],
         "status": ["read from the store" if t["cached"] else "not in the store" for t in tiles]},
        geometry=[shapely.box(*t["bbox"]) for t in tiles], crs=CRS,
    )


def _add_tiles(m: folium.Map, tiles: gpd.GeoDataFrame) -> folium.GeoJson:
    """The tile boxes as an outline layer: green when read from the store, orange when the store lacks them."""
    def style(feature: dict[str, Any]) -> dict[str, Any]:
        stored = feature["properties"]["status"] == "read from the store"
        return {"color": "#1b9e77" if stored else "#d95f02", "weight": 1, "fill": False,
                "dashArray": None if stored else "4 4"}

    layer = folium.GeoJson(
        tiles.to_crs("EPSG:4326").to_json(drop_id=True), name=LAYER_TILES, show=False, style_function=style,
        tooltip=folium.GeoJsonTooltip(fields=["stem", "status"], aliases=["Tile", "Prediction"]),
    )
    layer.add_to(m)
    return layer


@dataclass(frozen=True)
class ImageLayer:
    """One raster overlay, ready for Leaflet: a PNG data URL and its ``[[south, west], [north, east]]`` corners."""

    name: str
    url: str
    bounds: list[list[float]]
    opacity: float = 1.0
    show: bool = True


@dataclass(frozen=True)
class RegionLayers:
    """The heavy part of a region map, computed once: its rasters as PNGs on a longitude/latitude grid.

    ``bounds`` is (west, south, east, north) in degrees; ``classes`` the class
    ids the legend lists; ``uncertainty`` whether a colour bar is needed;
    ``tooltips`` the GeoJSON (EPSG:4326) of the hover layer's class polygons.
    A folium map is cheap to build from it (:func:`explorer_map`), and must be
    built afresh for each run: ``st_folium`` renames the elements of the map it
    draws, so one map object cannot be drawn twice.
    """

    bounds: tuple[float, float, float, float]
    images: tuple[ImageLayer, ...]
    classes: tuple[int, ...]
    uncertainty: bool
    tooltips: str | None


def _image(name: str, rgba: np.ndarray, warped: Any, opacity: float = 1.0, show: bool = True) -> ImageLayer:
    return ImageLayer(name, image_to_url(np.asarray(rgba, dtype=np.uint8), origin="upper"), warped.folium_bounds,
                      float(opacity), bool(show))


def region_layers(
    *,
    grid: DisplayGrid,
    rgb: np.ndarray | None,
    classes: np.ndarray,
    label: np.ndarray | None = None,
    uncertainty: np.ndarray | None = None,
    change: np.ndarray | None = None,
    change_name: str = LAYER_CHANGE,
    tooltip_classes: tuple[np.ndarray, Affine] | None = None,
) -> RegionLayers:
    """Resample the display-grid rasters of a region-year onto one longitude/latitude grid, as PNG layers.

    Parameters
    ----------
    grid : DisplayGrid
        The display grid every raster below is on (EPSG:3035).
    rgb : numpy.ndarray or None
        True colour (rows, cols, 3) in [0, 1], NaN outside the tiles (bilinear).
    classes : numpy.ndarray
        Predicted classes (rows, cols), 0 = nodata (nearest: a class is never averaged).
    label : numpy.ndarray, optional
        CLC+ Backbone label on the grid (years with a label only); hidden at first.
    uncertainty : numpy.ndarray, optional
        1 − probability of the predicted class, in [0, 1], NaN where unknown; hidden at first.
    change : numpy.ndarray, optional
        RGBA (rows, cols, 4) of the change layer (:func:`change_rgba`); hidden at first.
    change_name : str
        Name of the change layer (say which years).
    tooltip_classes : tuple, optional
        ``(classes, transform)`` on a coarser grid, for tooltips naming the predicted class.

    Returns
    -------
    RegionLayers
        The layers, in drawing order (true colour at the bottom).
    """
    rows, cols = grid.shape
    wgs = wgs84_grid(CRS, grid.transform, cols, rows)
    warped_classes = reproject_to_wgs84(np.asarray(classes, dtype=np.uint8), grid.transform, CRS, "nearest", grid=wgs)
    images = []
    if rgb is not None:
        warped = reproject_to_wgs84(np.moveaxis(np.asarray(rgb, dtype=np.float32), -1, 0), grid.transform, CRS,
                                    "bilinear", grid=wgs)
        images.append(_image(f"{LAYER_TRUE_COLOUR} ({grid.cell_m:g} m cells)",
                             rgba_image(np.moveaxis(warped.array, 0, -1), warped.valid), warped))
    images.append(_image(LAYER_PREDICTION, class_rgba(warped_classes.array[0]), warped_classes, opacity=0.75))
    present = set(classes_present(classes))
    if label is not None:
        warped_label = reproject_to_wgs84(np.asarray(label, dtype=np.uint8), grid.transform, CRS, "nearest", grid=wgs)
        images.append(_image(LAYER_LABEL, class_rgba(warped_label.array[0]), warped_label, opacity=0.75, show=False))
        present |= set(classes_present(label))
    if uncertainty is not None:
        warped_u = reproject_to_wgs84(np.asarray(uncertainty, dtype=np.float32), grid.transform, CRS, "nearest",
                                      grid=wgs)
        images.append(_image(LAYER_UNCERTAINTY, probability_rgba(warped_u.array[0]), warped_u, opacity=0.85,
                             show=False))
    if change is not None:
        warped_c = reproject_to_wgs84(np.moveaxis(np.asarray(change, dtype=np.uint8), -1, 0), grid.transform, CRS,
                                      "nearest", grid=wgs, nodata=0)
        images.append(_image(change_name, np.moveaxis(warped_c.array, 0, -1), warped_c, show=False))
    tooltips = None
    if tooltip_classes is not None and (np.asarray(tooltip_classes[0]) != NODATA).any():
        coarse, coarse_transform = tooltip_classes
        tooltips = class_polygons(np.asarray(coarse, dtype=np.uint8), coarse_transform, CRS).to_json(drop_id=True)
    return RegionLayers(warped_classes.bounds, tuple(images), tuple(i for i in CLASS_IDS if i in present),
                        uncertainty is not None, tooltips)


def _add_tooltips(m: folium.Map, geojson: str) -> folium.GeoJson:
    """An invisible layer of class polygons whose tooltips name the predicted class under the mouse."""
    layer = folium.GeoJson(
        geojson, name="Predicted class (hover)",
        style_function=lambda feature: {"fillOpacity": 0.0, "weight": 0, "opacity": 0},
        highlight_function=lambda feature: {"weight": 2, "color": "#000000", "opacity": 0.8},
        tooltip=folium.GeoJsonTooltip(fields=["class_id", "class_name"], aliases=["Class id", "Class"], sticky=True),
    )
    layer.add_to(m)
    return layer


def explorer_map(
    layers: RegionLayers,
    *,
    title: str,
    outline: gpd.GeoDataFrame | None = None,
    tiles: gpd.GeoDataFrame | None = None,
    base: str | None = BASE_TILES,
) -> folium.Map:
    """The app's map of one region-year: each layer switchable, the class legend, a colour bar, a title.

    Parameters
    ----------
    layers : RegionLayers
        :func:`region_layers` of the region-year.
    title : str
        Title box text (what, where, and "synthetic data" where it is).
    outline : geopandas.GeoDataFrame, optional
        The region's NUTS3 outline.
    tiles : geopandas.GeoDataFrame, optional
        :func:`tile_frame` of the region (which tiles were read from the store).
    base : str, optional
        Base layer (``None``: none, a grey background; tiles from the internet otherwise).

    Returns
    -------
    folium.Map
        The finished map, layer control added.
    """
    m = new_map(layers.bounds, base=base, zoom_start=12)
    for image in layers.images:
        ImageOverlay(image=image.url, bounds=image.bounds, name=image.name, opacity=image.opacity, show=image.show,
                     pixelated=True, interactive=False).add_to(m)
    if layers.uncertainty:
        add_colorbar(m, "Uncertainty: 1 − probability of the predicted class")
    if layers.tooltips is not None:
        _add_tooltips(m, layers.tooltips)
    if tiles is not None and not tiles.empty:
        _add_tiles(m, tiles)
    if outline is not None and not outline.empty:
        add_outline(m, outline[["NUTS_ID", "geometry"]], CRS, LAYER_OUTLINE,
                    tooltip=f"NUTS3 {', '.join(map(str, outline['NUTS_ID']))}", colour="#222222")
    add_class_legend(m, list(layers.classes) or None)
    add_title(m, title)
    return finish_map(m)
